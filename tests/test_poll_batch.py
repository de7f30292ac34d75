"""Polls under way at once share one round trip for their leases and one for their outcomes, and
store exactly what one command each would (``peacewatch.store.pollbatch``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.feeds import FeedStore, Validators

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


async def script_calls(redis: aioredis.Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval")
    )


async def test_polls_under_way_together_share_one_round_trip(redis_client: aioredis.Redis) -> None:
    feeds = FeedStore(redis_client, window=0.05)
    await feeds.record_error("warm-up", NOW, "loads the script")
    before = await script_calls(redis_client)
    ids = [f"f{n}" for n in range(20)]
    states = await asyncio.gather(*(feeds.lease_and_state(i, "replica-a", 30) for i in ids))
    assert all(s is not None and not s.polled for s in states)
    tags = Validators('"e"', None, "d")
    await asyncio.gather(
        *(feeds.record_ok(i, NOW, items=5, new=2, validators=tags) for i in ids[:10]),
        *(feeds.record_not_modified(i, NOW) for i in ids[10:15]),
        *(feeds.record_error(i, NOW, "HTTP 500") for i in ids[15:]),
    )
    assert await script_calls(redis_client) - before == 2
    # each operation wrote what it would have alone
    assert await feeds.lease_and_state("f0", "replica-b", 30) is None  # leased above
    assert (await feeds.poll_state("f0")).validators == tags
    assert (await feeds.poll_state("f0")).polled and not (await feeds.poll_state("f12")).polled
    ok = await feeds.health("f0")
    assert ok["polls"] == "1" and ok["items_seen"] == "5" and ok["last_new"] == "2"
    assert ok["last_ok"] == ok["last_poll"] == NOW.isoformat() and "garbled_at" not in ok
    same = await feeds.health("f12")
    assert same == {"last_poll": NOW.isoformat(), "consecutive_failures": "0", "polls": "1",
                    "not_modified": "1"}  # fmt: skip
    failed = await feeds.health("f17")
    assert failed["last_error"] == "HTTP 500" and failed["consecutive_failures"] == "1"
    assert await redis_client.exists(keys.feed_http("f17")) == 0  # validators left alone


async def test_an_operations_error_fails_it_alone(redis_client: aioredis.Redis) -> None:
    feeds = FeedStore(redis_client, window=0.05)
    await feeds.record_error("warm-up", NOW, "loads the script")
    before = await script_calls(redis_client)
    await redis_client.set(keys.feed_health("broken"), "not a hash")
    await redis_client.set(keys.feed_http("unreadable"), "not a hash")
    tags = Validators('"e"', None, "d")
    results = await asyncio.gather(
        feeds.record_ok("before", NOW, items=3, new=1, validators=tags),
        feeds.lease_and_state("leased", "replica-a", 30),
        feeds.record_not_modified("broken", NOW),
        feeds.lease_and_state("unreadable", "replica-a", 30),
        feeds.record_ok("after", NOW, items=4, new=2, validators=tags),
        return_exceptions=True,
    )
    assert await script_calls(redis_client) - before == 1  # one batch
    assert isinstance(results[2], aioredis.ResponseError)
    assert isinstance(results[3], aioredis.ResponseError)
    assert not any(isinstance(r, BaseException) for r in (results[0], results[1], results[4]))
    # the operations before and after the broken ones are stored whole
    for feed, items in (("before", "3"), ("after", "4")):
        assert (await feeds.poll_state(feed)).validators == tags
        assert (await feeds.health(feed))["items_seen"] == items
    assert await feeds.lease_and_state("leased", "replica-b", 30) is None  # kept by replica-a
    # the lease of the poll that failed was given back: another replica may poll it at once
    assert await redis_client.exists(keys.feed_lease("unreadable")) == 0
    # the next batch goes on as ever
    assert await feeds.lease_and_state("good", "replica-a", 30) is not None


async def test_a_cancelled_operation_not_yet_sent_is_withdrawn(
    redis_client: aioredis.Redis,
) -> None:
    feeds = FeedStore(redis_client, window=0.2)
    waiting = asyncio.create_task(feeds.lease_and_state("withdrawn", "replica-a", 30))
    kept = asyncio.create_task(feeds.lease_and_state("kept", "replica-a", 30))
    await asyncio.sleep(0.02)  # both queued, the batch not yet sent
    waiting.cancel()
    assert (await kept) is not None
    assert waiting.cancelled()
    assert await redis_client.exists(keys.feed_lease("kept")) == 1
    assert await redis_client.exists(keys.feed_lease("withdrawn")) == 0
