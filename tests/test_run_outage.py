"""A Slack outage seen from outside a running `peacewatch run`: /healthz stays 200 and says
delivery is degraded, `peacewatch status` names the failing channel, the log has one WARNING
when it starts and one when it ends, and the alert goes out once Slack is back."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.helpers import REPO_ROOT, SAMPLE_ITEMS, dated, free_port, rss, start_run


async def _health_until(port: int, delivery: str) -> dict[str, Any]:
    """/healthz until its delivery is ``delivery`` (up to ~30 s); every answer must be 200."""
    body: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        for _ in range(150):
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200
                body = await resp.json()
            if body["delivery"] == delivery:
                return body
            await asyncio.sleep(0.2)
    raise AssertionError(f"delivery never became {delivery}: {body}")


async def test_a_slack_outage_is_reported_while_it_lasts(tmp_path: Path) -> None:
    items = dated(SAMPLE_ITEMS[:1], datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeSlack() as slack:
        feeds.set_feed("/feed.xml", rss(items))
        config = tmp_path / "config.yaml"
        config.write_text(
            "team: slack:T1\n"
            "feeds:\n"
            f"  - {{id: local, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
            "rules:\n"
            "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['slack:C1']}\n"
        )
        slack.fail_channel("C1", "fatal_error", status=500)
        env = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": slack.base_url,
               "SLACK_MODE": "http", "SLACK_SIGNING_SECRET": "s"}  # fmt: skip
        port = free_port()
        proc = await start_run(config, tmp_path / "data", port, env)
        try:
            await slack.wait_for(lambda: bool(slack.calls_to("chat.postMessage")), 30)
            body = await _health_until(port, "degraded")
            (failing,) = body["failing"]
            assert failing["destination"] == "slack:C1" and failing["waiting"] == 1
            assert failing["last_error"] == "slack chat.postMessage: fatal_error"

            status = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "peacewatch", "status", cwd=REPO_ROOT,
                env={"PEACEWATCH_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(status.communicate(), 60)
            assert status.returncode == 0, err.decode()
            line = next(x for x in out.decode().splitlines() if "slack:C1" in x)
            assert "waiting 1" in line and "FAILING since" in line and "fatal_error" in line

            # then a rate limit, then Slack is back: the alert goes out once
            tried = len(slack.calls)
            slack.clear_channel("C1")
            slack.rate_limit("C1", retry_after=1)
            await slack.wait_for(lambda: len(slack.calls) > tried, 30)
            slack.clear_rate_limit("C1")
            await slack.wait_for(lambda: bool(slack.top_level("C1")), 30)
            assert (await _health_until(port, "ok"))["failing"] == []
            assert len(slack.top_level("C1")) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        log = stderr.decode()
        assert proc.returncode == 0, log[-2000:]
        assert log.count("WARNING peacewatch.services.dispatcher: delivery to slack:C1 is") == 1
        assert log.count("WARNING peacewatch.services.dispatcher: delivery to slack:C1 works") == 1
