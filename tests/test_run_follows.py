"""`peacewatch run` in Slack HTTP mode: a member follows a query with a signed slash command,
and the story the feed then brings arrives once in their direct messages, its second outlet in
the DM's thread."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.helpers import UNRELATED, free_port, rss, start_run
from tests.test_slack_commands import SECRET, command_body, signed_headers

SUMMARY = (
    "US envoy Steve Witkoff and Jared Kushner met Vladimir Putin in the Kremlin to discuss "
    "the US plan to end the war in Ukraine."
)


def witkoff_story(now: datetime) -> list[dict[str, object]]:
    """Two outlets on one event (Witkoff and Kushner meet Putin), ten minutes apart."""
    return [
        {
            "title": "Witkoff and Kushner Meet With Putin to Discuss Trump's Ukraine Peace Plan",
            "summary": SUMMARY,
            "link": "https://www.themoscowtimes.com/2025/12/02/a91303",
            "published": now - timedelta(minutes=20),
        },
        {
            "title": "Witkoff and Kushner meet Putin in Moscow to discuss Trump's peace plan",
            "summary": SUMMARY,
            "link": "https://www.bbc.com/news/articles/c0example",
            "published": now - timedelta(minutes=10),
        },
    ]


async def wait_running(proc: asyncio.subprocess.Process) -> list[bytes]:
    """The log lines up to the one that says the bot runs (its HTTP server listens by then);
    bounded: 60 s, or the process ending first."""
    assert proc.stderr is not None
    lines: list[bytes] = []
    async with asyncio.timeout(60):
        while line := await proc.stderr.readline():
            lines.append(line)
            if b"peacewatch running:" in line:
                return lines
    raise AssertionError(b"".join(lines).decode()[-2000:] or "peacewatch run said nothing")


async def send_command(http: aiohttp.ClientSession, port: int, slack: FakeSlack) -> None:
    """``/peacewatch follow actor:witkoff`` as UMEMBER."""
    body = command_body("follow actor:witkoff", "UMEMBER", "T1", slack.response_url("follow"))
    url = f"http://127.0.0.1:{port}/slack/events"
    async with http.post(url, data=body, headers=signed_headers(body)) as resp:
        assert resp.status == 200


async def test_run_sends_a_followed_story_to_the_users_dm(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    unrelated = {**UNRELATED, "published": now - timedelta(minutes=30)}
    async with FeedServer() as feeds, FakeSlack() as slack:
        slack.add_user("UMEMBER", "max")
        feeds.set_feed("/feed.xml", rss([unrelated]))
        config = tmp_path / "config.yaml"
        config.write_text(
            "team: slack:T1\n"
            "feeds:\n"
            f"  - {{id: wire, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
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
        started: list[bytes] = []
        try:
            started = await wait_running(proc)
            assert b"event loop uvloop" in started[-1]  # the bot's default loop
            async with aiohttp.ClientSession() as http:
                await send_command(http, port, slack)
            await slack.wait_for(lambda: bool(slack.responses), 10)
            assert "Following actor:witkoff" in str(slack.responses[0].body)
            # the story appears in the feed after the follow; the next poll brings it
            feeds.set_feed("/feed.xml", rss([unrelated, *witkoff_story(now)]))
            await slack.wait_for(lambda: len(slack.messages) >= 2, 40)
            first, follow_up = slack.messages
            assert first.channel == follow_up.channel == "DUMEMBER"
            assert first.thread_ts is None and follow_up.thread_ts == first.ts
            assert "Witkoff and Kushner Meet With Putin" in first.text
            (opened,) = slack.calls_to("conversations.open")
            assert opened.args["users"] == "UMEMBER" and opened.token == "xoxb-test-token"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, (b"".join(started) + stderr).decode()[-2000:]
        assert len(slack.messages) == 2  # nothing else, nothing twice
