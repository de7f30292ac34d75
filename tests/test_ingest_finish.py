"""A reader's batch finishes in one step fenced by its lease: the cursor moves, the batch's
resight marks are dropped and its entries trimmed, and the entries still waiting are counted;
a reader whose lease another holds changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.ingest import IngestStream

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def _article(n: int, feed_id: str = "f1") -> Article:
    return Article(
        id=f"finish-{n}",
        title=f"Envoys meet in Geneva over the ceasefire draft, round {n}",
        link=f"https://news.example/{n}",
        published=NOW - timedelta(hours=1, minutes=n),
        source="news.example",
        lang="en",
        feed_id=feed_id,
    )


async def test_a_finished_batch_moves_the_cursor_drops_its_marks_and_trims_its_entries(
    redis_client: aioredis.Redis,
) -> None:
    stream = IngestStream(redis_client, clock=lambda: NOW)
    await stream.submit([(_article(n), True) for n in range(4)])
    await stream.submit([(replace(_article(1), feed_id="f2"), True)])  # a resight of 1
    entries = await stream.read_after("0-0")
    assert len(entries) == 5
    ids = [e.entry_id for e in entries]
    marked = await stream.resights(ids)
    assert marked == {ids[4]}
    lease, cursor = keys.assigner_lease(), keys.assigner_cursor()
    await redis_client.set(lease, "holder")

    # another holds the lease: nothing moves
    assert await stream.finish(lease, "someone-else", cursor, "x", ids[4], [ids[4]]) is None
    assert await redis_client.get(cursor) is None
    assert await stream.backlog() == 5
    assert await stream.resights(ids) == marked

    # the first two entries finished: two still wait after them, then the resight
    assert await stream.finish(lease, "holder", cursor, f"{ids[1]} 1.5", ids[1]) == 3
    assert await redis_client.get(cursor) == f"{ids[1]} 1.5"
    assert [e.entry_id for e in await stream.read_after("0-0")] == ids[2:]
    assert await stream.resights(ids) == marked  # not this batch's

    # the rest, with the resight among them
    assert await stream.finish(lease, "holder", cursor, f"{ids[4]} 2.5", ids[4], [ids[4]]) == 0
    assert await redis_client.get(cursor) == f"{ids[4]} 2.5"
    assert await stream.read_after("0-0") == []
    assert not await redis_client.exists(keys.resight_entries())
