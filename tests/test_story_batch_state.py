"""What the story assigner's batches leave in Redis is the index it holds in memory: every story
with its first article, outlets, members and newest time, every article's story, and every
article in the sets of all articles by time; also when a batch holds more of them than one
command of the batch script adds at once, and when stories merge."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.articles import ArticleStore
from peacewatch.store.historytokens import tokens_of
from peacewatch.store.ingest import IngestStream
from peacewatch.stories.assigner import Placed, StoryAssigner
from peacewatch.stories.memory import WindowIndex
from peacewatch.stories.state import CHUNK
from tests.faults.samples_stream import day_articles
from tests.helpers import samples_dir


@pytest.mark.skipif(not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports")
async def test_large_batches_with_merges_store_the_index_as_it_stands(
    redis_client: aioredis.Redis,
) -> None:
    articles = day_articles("2026-01-07")
    batch = CHUNK + 200  # more articles, stories and words per batch than one ZADD takes
    assert len(articles) > batch  # and a second batch after it

    async def handler(placed: Sequence[Placed]) -> None:
        return None

    def make_index() -> WindowIndex:
        # merges on, at a probability the day's stories reach
        return WindowIndex(timedelta(hours=48), merge_threshold=0.5)

    stream = IngestStream(redis_client)
    assigner = StoryAssigner(
        redis_client, stream, ArticleStore(redis_client), handler, make_index, batch=batch
    )
    await stream.submit([(a, False) for a in articles])
    assert await assigner.drain() == len(articles)
    index = assigner.index
    assert index is not None
    merged = await redis_client.smembers(keys.story_merges_pending())
    assert merged, "no story merged: the merge path of the batch is not exercised"

    times = {a.id: a.published.timestamp() for a in articles}
    for every in (keys.articles_by_time(), keys.history_all()):
        assert dict(await redis_client.zrange(every, 0, -1, withscores=True)) == times
    vocab = await redis_client.zrange(keys.history_vocab(), 0, -1)
    assert set(vocab) == set().union(*(tokens_of(a) for a in articles))

    active = dict(await redis_client.zrange(keys.stories_active(), 0, -1, withscores=True))
    assert active == {s.story_id: s.latest for s in index.stories.values()}
    for story in index.stories.values():
        fields = await redis_client.hgetall(keys.story(story.story_id))
        assert fields["first"] == story.first
        assert json.loads(fields["outlets"]) == story.outlets
        assert {f[2:] for f in fields if f.startswith("m:")} == set(story.articles)
        members = await redis_client.zrange(keys.story_members(story.story_id), 0, -1)
        assert set(members) == set(story.articles)
        assert await redis_client.ttl(keys.story(story.story_id)) > 0
    placed = await redis_client.mget([keys.article_story(a.id) for a in articles])
    for article, value in zip(articles, placed, strict=True):
        story_id, duplicate_of = index.placed[article.id]
        assert value == f"{story_id} {duplicate_of or ''}"
