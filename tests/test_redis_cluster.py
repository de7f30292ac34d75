"""peacewatch on a three-node Redis Cluster started from redis-server on 127.0.0.1.

Every key carries the hash tag of ``keys.PREFIX``, so all of them live in one slot and every
multi-key command, MULTI/EXEC transaction (with WATCH), Lua script and stream read works there
as on one server. Beside the checks of this module, scenarios of the other test modules run here
again with REDIS_URL pointed at the cluster (``redis_target`` and ``redis_client`` below replace
the shared fixtures for this module): feed polls through the ingest stream, the story assigner
and its lease, merges, the alert stream with its consumer group and the dispatcher's
exactly-once marks, quiet hours, search and the stores' round trips.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot

from peacewatch.rules.rulefile import RuleSpec
from peacewatch.store import keys
from peacewatch.store.embedded import connect
from peacewatch.store.feeds import FeedSpec
from tests.cluster_fixture import Cluster, bounded, fail_over_slot, master_of, redis_cluster
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, Clock, dated, open_app, rss, samples_dir

# Scenarios of other modules, run again on the cluster.
from tests.test_assigner_lease import test_renewals_during_a_batch_write_do_not_lose_the_lease
from tests.test_delivery_marks import (
    test_a_long_post_keeps_its_lock_and_nobody_else_posts_the_alert,
    test_the_sending_lock_belongs_to_its_owner,
    test_the_start_of_a_post_is_kept_until_its_delivery_is_recorded,
)
from tests.test_dispatcher import (
    test_a_crashed_consumers_alerts_are_claimed_and_delivered,
    test_a_redelivered_alert_is_posted_once,
    test_send_rate_per_channel_is_shared_by_replicas,
    test_two_dispatchers_with_a_slow_sink_post_once,
)
from tests.test_history import history, test_index_answers_exactly_what_a_full_scan_answers
from tests.test_mutes import test_a_story_muted_in_a_channel_gets_no_more_follow_ups_there
from tests.test_pipeline import (
    server,
    test_min_sources_alert_fires_when_a_second_outlet_joins_the_story,
    test_poll_alerts_then_one_new_item_then_conditional_304,
    test_quiet_hours_hold_alerts_until_housekeeping_after_they_end,
)
from tests.test_quiet import test_daily_digest_rules_become_one_alert_per_destination
from tests.test_story_merges import (
    test_a_successor_loads_the_merged_story_as_it_stands,
    test_slack_gets_a_merge_note_in_the_absorbed_thread_and_follow_ups_in_the_survivor,
)

RERUN = [
    test_renewals_during_a_batch_write_do_not_lose_the_lease,
    test_a_long_post_keeps_its_lock_and_nobody_else_posts_the_alert,
    test_the_sending_lock_belongs_to_its_owner,
    test_the_start_of_a_post_is_kept_until_its_delivery_is_recorded,
    test_a_crashed_consumers_alerts_are_claimed_and_delivered,
    test_a_redelivered_alert_is_posted_once,
    test_send_rate_per_channel_is_shared_by_replicas,
    test_two_dispatchers_with_a_slow_sink_post_once,
    test_index_answers_exactly_what_a_full_scan_answers,
    test_a_story_muted_in_a_channel_gets_no_more_follow_ups_there,
    test_min_sources_alert_fires_when_a_second_outlet_joins_the_story,
    test_poll_alerts_then_one_new_item_then_conditional_304,
    test_quiet_hours_hold_alerts_until_housekeeping_after_they_end,
    test_daily_digest_rules_become_one_alert_per_destination,
    test_a_successor_loads_the_merged_story_as_it_stands,
    test_slack_gets_a_merge_note_in_the_absorbed_thread_and_follow_ups_in_the_survivor,
]
"""Imported above so that pytest collects them in this module, with its fixtures (each bounded
in time, so that a server that never answers fails the test instead of holding up the run)."""
for _test in RERUN:
    globals()[_test.__name__] = bounded(_test)
assert server is not None and history is not None and redis_cluster is not None  # fixtures used

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
TAG_SLOT = key_slot(keys.PREFIX.encode())


def headlines(out: io.StringIO) -> list[str]:
    """Alert headlines the console sink printed, in order."""
    lines = out.getvalue().splitlines()
    return [line.split("] ", 1)[1] for line in lines if line.startswith("console-")]


def cluster_client(cluster: Cluster) -> RedisCluster:
    nodes = [ClusterNode("127.0.0.1", port) for port in cluster.ports]
    return RedisCluster(startup_nodes=nodes, decode_responses=True)


@pytest.fixture(scope="module")
def redis_target(redis_cluster: Cluster) -> dict[str, Any]:
    """REDIS_URL of this module's tests: the cluster."""
    return {"url": redis_cluster.url}


@pytest.fixture
async def redis_client(redis_cluster: Cluster) -> AsyncIterator[aioredis.Redis]:
    """An empty cluster for each test, through the cluster client (which answers the commands
    the stores send, as ``peacewatch.store.embedded.connect`` hands it to them)."""
    client = cluster_client(redis_cluster)
    await client.flushdb(target_nodes=RedisCluster.PRIMARIES)
    try:
        yield cast(aioredis.Redis, client)
    finally:
        await client.aclose()


