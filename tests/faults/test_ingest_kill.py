"""`peacewatch run` killed with SIGKILL again and again while it polls, places and alerts:
after the last restart every alert an uninterrupted run queues is queued, none is lost."""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.config import load_config
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json
from peacewatch.watchers.poller import PollPolicy
from tests.fakes.feed_server import FeedServer
from tests.faults.samples_stream import day_articles
from tests.helpers import REPO_ROOT, Clock, open_app, redis_url, rss, samples_dir

pytestmark = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)
TEAM = "desk"
KILLS = 6


def write_config(path: Path, feed_url: str) -> None:
    path.write_text(
        f"team: {TEAM}\n"
        "backfill_hours: null\n"
        "max_age_days: null\n"
        "feeds:\n"
        f"  - {{id: day, url: '{feed_url}', interval: 10}}\n"
        "rules:\n"
        "  - {id: talks, query: 'Ukraine OR Russia OR Putin OR Zelensky OR Kremlin',"
        " channels: ['console:desk']}\n"
        "  - {id: americas, query: 'Venezuela OR Maduro', channels: ['console:americas']}\n",
        encoding="utf-8",
    )


async def queued_alerts(redis: aioredis.Redis) -> set[str]:
    return set(await redis.zrange(keys.team_alerts(TEAM), 0, -1))


async def reference(config: Path, target: dict[str, Any], tmp: Path) -> set[str]:
    """The alerts one uninterrupted pass queues (in this process, the same code)."""
    app = await open_app(
        redis_url(target), tmp, Clock(datetime.now(UTC)), io.StringIO(),
        policy=PollPolicy(backfill=None, max_age=None),
    )  # fmt: skip
    try:
        await app.apply_config(load_config(config))
        for feed in await app.feeds.all():
            assert (await app.poller.poll(feed)).status == "ok"
        await app.assigner.drain()
        return await queued_alerts(app.redis.client)
    finally:
        await app.close()


async def start(target: dict[str, Any], config: Path, data: Path) -> asyncio.subprocess.Process:
    log = data.parent / "run.log"  # shown when the test fails
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "REDIS_URL": redis_url(target),
        "PEACEWATCH_DATA_DIR": str(data),
        "PEACEWATCH_HTTP_PORT": "0",
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
        "PEACEWATCH_ALLOW_NETWORKS": "127.0.0.1/32",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peacewatch", "run", "--config", str(config),
        cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=log.open("ab"),
    )  # fmt: skip


async def test_no_alert_is_lost_when_the_bot_is_killed_at_any_point(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    articles = day_articles("2026-01-06", limit=600)
    items = [
        {"title": a.title, "summary": a.summary, "link": a.link, "published": a.published}
        for a in articles
    ]
    rng = random.Random(7)
    async with FeedServer() as server:
        server.set_feed("/day.xml", rss(items), etag=False)
        config = tmp_path / "config.yaml"
        write_config(config, server.url("/day.xml"))
        expected = await reference(config, redis_target, tmp_path / "ref")
        assert len(expected) > 50  # the day matches the rules often

        await redis_client.flushdb()
        for n in range(KILLS):
            proc = await start(redis_target, config, tmp_path / "data")
            await asyncio.sleep(rng.uniform(1.0, 6.0))  # start-up, poll, placing, alerting
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        proc = await start(redis_target, config, tmp_path / "data")
        try:
            deadline = time.monotonic() + 120
            got: set[str] = set()
            while time.monotonic() < deadline:
                got = await queued_alerts(redis_client)
                backlog = await redis_client.xlen(keys.ingest_stream())
                if got >= expected and backlog == 0:
                    break
                await asyncio.sleep(0.2)
            assert expected - got == set(), f"{len(expected - got)} alerts lost"
            assert got == expected
            queued = {
                alert_from_json(fields["alert"]).alert_id
                for _, fields in await redis_client.xrange(keys.alert_stream())
            }
            assert expected <= queued  # each one is on the delivery queue
        finally:
            print((tmp_path / "run.log").read_text(errors="replace")[-3000:])
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
