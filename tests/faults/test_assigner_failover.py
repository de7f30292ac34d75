"""The story assigner killed with SIGKILL mid-stream: another `peacewatch run` takes over and
every article ends in the story an uninterrupted assigner gives it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.app import entity_names
from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.articles import ArticleStore
from peacewatch.store.ingest import IngestStream
from peacewatch.stories.assigner import LEASE, Placed, StoryAssigner
from peacewatch.stories.features import entity_engine
from peacewatch.stories.memory import WindowIndex
from tests.faults.samples_stream import day_articles
from tests.helpers import REPO_ROOT, redis_url, samples_dir

pytestmark = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)


def recent(articles: Sequence[Article]) -> list[Article]:
    """``articles`` moved in time so that the newest was published an hour ago."""
    shift = datetime.now(UTC) - timedelta(hours=1) - max(a.published for a in articles)
    return [replace(a, published=a.published + shift) for a in articles]


async def reference(redis: aioredis.Redis, articles: Sequence[Article]) -> dict[str, str]:
    """Article id -> story id from one uninterrupted assigner in this process."""

    async def handler(batch: Sequence[Placed]) -> None:
        return None

    engine = entity_engine(entity_names())
    stream = IngestStream(redis)
    assigner = StoryAssigner(
        redis, stream, ArticleStore(redis), handler, lambda: WindowIndex(entities=engine)
    )
    await stream.submit([(a, False) for a in articles])
    await assigner.drain()
    index = assigner.index
    assert index is not None
    out = {a.id: index.placed[a.id][0] for a in articles}
    await assigner.release()
    return out


async def stored(redis: aioredis.Redis, articles: Sequence[Article]) -> dict[str, str]:
    values = await redis.mget([keys.article_story(a.id) for a in articles])
    return {a.id: str(v).partition(" ")[0] for a, v in zip(articles, values, strict=True) if v}


async def start_replica(target: dict[str, Any], data: Path) -> asyncio.subprocess.Process:
    log = data.parent / f"{data.name}.log"  # shown when the test fails
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "REDIS_URL": redis_url(target),
        "PEACEWATCH_DATA_DIR": str(data),
        "PEACEWATCH_HTTP_PORT": "0",
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peacewatch", "run", cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=log.open("ab"),
    )  # fmt: skip


async def wait_for(probe: Any, seconds: float) -> Any:
    """Poll ``probe`` every 50 ms until it returns something true, at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := await probe():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {seconds} s")


async def test_a_killed_assigner_is_replaced_and_every_story_stays_the_same(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    # Dated hours ago, in the same order and spacing: each replica's first housekeeping drops
    # stories past their retention by the clock, which a day of the sample exports is, and a
    # replica that starts later than the first holder's first batch would drop its stories.
    articles = recent(day_articles("2026-01-06", limit=2500))
    expected = await reference(redis_client, articles)
    assert len(set(expected.values())) < len(articles)  # the day has stories of several outlets

    await redis_client.flushdb()
    await IngestStream(redis_client).submit([(a, False) for a in articles])
    last = (await redis_client.xrevrange(keys.ingest_stream(), count=1))[0][0]
    replicas = [await start_replica(redis_target, tmp_path / f"r{n}") for n in range(2)]
    try:

        async def cursor() -> str:
            return str(await redis_client.get(keys.assigner_cursor()) or "").partition(" ")[0]

        await wait_for(cursor, 60)  # the holder finished a batch and is in the next one
        holder = str(await redis_client.get(keys.assigner_lease()))
        victim = next(p for p in replicas if f"-{p.pid}-" in holder)
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await victim.wait()

        async def taken_over() -> bool:
            lease = await redis_client.get(keys.assigner_lease())
            return bool(lease) and f"-{victim.pid}-" not in str(lease)

        await wait_for(taken_over, LEASE + 10)
        takeover = time.monotonic() - killed_at

        async def finished() -> bool:
            return await cursor() == last

        await wait_for(finished, 90)
        assert await stored(redis_client, articles) == expected
        assert takeover <= LEASE + 2, f"takeover took {takeover:.1f} s"
    finally:
        for n in range(len(replicas)):
            print((tmp_path / f"r{n}.log").read_text(errors="replace")[-3000:])
        for proc in replicas:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
