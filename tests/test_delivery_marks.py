"""The marks that keep an alert from being posted twice: the sending lock (owned, renewed while
a post runs) and the note that a post was started."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from peacewatch.models import Alert
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from tests.test_dispatcher import make_alert


@dataclass
class GatedSink:
    """A platform whose post takes until the test releases it."""

    platform: str = "test"
    calls: list[str] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, alert: Alert, parent: str | None) -> str:
        self.calls.append(alert.alert_id)
        self.started.set()
        await self.release.wait()
        return f"msg-{len(self.calls)}"


async def test_the_sending_lock_belongs_to_its_owner(redis_client: aioredis.Redis) -> None:
    queue = AlertQueue(redis_client)
    assert await queue.lock_sending("a1", "A", 10_000)
    assert not await queue.lock_sending("a1", "B", 10_000)
    assert not await queue.renew_sending("a1", "B", 60_000)
    await queue.unlock_sending("a1", "B")  # B's lock expired long ago: A's stays
    assert await redis_client.get(keys.sending("a1")) == "A"
    assert await queue.renew_sending("a1", "A", 60_000)
    assert await redis_client.pttl(keys.sending("a1")) > 10_000
    await queue.unlock_sending("a1", "A")
    assert await redis_client.exists(keys.sending("a1")) == 0


async def test_the_start_of_a_post_is_kept_until_its_delivery_is_recorded(
    redis_client: aioredis.Redis,
) -> None:
    queue = AlertQueue(redis_client)
    assert await queue.start_delivery("a1", 1000.5, 60) is None
    assert await queue.start_delivery("a1", 2000.0, 60) == 1000.5  # the first attempt's time
    await queue.mark_delivered("a1", "msg-1", 60)
    assert await redis_client.exists(keys.delivery_started("a1")) == 0
    assert await queue.delivered_ref("a1") == "msg-1"


async def test_a_long_post_keeps_its_lock_and_nobody_else_posts_the_alert(
    redis_client: aioredis.Redis,
) -> None:
    queue = AlertQueue(redis_client)
    await queue.enqueue(make_alert("a1"))
    sink = GatedSink()
    lock_ms = 300
    first = Dispatcher(queue, {"test": sink}, "first", lock_ms=lock_ms)
    posting = asyncio.create_task(first.run_once(claim=False))
    try:
        await asyncio.wait_for(sink.started.wait(), 5)
        # Wait (bounded) until the lock has been renewed for longer than one lifetime: without
        # the renewals it would have expired and the loop would run out.
        renewed, last, deadline = 0, lock_ms, time.monotonic() + 10
        while renewed < 6:
            assert time.monotonic() < deadline, "the sending lock was not renewed"
            ttl = await redis_client.pttl(keys.sending("a1"))
            assert ttl > 0, "the sending lock expired during the post"
            renewed += ttl > last
            last = ttl
            await asyncio.sleep(0.02)
        second = Dispatcher(queue, {"test": sink}, "second", retry_idle_ms=0, lock_ms=lock_ms)
        assert await second.run_once(claim=True) == 1  # it took the entry over...
        assert sink.calls == ["a1"]  # ...and left the alert to the dispatcher posting it
    finally:
        sink.release.set()
        await asyncio.wait_for(posting, 5)
    assert await queue.delivered_ref("a1") == "msg-1"
    assert await redis_client.exists(keys.sending("a1")) == 0
