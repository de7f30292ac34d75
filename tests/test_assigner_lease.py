"""The story assigner keeps its lease through long batches: its own renewals never make it
think another replica took over."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis

from peacewatch.store.articles import ArticleStore
from peacewatch.store.ingest import IngestStream
from peacewatch.stories.assigner import Placed, StoryAssigner
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
    # a lease renewed every 0.3 s: renewals land inside the batches' transactions
    assigner = StoryAssigner(
        redis_client, stream, ArticleStore(redis_client), handler, WindowIndex,
        lease_seconds=0.9, batch=600,
    )  # fmt: skip
    await stream.submit([(a, False) for a in articles])
    assert await assigner.drain() == len(articles)
    assert len(handled) == len(articles)
    assert assigner.stats.takeovers == 1  # never reloaded: it kept the lease throughout
