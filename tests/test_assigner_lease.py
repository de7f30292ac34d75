"""The story assigner keeps its lease through long batches (its own renewals never make it
think another replica took over), and a holder whose lease another replica took writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.articles import ArticleStore
from peacewatch.store.ingest import IngestStream
from peacewatch.stories.assigner import LeaseLost, Placed, StoryAssigner
from peacewatch.stories.memory import WindowIndex
from tests.faults.samples_stream import day_articles
from tests.helpers import samples_dir

pytestmark = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)


async def test_renewals_during_a_batch_write_do_not_lose_the_lease(
    redis_client: aioredis.Redis,
) -> None:
    articles = day_articles("2026-01-06", limit=1200)
    handled: list[Placed] = []

    async def handler(batch: Sequence[Placed]) -> None:
        handled.extend(batch)

    stream = IngestStream(redis_client)
    # a lease renewed every second: renewals land inside the batches (placing 600 takes longer)
    assigner = StoryAssigner(
        redis_client, stream, ArticleStore(redis_client), handler, WindowIndex,
        lease_seconds=3.0, batch=600,
    )  # fmt: skip
    await stream.submit([(a, False) for a in articles])
    assert await assigner.drain() == len(articles)
    assert len(handled) == len(articles)
    assert assigner.stats.takeovers == 1  # never reloaded: it kept the lease throughout


async def test_a_holder_that_lost_its_lease_mid_batch_writes_nothing(
    redis_client: aioredis.Redis,
) -> None:
    articles = day_articles("2026-01-06", limit=600)

    async def handler(batch: Sequence[Placed]) -> None:
        raise AssertionError("a batch whose write was refused must not be handed on")

    stream = IngestStream(redis_client)
    assigner = StoryAssigner(
        redis_client, stream, ArticleStore(redis_client), handler, WindowIndex, batch=600
    )
    await stream.submit([(a, False) for a in articles])

    async def take_over_mid_batch() -> None:
        # Another replica takes the lease once the holder is placing (it yields every 50).
        for _ in range(100_000):
            index = assigner.index
            if index is not None and index.stories:
                await redis_client.set(keys.assigner_lease(), "another-replica")
                return
            await asyncio.sleep(0)
        raise AssertionError("the assigner never started placing")

    thief = asyncio.create_task(take_over_mid_batch())
    with pytest.raises(LeaseLost):
        await assigner.step()
    await thief
    assert assigner.index is None
    assert await redis_client.zcard(keys.stories_active()) == 0
    assert await redis_client.zcard(keys.articles_by_time()) == 0
    assert not await redis_client.exists(keys.article(articles[0].id))
    assert await redis_client.get(keys.assigner_cursor()) is None
