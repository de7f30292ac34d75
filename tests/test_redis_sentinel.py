"""peacewatch behind Redis Sentinel: REDIS_URL=redis+sentinel://... reaches the master that
the Sentinel names, and follows it when the Sentinel fails over to the replica. A master, its
replica and one Sentinel are started from redis-server on 127.0.0.1. Scenarios of other modules
run again through the Sentinel URL (``redis_target`` and ``redis_client`` below replace the
shared fixtures for this module)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.embedded import connect
from tests.cluster_fixture import SentinelSetup, bounded, failover, redis_sentinel

# Scenarios of other modules, run again through the Sentinel.
from tests.test_dispatcher import test_a_redelivered_alert_is_posted_once
from tests.test_pipeline import server, test_poll_alerts_then_one_new_item_then_conditional_304

RERUN = [
    test_a_redelivered_alert_is_posted_once,
    test_poll_alerts_then_one_new_item_then_conditional_304,
]
"""Imported above so that pytest collects them in this module, with its fixtures (each bounded
in time, so that a server that never answers fails the test instead of holding up the run)."""
for _test in RERUN:
    globals()[_test.__name__] = bounded(_test)
assert server is not None and redis_sentinel is not None  # fixtures used


@pytest.fixture(scope="module")
def redis_target(redis_sentinel: SentinelSetup) -> dict[str, Any]:
    """REDIS_URL of this module's tests: the Sentinel."""
    return {"url": redis_sentinel.url}


def direct(port: int) -> aioredis.Redis:
    return aioredis.Redis(host="127.0.0.1", port=port, decode_responses=True)


@pytest.fixture
async def redis_client(redis_sentinel: SentinelSetup) -> AsyncIterator[aioredis.Redis]:
    """The current master, emptied, reached directly (not through peacewatch's client)."""
    client = direct(redis_sentinel.master())
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@bounded
async def test_the_sentinel_url_reaches_the_master_it_names(
    redis_sentinel: SentinelSetup, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    handle = await connect(redis_sentinel.url, tmp_path)
    try:
        assert "redis master 'pwmaster' of redis+sentinel://127.0.0.1" in handle.description
        await handle.client.sadd(keys.feeds_index(), "f1")
        assert await redis_client.smembers(keys.feeds_index()) == {"f1"}
        async with handle.client.pipeline(transaction=True) as pipe:  # MULTI/EXEC as on one
            pipe.hset(keys.feed("f1"), "url", "https://example.org/feed")
            pipe.sadd(keys.feeds_index(), "f2")
            await pipe.execute()
        assert await redis_client.scard(keys.feeds_index()) == 2
    finally:
        await handle.close()


@bounded
async def test_an_unknown_service_is_a_clear_store_error(
    redis_sentinel: SentinelSetup, tmp_path: Path
) -> None:
    url = f"redis+sentinel://127.0.0.1:{redis_sentinel.sentinel_port}/nosuchservice"
    with pytest.raises(Exception, match="nosuchservice") as caught:
        await connect(url, tmp_path)
    assert "cannot reach redis master 'nosuchservice'" in str(caught.value)


@bounded
async def test_the_client_follows_the_master_through_a_failover(
    redis_sentinel: SentinelSetup, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    handle = await connect(redis_sentinel.url, tmp_path)
    try:
        await handle.client.set(keys.rules_version(), "1")
        # replication is asynchronous and a forced failover does not wait for it: the replica
        # must hold the write before it is promoted
        assert await handle.client.execute_command("WAIT", 1, 10_000) == 1
        old = redis_sentinel.master()
        new = failover(redis_sentinel)
        assert new != old and redis_sentinel.role(old) == "slave"
        # the pooled connection still points at the old master, now a read-only replica:
        # the client asks the Sentinel again and writes to the new one
        assert await handle.client.incr(keys.rules_version()) == 2
        promoted = direct(new)
        try:
            assert await promoted.get(keys.rules_version()) == "2"
        finally:
            await promoted.aclose()
    finally:
        await handle.close()
