"""The deployment's health figures over thousands of feeds and rules, as /healthz, /metrics
and `peacewatch status` read them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis.asyncio as aioredis

from peacewatch.rules.rulefile import RuleSpec
from peacewatch.status import collect
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.feeds import HEALTH_CHUNK, FeedSpec, FeedStore
from peacewatch.store.teams import TeamStore

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


async def test_every_feed_gets_its_own_health_however_many_feeds_there_are(
    redis_client: aioredis.Redis,
) -> None:
    feeds, teams = FeedStore(redis_client), TeamStore(redis_client)
    ids = [f"feed-{i:05d}" for i in range(2 * HEALTH_CHUNK + 500)]  # three reads' worth
    for feed_id in ids:
        await feeds.put(FeedSpec(id=feed_id, url=f"https://example.org/{feed_id}.xml"))
    failing = set(ids[::7])
    await asyncio.gather(*(feeds.record_error(i, NOW, f"HTTP 500 from {i}") for i in failing))
    read = [(n, i) for n, i in enumerate(ids) if i not in failing]
    await asyncio.gather(*(feeds.record_ok(i, NOW, items=n % 50 + 1, new=0) for n, i in read))
    await teams.replace(
        "desk", [RuleSpec(id=f"r{n}", query=f"word{n}", channels=[f"console:c{n % 3}"])
                 for n in range(1_200)], [],
    )  # fmt: skip
    await teams.replace("other", [RuleSpec(id="only", query="Witkoff")], [])

    status = await collect(feeds, teams, AlertQueue(redis_client), ArticleStore(redis_client))

    assert [f.feed_id for f in status.feeds] == ids
    for n, feed in enumerate(status.feeds):
        if feed.feed_id in failing:
            assert feed.last_error == f"HTTP 500 from {feed.feed_id}" and not feed.last_ok
        else:
            assert not feed.last_error and feed.last_ok == NOW.isoformat()
            assert feed.items_seen == n % 50 + 1
    assert status.rules == 1_201 and status.teams == 2
    assert status.metrics()["feeds_failing"] == len(failing)
