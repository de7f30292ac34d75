"""`peacewatch run` in Slack HTTP mode: alerts reach Slack, signed commands are answered."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.helpers import SAMPLE_ITEMS, dated, free_port, rss, start_run
from tests.test_slack_commands import SECRET, command_body, signed_headers


async def test_run_delivers_to_slack_and_answers_signed_commands(tmp_path: Path) -> None:
    items = dated(SAMPLE_ITEMS[:1], datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeSlack() as slack:
        slack.add_user("UADMIN", "maria", admin=True)
        feeds.set_feed("/feed.xml", rss(items))
        config = tmp_path / "config.yaml"
        config.write_text(
            "team: slack:T1\n"
            "feeds:\n"
            f"  - {{id: local, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
            "rules:\n"
            "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['slack:C1']}\n"
        )
        port = free_port()
        proc = await start_run(
            config,
            tmp_path / "data",
            port,
            {
                "SLACK_MODE": "http",
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": slack.base_url,
            },
        )
        try:
            await slack.wait_for(lambda: bool(slack.top_level("C1")), 30)
            (alert,) = slack.top_level("C1")
            assert items[0]["title"] in str(alert)
            body = command_body("help", "UADMIN", "T1", slack.response_url("help"))
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{port}/slack/events"
                async with http.post(url, data=body, headers=signed_headers(body)) as resp:
                    assert resp.status == 200
                forged = signed_headers(body, secret="not-the-secret")
                async with http.post(url, data=body, headers=forged) as resp:
                    assert resp.status == 401
            await slack.wait_for(lambda: bool(slack.responses), 10)
            assert len(slack.responses) == 1
            assert "rules add" in str(slack.responses[0].body)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert "xoxb-test-token" not in stderr.decode()  # secrets never reach the log
