"""`peacewatch run` with WebSub: a feed advertising a local hub is subscribed, and the hub's
pushes reach Slack long before the feed's next poll; forged pushes and checks are refused."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from peacewatch.watchers.scheduler import first_offset
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.websub_hub import FakeHub
from tests.helpers import SAMPLE_ITEMS, dated, free_port, start_run
from tests.test_websub import websub_rss

INTERVAL = 3600
"""The feed's poll interval: an hour, so an alert within the test came from a push."""


def early_feed_id() -> str:
    """A feed id whose first poll falls in the first second of its hour-long interval (the
    scheduler spreads first polls by id), so the test need not wait for it."""
    for n in range(1_000_000):
        if first_offset(f"hubbed-{n}", INTERVAL) < 1.0:
            return f"hubbed-{n}"
    raise AssertionError("no early feed id")


def config_text(feed_url: str) -> str:
    return (
        "team: slack:T1\n"
        "story_threshold: 0.99\n"  # every report its own story: each one a top-level alert
        "feeds:\n"
        f"  - {{id: {early_feed_id()}, url: '{feed_url}', interval: {INTERVAL}}}\n"
        "rules:\n"
        "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['slack:C1']}\n"
    )


def slack_env(slack: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_MODE": "http",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "s" * 32,
        "SLACK_API_URL": slack.base_url,
    }


def posted(slack: FakeSlack, item: dict[str, Any]) -> bool:
    return any(item["title"] in str(message) for message in slack.messages)


async def test_run_subscribes_and_alerts_on_a_push_without_waiting_for_a_poll(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    polled = dated(SAMPLE_ITEMS[:1], now - timedelta(hours=1), timedelta(minutes=5))[0]
    pushed, forged, later = dated(SAMPLE_ITEMS[1:], now - timedelta(minutes=20),
                                  timedelta(minutes=5))  # fmt: skip
    async with FeedServer() as feeds, FakeSlack() as slack, FakeHub() as hub:
        topic = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss([polled], hub.url, topic))  # never changes
        config = tmp_path / "config.yaml"
        config.write_text(config_text(topic))
        port = free_port()
        env = {**slack_env(slack), "PEACEWATCH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        hub.auto_verify = False  # the hub's check waits until a forged one was tried
        proc = await start_run(config, tmp_path / "data", port, env)
        try:
            await slack.wait_for(lambda: posted(slack, polled), 30)  # the first poll
            await hub.wait_for(lambda: bool(hub.held), 30)
            (request,) = hub.requests
            callback = request["hub.callback"]
            assert callback.startswith(f"http://127.0.0.1:{port}/websub/")
            status, text, challenge = await hub.challenge(
                callback, "subscribe", feeds.url("/somebody-elses.xml")
            )
            assert status == 404 and challenge not in text  # a topic we never asked for
            await hub.verify_held()
            assert hub.active(topic)

            assert await hub.publish(topic, websub_rss([polled, pushed], hub.url, topic)) == [204]
            await slack.wait_for(lambda: posted(slack, pushed), 30)
            assert len(feeds.requests_for("/feed.xml")) == 1  # no poll brought it

            forged_body = websub_rss([forged], hub.url, topic)
            assert await hub.publish(topic, forged_body, secret="guessed") == [403]
            # a later good push goes through; by then the forged one was long refused
            assert await hub.publish(topic, websub_rss([later], hub.url, topic)) == [204]
            await slack.wait_for(lambda: posted(slack, later), 30)
            assert not posted(slack, forged)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    exposition = await resp.text()
            assert 'peacewatch_websub_pushes_total{result="bad_signature"} 1.0' in exposition
            assert 'peacewatch_websub_pushes_total{result="accepted"} 2.0' in exposition
            assert 'peacewatch_websub_subscriptions{state="active"} 1.0' in exposition
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        log = stderr.decode()
        assert proc.returncode == 0, log[-2000:]
        assert "WebSub push refused: bad signature" in log
        assert forged["title"] not in log and forged["summary"][:40] not in log  # no body
        assert request["hub.secret"] not in log


async def test_run_without_a_public_url_only_polls(tmp_path: Path) -> None:
    polled = dated(SAMPLE_ITEMS[:1], datetime.now(UTC) - timedelta(hours=1), timedelta(0))[0]
    async with FeedServer() as feeds, FakeSlack() as slack, FakeHub() as hub:
        topic = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss([polled], hub.url, topic))
        config = tmp_path / "config.yaml"
        config.write_text(config_text(topic))
        port = free_port()
        proc = await start_run(config, tmp_path / "data", port, slack_env(slack))
        try:
            await slack.wait_for(lambda: posted(slack, polled), 30)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/websub/x") as resp:
                    assert resp.status == 404
        finally:
            proc.send_signal(signal.SIGTERM)  # a poll under way finishes before the exit
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, stderr.decode()[-2000:]
    assert hub.requests == []
