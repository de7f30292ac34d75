"""`peacewatch run` killed with SIGKILL while the platform holds its post of an alert (stored,
not yet answered): a restarted run finds that post (Slack: the alert id in the message
metadata; Discord: the message nonce, here in a channel whose history the bot may not read;
the lookup in the history is in ``test_delivery_found``) and the alert appears in the channel
exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import redis.asyncio as aioredis

from peacewatch.store import keys
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.helpers import REPO_ROOT, SAMPLE_ITEMS, dated, redis_url, rss

REDELIVERY_LIMIT = 90.0
"""Seconds a restarted run may take to settle the interrupted alert (the sending lock lasts
20 s, an entry is claimed after 5 s idle)."""


def log_file(data: Path) -> BinaryIO:
    data.mkdir(parents=True, exist_ok=True)
    return (data / "run.log").open("ab")


async def start_run(
    config: Path, data: Path, redis_target: dict[str, Any], extra: dict[str, str]
) -> asyncio.subprocess.Process:
    """``peacewatch run`` on the test Redis (so a restart finds the queue), loopback feeds
    only, its log in DATA/run.log."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "REDIS_URL": redis_url(redis_target),
        "PEACEWATCH_DATA_DIR": str(data),
        "PEACEWATCH_HTTP_PORT": "0",
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
        "PEACEWATCH_ALLOW_NETWORKS": "127.0.0.1/32",
        **extra,
    }
    with log_file(data) as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "peacewatch", "run", "--config", str(config),
            cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.wait(), 10)


async def delivered(redis: aioredis.Redis, alert_id: str) -> str:
    """The delivery record of ``alert_id`` once it is written (bounded wait)."""
    deadline = time.monotonic() + REDELIVERY_LIMIT
    while time.monotonic() < deadline:
        ref = await redis.get(keys.delivered(alert_id))
        if ref:
            return str(ref)
        await asyncio.sleep(0.2)
    raise AssertionError(f"alert {alert_id} not delivered within {REDELIVERY_LIMIT} s")


def write_config(path: Path, feed_url: str, team: str, channel: str) -> Path:
    path.write_text(
        f"team: {team}\n"
        "feeds:\n"
        f"  - {{id: local, url: '{feed_url}', interval: 10}}\n"
        "rules:\n"
        f"  - {{id: envoys, query: 'Witkoff', channels: ['{channel}']}}\n"
    )
    return path


def one_item() -> bytes:
    start = datetime.now(UTC) - timedelta(hours=1)
    return rss(dated(SAMPLE_ITEMS[:1], start, timedelta(minutes=5)))


async def test_slack_post_interrupted_by_sigkill_appears_once(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with FeedServer() as feeds, FakeSlack() as slack:
        feeds.set_feed("/feed.xml", one_item())
        config = write_config(
            tmp_path / "config.yaml", feeds.url("/feed.xml"), "slack:T1", "slack:C1"
        )
        env = {
            "SLACK_MODE": "http",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": "s" * 32,
            "SLACK_API_URL": slack.base_url,
        }
        slack.hold_posts()
        first = await start_run(config, tmp_path / "first", redis_target, env)
        try:
            await slack.wait_for(lambda: slack.held >= 1, 60)
            await kill(first)  # Slack has the message; peacewatch never heard back
        finally:
            await stop(first)
            slack.release_posts()
        (posted,) = slack.top_level("C1")
        assert posted.metadata is not None and posted.metadata["event_type"] == "peacewatch_alert"
        alert_id = posted.metadata["event_payload"]["alert_id"]
        assert await redis_client.get(keys.delivered(alert_id)) is None
        assert await redis_client.exists(keys.delivery_started(alert_id)) == 1

        second = await start_run(config, tmp_path / "second", redis_target, env)
        try:
            ref = await delivered(redis_client, alert_id)
        finally:
            await stop(second)
        assert ref == f"C1:{posted.ts}"  # the message Slack already had is the delivery
        assert slack.top_level("C1") == [posted] and slack.with_alert(alert_id) == [posted]
        assert len(slack.calls_to("chat.postMessage")) == 1
        (lookup,) = slack.calls_to("conversations.history")
        assert lookup.args["channel"] == "C1" and lookup.args["include_all_metadata"] == "true"
        assert await redis_client.exists(keys.delivery_started(alert_id)) == 0
        assert await redis_client.xlen(keys.alert_dead_letter()) == 0


async def test_discord_post_interrupted_by_sigkill_appears_once(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    fake = FakeDiscord()
    await fake.start()
    try:
        channel = fake.add_channel()
        async with FeedServer() as feeds:
            feeds.set_feed("/feed.xml", one_item())
            config = write_config(
                tmp_path / "config.yaml",
                feeds.url("/feed.xml"),
                f"discord:{fake.guild_id}",  # the channel's own server
                f"discord:{channel}",
            )
            env = {
                "DISCORD_TOKEN": fake.token,
                "DISCORD_API_URL": fake.api_url,
                "DISCORD_APPLICATION_ID": str(fake.application_id),
            }
            fake.hold_messages()
            first = await start_run(config, tmp_path / "first", redis_target, env)
            try:
                await fake.wait_for(lambda: fake.held >= 1, 60)
                await kill(first)
            finally:
                await stop(first)
                fake.release_messages()
            (posted,) = fake.in_channel(channel)
            alert_ids = [k.removeprefix(keys.delivery_started("")) async for k in
                         redis_client.scan_iter(keys.delivery_started("*"))]  # fmt: skip
            (alert_id,) = alert_ids
            assert await redis_client.get(keys.delivered(alert_id)) is None

            # without Read Message History the earlier post cannot be looked up: the nonce
            fake.unreadable.add(channel)
            second = await start_run(config, tmp_path / "second", redis_target, env)
            try:
                ref = await delivered(redis_client, alert_id)
            finally:
                await stop(second)
        assert len(fake.of("GET", f"/channels/{channel}/messages")) == 1  # refused
        assert ref == f"{channel}/{posted['id']}"
        assert fake.in_channel(channel) == [posted]
        creates = fake.of("POST", f"/channels/{channel}/messages")
        assert len(creates) == 2  # the redelivery was sent, and Discord answered with the first
        nonces = {s.body["nonce"] for s in creates}
        assert nonces == {posted["nonce"]} and len(posted["nonce"]) <= 25
        assert all(s.body["enforce_nonce"] is True for s in creates)
    finally:
        await fake.close()
