"""What a poll reads before fetching comes with its lease; the claims' read says which entries
the ingest has work for."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis

from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.feeds import FeedStore, Validators
from peacewatch.store.ingest import IngestStream

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


async def test_the_lease_comes_with_the_feeds_state(redis_client: aioredis.Redis) -> None:
    feeds = FeedStore(redis_client)
    fresh = await feeds.lease_and_state("f", "replica-a", 30)
    assert fresh is not None and fresh.validators == Validators() and not fresh.polled
    tags = Validators('"v1"', "Mon, 19 Jan 2026 10:00:00 GMT", "d1")
    await feeds.record_ok("f", NOW, items=3, new=3, validators=tags)
    # another replica within the interval: no lease, no state
    assert await feeds.lease_and_state("f", "replica-b", 30) is None
    assert await redis_client.get(keys.feed_lease("f")) == "replica-a"
    assert 0 < await redis_client.ttl(keys.feed_lease("f")) <= 30
    await feeds.release_lease("f")
    state = await feeds.lease_and_state("f", "replica-b", 30)
    assert state is not None and state.validators == tags and state.polled
    assert await feeds.poll_state("f") == state
    same = Validators(None, None, "d2")
    await feeds.record_not_modified("f", NOW, same)
    assert (await feeds.poll_state("f")).validators == same
    health = await feeds.health("f")
    assert health["polls"] == "2" and health["not_modified"] == "1"


def article(article_id: str, feed_id: str) -> Article:
    return Article(
        id=article_id, title="t", link=f"https://example.org/{article_id}", published=NOW,
        source="example.org", outlet="Example", summary="s", content="", lang="en",
        feed_id=feed_id,
    )  # fmt: skip


async def test_unseen_is_what_submit_has_work_for(redis_client: aioredis.Redis) -> None:
    ingest = IngestStream(redis_client, clock=lambda: NOW)
    assert await ingest.submit([(article("a1", "f1"), True)]) == [True]
    await redis_client.set(keys.seen("a2"), "queued")  # a claim that notes no feed
    ids = ["a1", "a2", "a3"]
    assert await ingest.unseen(ids, "f1") == [False, True, True]
    assert await ingest.unseen(ids, "f2") == [True, True, True]  # new to that feed
    # what submit(checked=True) is given: it claims as ever (once, the feed noted)
    assert await ingest.submit([(article("a3", "f1"), True)], checked=True) == [True]
    assert await ingest.submit([(article("a1", "f2"), True)], checked=True) == [False]
    assert await ingest.unseen(ids, "f2") == [False, True, True]  # a3 came with f1 only
    assert await ingest.backlog() == 3  # a1, a3, and a1 again for its new feed f2