def test_every_key_hashes_to_the_one_slot_of_the_prefix() -> None:
    """Each key function of ``keys`` (with any ids) gives a key of the prefix's slot, so new
    keys cannot break a multi-key command on a cluster unnoticed."""
    checked = 0
    for name, func in inspect.getmembers(keys, inspect.isfunction):
        if func.__module__ != keys.__name__ or name.startswith("_"):
            continue
        for ids in ("a", "{b}", "x:y"):
            params = inspect.signature(func).parameters
            key = func(*(f"{ids}{n}" for n in range(len(params))))
            assert key.startswith(keys.PREFIX), name
            assert key_slot(key.encode()) == TAG_SLOT, f"keys.{name} leaves the tagged slot"
        checked += 1
    assert checked > 40


@bounded
async def test_a_pipeline_run_on_the_cluster_keeps_every_key_in_one_slot(
    redis_cluster: Cluster, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:3], NOW - timedelta(hours=3), timedelta(hours=1))
    out = io.StringIO()
    async with FeedServer() as feeds:
        feeds.set_feed("/feed.xml", rss(items))
        app = await open_app(redis_cluster.url, tmp_path, Clock(NOW), out)
        try:
            assert app.redis.cluster and "redis cluster at" in app.redis.description
            await app.teams.put_rule("t1", RuleSpec(id="envoys", query="Witkoff OR Dmitriev",
                                                    channels=["console:desk"]))  # fmt: skip
            feed = FeedSpec("f1", feeds.url("/feed.xml"), 600, "Test outlet", "t1")
            await app.feeds.put(feed)
            assert (await app.poller.poll(feed)).new == 3
            await app.assigner.drain()
            await app.dispatcher.drain()
        finally:
            await app.close()
    assert len([line for line in out.getvalue().splitlines() if "] " in line]) == 3

    cluster = cast(RedisCluster, redis_client)
    stored = [k async for k in cluster.scan_iter(match="*", count=1000)]
    assert len(stored) > 20 and all(k.startswith(keys.PREFIX) for k in stored)
    owner = cluster.get_node_from_key(keys.PREFIX)
    counts = {n.name: await cluster.dbsize(target_nodes=n) for n in cluster.get_primaries()}
    assert len(counts) == 3 and counts[owner.name] == len(stored)  # every key on one node
    assert sum(counts.values()) == len(stored)


@bounded
async def test_connect_reads_a_cluster_url_and_moves_nothing(
    redis_cluster: Cluster, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    # an untagged key on a cluster is not an earlier store (its multi-key commands never ran)
    await redis_client.set(keys.UNTAGGED_PREFIX + "feeds", "x")
    handle = await connect(redis_cluster.url, tmp_path)
    try:
        assert handle.cluster and handle.server is None
        await handle.client.set(keys.rules_version(), "1")
        assert await redis_client.get(keys.rules_version()) == "1"
        assert await redis_client.get(keys.UNTAGGED_PREFIX + "feeds") == "x"
        assert not await redis_client.exists(keys.keyspace_tagged())
    finally:
        await handle.close()


if not (samples_dir() / "feeds-2026-01").is_dir():  # as in their own module
    pytest.mark.skip(reason="no sample feed exports")(
        test_renewals_during_a_batch_write_do_not_lose_the_lease
    )


@bounded
async def test_when_its_slot_fails_over_the_pipeline_goes_on_and_repeats_nothing(
    redis_cluster: Cluster, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """What a Cluster buys peacewatch: the master of its slot can fail over to a replica under
    running clients (leases, transactions, scripts and both streams carry on). Runs last: it
    changes the cluster's topology."""
    items = dated(SAMPLE_ITEMS[:3], NOW - timedelta(hours=3), timedelta(hours=1))
    later = {**SAMPLE_ITEMS[3], "published": NOW + timedelta(minutes=5)}
    out = io.StringIO()
    clock = Clock(NOW)
    async with FeedServer() as feeds:
        feeds.set_feed("/feed.xml", rss(items))
        app = await open_app(redis_cluster.url, tmp_path, clock, out)
        try:
            await app.teams.put_rule("t1", RuleSpec(id="envoys", query="Witkoff OR Dmitriev",
                                                    channels=["console:desk"]))  # fmt: skip
            feed = FeedSpec("f1", feeds.url("/feed.xml"), 600, "Test outlet", "t1")
            await app.feeds.put(feed)
            await app.poller.poll(feed)
            await app.assigner.drain()
            await app.dispatcher.drain()
            assert len(headlines(out)) == 3

            old, new = fail_over_slot(redis_cluster, keys.PREFIX)  # blocks the loop: nothing runs

            feeds.set_feed("/feed.xml", rss([*items, later]))
            clock.now = NOW + timedelta(minutes=10)
            assert (await app.poller.poll(feed)).new == 1
            await app.assigner.drain()
            await app.dispatcher.drain()
        finally:
            await app.close()
    assert headlines(out) == [*(i["title"] for i in items), later["title"]]
    assert master_of(redis_cluster, keys.PREFIX) == new != old
