"""The story assigner's two safeguards for resights (an article seen before, queued again
because a feed new to it carries it): one whose article is not in the index is skipped, never
placed as a new story; and the resight marks of a batch are dropped only once the cursor is
past it, so a batch handed on again after a crash still treats its resights as resights."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.articles import ArticleStore
from peacewatch.store.ingest import IngestStream
from peacewatch.stories.assigner import Placed, StoryAssigner
from peacewatch.stories.memory import WindowIndex

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def _article(n: int, feed_id: str = "f1") -> Article:
    return Article(
        id=f"resight-{n}",
        title=f"Envoys meet in Geneva over the ceasefire draft, round {n}",
        link=f"https://news.example/{n}",
        published=NOW - timedelta(hours=1, minutes=n),
        source="news.example",
        summary="Negotiators from both sides met for a second day of talks.",
        lang="en",
        feed_id=feed_id,
    )


def _assigner(redis: aioredis.Redis, stream: IngestStream, handled: list[Placed]) -> StoryAssigner:
    async def handler(batch: Sequence[Placed]) -> None:
        handled.extend(batch)

    return StoryAssigner(redis, stream, ArticleStore(redis), handler, WindowIndex)


async def test_a_resight_whose_article_is_not_in_the_index_is_skipped(
    redis_client: aioredis.Redis,
) -> None:
    stream = IngestStream(redis_client, clock=lambda: NOW)
    fresh, old = _article(1), _article(2)
    # ``old`` was queued (and placed) long ago by a replica whose stories have left the
    # window: its claim notes the feed that carried it, and no story holds it any more.
    await redis_client.set(keys.seen(old.id), "queued\nf1")
    assert await stream.submit([(fresh, True), (replace(old, feed_id="f2"), True)]) == [
        True,
        False,
    ]
    entries = await stream.read_after("0-0")
    assert len(entries) == 2
    assert await stream.resights([e.entry_id for e in entries]) == {entries[1].entry_id}

    handled: list[Placed] = []
    assigner = _assigner(redis_client, stream, handled)
    assert await assigner.drain() == 2
    # The resight is read, but neither handed on nor placed: no story that no replay has.
    assert [p.article.id for p in handled] == [fresh.id]
    index = assigner.index
    assert index is not None
    assert old.id not in index.placed
    assert len(index.stories) == 1
    assert await redis_client.zcard(keys.stories_active()) == 1
    assert not await redis_client.exists(keys.resight_entries())  # handled, then dropped


async def test_resight_marks_are_dropped_only_after_the_cursor_passes_them(
    redis_client: aioredis.Redis,
) -> None:
    stream = IngestStream(redis_client, clock=lambda: NOW)
    article = _article(3)
    assert await stream.submit([(article, True)]) == [True]
    assert await stream.submit([(replace(article, feed_id="f2"), True)]) == [False]
    entries = await stream.read_after("0-0")
    resight = entries[1].entry_id
    assert await stream.resights([e.entry_id for e in entries]) == {resight}

    async def crash(batch: Sequence[Placed]) -> None:
        raise RuntimeError("the process died after writing the batch's stories")

    first = StoryAssigner(redis_client, stream, ArticleStore(redis_client), crash, WindowIndex)
    with pytest.raises(RuntimeError):
        await first.step()
    assert await redis_client.get(keys.assigner_cursor()) is None  # the cursor did not move
    assert await stream.resights([resight]) == {resight}  # so the mark is kept
    await first.release()

    # The successor hands the same batch on again: the article once, then its resight,
    # still marked as one (matched for follows only), in the story the first placed it in.
    handled: list[Placed] = []
    successor = _assigner(redis_client, stream, handled)
    assert await successor.drain() == 2
    assert [(p.article.feed_id, p.resight) for p in handled] == [("f1", False), ("f2", True)]
    assert handled[0].story.story_id == handled[1].story.story_id
    assert await redis_client.get(keys.assigner_cursor()) is not None
    assert not await redis_client.exists(keys.resight_entries())  # dropped past the cursor
