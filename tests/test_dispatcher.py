"""The alert stream and dispatcher: acknowledged only after delivery, never posted twice."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from peacewatch.errors import PermanentDelivery, RetryLater
from peacewatch.models import Alert, AlertKind, Destination, SourceRef
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue

WHEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def make_alert(alert_id: str, channel: str = "C1", kind: AlertKind = AlertKind.NEW) -> Alert:
    return Alert(
        alert_id=alert_id,
        team_id="t1",
        rule_id="envoys",
        story_id="story-1",
        article_id=f"article-{alert_id}",
        destination=Destination("test", channel),
        headline="Witkoff, Kushner to attend Ukraine Coalition of the Willing meeting",
        summary="Ukraine’s allies aim to hash out key details of a possible ceasefire deal.",
        link="https://www.politico.eu/article/witkoff-kushner",
        matched=("Witkoff",),
        entities=("witkoff",),
        sources=(SourceRef("POLITICO Europe", "politico.eu", "https://www.politico.eu/", WHEN),),
        kind=kind,
        created=WHEN,
    )


@dataclass
class RecordingSink:
    """A destination platform that records what it was sent and fails on demand."""

    platform: str = "test"
    posted: list[tuple[str, str | None]] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)

    async def deliver(self, alert: Alert, parent: str | None) -> str:
        pending = self.failures.get(alert.destination.target)
        if pending:
            raise pending.pop(0)
        self.posted.append((alert.alert_id, parent))
        return f"msg-{len(self.posted)}"


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_redelivered_alert_is_posted_once(redis_client: Any) -> None:
    queue = AlertQueue(redis_client)
    sink = RecordingSink()
    dispatcher = Dispatcher(queue, {"test": sink}, retry_idle_ms=0)
    alert = make_alert("a1")
    await queue.enqueue(alert)
    await queue.enqueue(alert)  # the same work queued twice (e.g. by two replicas)
    await dispatcher.drain()
    assert sink.posted == [("a1", None)]
    assert dispatcher.stats.duplicates == 1
    assert (await queue.depth())["pending"] == 0


async def test_followup_gets_the_parent_message_of_its_story(redis_client: Any) -> None:
    queue = AlertQueue(redis_client)
    sink = RecordingSink()
    dispatcher = Dispatcher(queue, {"test": sink})
    await queue.enqueue(make_alert("first"))
    await queue.enqueue(make_alert("second", kind=AlertKind.FOLLOWUP))
    await dispatcher.drain()
    assert sink.posted == [("first", None), ("second", "msg-1")]


async def test_retry_later_keeps_the_alert_queued_until_the_platform_is_back(
    redis_client: Any,
) -> None:
    queue = AlertQueue(redis_client)
    sink = RecordingSink(failures={"C1": [RetryLater("429 Too Many Requests", retry_after=30)]})
    ticks = Ticks()
    dispatcher = Dispatcher(queue, {"test": sink}, retry_idle_ms=0, clock=ticks)
    await queue.enqueue(make_alert("a1"))
    await queue.enqueue(make_alert("b1", channel="C2"))
    await dispatcher.run_once()
    assert sink.posted == [("b1", None)]  # the other channel is not held up
    assert (await queue.depth())["pending"] == 1
    assert "429" in (await queue.failures())["test:C1"]

    await dispatcher.run_once()  # still inside Retry-After: left alone
    assert sink.posted == [("b1", None)]
    ticks.now += 31
    await dispatcher.run_once()
    await dispatcher.run_once()
    assert sink.posted == [("b1", None), ("a1", None)]
    assert (await queue.depth())["pending"] == 0
    assert "test:C1" not in await queue.failures()


async def test_permanent_failure_goes_to_dead_letters_and_is_reported(redis_client: Any) -> None:
    queue = AlertQueue(redis_client)
    sink = RecordingSink(failures={"gone": [PermanentDelivery("channel_not_found")]})
    dispatcher = Dispatcher(queue, {"test": sink})
    await queue.enqueue(make_alert("x", channel="gone"))
    await queue.enqueue(make_alert("y", channel="C1"))
    await dispatcher.drain()
    assert sink.posted == [("y", None)]
    depth = await queue.depth()
    assert depth["dead"] == 1 and depth["pending"] == 0
    assert (await queue.failures())["test:gone"] == "channel_not_found"
    dead = await redis_client.xrange(keys.alert_dead_letter())
    assert dead[0][1]["reason"] == "channel_not_found"


async def test_a_crashed_consumers_alerts_are_claimed_and_delivered(redis_client: Any) -> None:
    queue = AlertQueue(redis_client)
    await queue.enqueue(make_alert("a1"))
    taken = await queue.read("crashed-consumer")  # read, never acknowledged
    assert [t.alert.alert_id for t in taken if t.alert] == ["a1"]
    sink = RecordingSink()
    dispatcher = Dispatcher(queue, {"test": sink}, consumer="survivor", retry_idle_ms=0)
    await dispatcher.run_once()
    assert sink.posted == [("a1", None)]
    assert (await queue.depth())["pending"] == 0


async def test_undecodable_and_unroutable_entries_go_to_dead_letters(redis_client: Any) -> None:
    queue = AlertQueue(redis_client)
    await redis_client.xadd(keys.alert_stream(), {"alert": "{not json"})
    await queue.enqueue(replace(make_alert("z"), destination=Destination("nowhere", "x")))
    dispatcher = Dispatcher(queue, {"test": RecordingSink()})
    await dispatcher.drain()
    assert (await queue.depth())["dead"] == 2
    assert dispatcher.stats.dead == 2


async def test_gives_up_after_max_deliveries(redis_client: Any) -> None:
    queue = AlertQueue(redis_client)
    sink = RecordingSink(failures={"C1": [RetryLater("down", retry_after=0)] * 5})
    dispatcher = Dispatcher(queue, {"test": sink}, max_deliveries=3, retry_idle_ms=0)
    await queue.enqueue(make_alert("a1"))
    for _ in range(4):
        await dispatcher.run_once()
    assert sink.posted == []
    assert (await queue.depth())["dead"] == 1


async def test_pacing_waits_never_use_up_the_tries(redis_client: Any) -> None:
    queue = AlertQueue(redis_client)
    pacing = [RetryLater("pacing", retry_after=0, counts=False)] * 20
    sink = RecordingSink(failures={"C1": list(pacing)})
    dispatcher = Dispatcher(queue, {"test": sink}, max_deliveries=3, retry_idle_ms=0)
    await queue.enqueue(make_alert("a1"))
    for _ in range(25):
        await dispatcher.run_once()
    assert sink.posted == [("a1", None)]
    assert (await queue.depth())["dead"] == 0


async def test_two_dispatchers_with_a_slow_sink_post_once(redis_client: Any) -> None:
    import asyncio

    @dataclass
    class SlowSink(RecordingSink):
        async def deliver(self, alert: Alert, parent: str | None) -> str:
            await asyncio.sleep(0.2)
            return await RecordingSink.deliver(self, alert, parent)

    sink = SlowSink()
    first = Dispatcher(AlertQueue(redis_client), {"test": sink}, "a", retry_idle_ms=0)
    second = Dispatcher(AlertQueue(redis_client), {"test": sink}, "b", retry_idle_ms=0)
    queue = AlertQueue(redis_client)
    for n in range(3):
        await queue.enqueue(make_alert(f"x{n}", channel=f"C{n}"))

    async def rounds(d: Dispatcher) -> None:
        for _ in range(6):
            await d.run_once()

    await asyncio.gather(rounds(first), rounds(second))
    assert sorted(a for a, _ in sink.posted) == ["x0", "x1", "x2"]


async def test_a_followup_waits_for_its_parent_then_goes_into_its_thread(
    redis_client: Any,
) -> None:
    queue = AlertQueue(redis_client)
    sink = RecordingSink(failures={"C1": [RetryLater("down", retry_after=0)]})
    dispatcher = Dispatcher(queue, {"test": sink}, retry_idle_ms=0)
    parent = make_alert("first")
    child = replace(make_alert("second", kind=AlertKind.FOLLOWUP), extra={"parent_alert": "first"})
    await queue.enqueue(parent)
    await queue.enqueue(child)
    await dispatcher.run_once()  # the parent fails once; the follow-up must not go first
    assert sink.posted == []
    for _ in range(3):
        await dispatcher.run_once()
    assert sink.posted == [("first", None), ("second", "msg-1")]


async def test_trimming_keeps_every_alert_still_waiting(redis_client: Any) -> None:
    import time

    queue = AlertQueue(redis_client)
    sink = RecordingSink(failures={"down": [RetryLater("outage", retry_after=3600)]})
    dispatcher = Dispatcher(queue, {"test": sink})
    await queue.enqueue(make_alert("sent"))
    await queue.enqueue(make_alert("waiting", channel="down"))
    await dispatcher.run_once()
    assert (await queue.depth())["pending"] == 1
    later = int(time.time() * 1000) + 8 * 86_400_000  # a week past both
    await queue.trim(later)
    depth = await queue.depth()
    # the delivered alert is gone; the one waiting out the outage is kept
    assert depth["pending"] == 1 and depth["stream"] == 1


async def test_a_slow_channel_does_not_hold_up_the_others(redis_client: Any) -> None:
    import asyncio

    @dataclass
    class PacedSink(RecordingSink):
        async def deliver(self, alert: Alert, parent: str | None) -> str:
            if alert.destination.target == "busy":
                await asyncio.sleep(0.1)  # e.g. one message per second per channel
            return await RecordingSink.deliver(self, alert, parent)

    queue = AlertQueue(redis_client)
    sink = PacedSink()
    for n in range(4):
        await queue.enqueue(make_alert(f"busy{n}", channel="busy"))
    await queue.enqueue(make_alert("quiet", channel="C2"))
    await Dispatcher(queue, {"test": sink}).run_once()
    order = [a for a, _ in sink.posted]
    assert order.index("quiet") == 0  # not after the four paced ones
    assert [a for a in order if a.startswith("busy")] == ["busy0", "busy1", "busy2", "busy3"]


async def test_send_rate_per_channel_is_shared_by_replicas(redis_client: Any) -> None:
    import asyncio
    import time

    from peacewatch.store.ratelimit import Rate, SendRates

    stamps: list[float] = []

    @dataclass
    class StampSink(RecordingSink):
        async def deliver(self, alert: Alert, parent: str | None) -> str:
            stamps.append(time.monotonic())
            return await RecordingSink.deliver(self, alert, parent)

    sink = StampSink()
    rates = {"test": Rate(per_second=5.0, burst=1)}
    one = Dispatcher(AlertQueue(redis_client), {"test": sink}, "a",
                     rates=SendRates(redis_client, rates))  # fmt: skip
    two = Dispatcher(AlertQueue(redis_client), {"test": sink}, "b",
                     rates=SendRates(redis_client, rates))  # fmt: skip
    queue = AlertQueue(redis_client)
    # each replica takes two of the four alerts; together they must keep to 5 a second
    for n in range(2):
        await queue.enqueue(make_alert(f"a{n}"))
    first = asyncio.create_task(one.run_once(claim=False))
    await asyncio.sleep(0.05)
    for n in range(2, 4):
        await queue.enqueue(make_alert(f"a{n}"))
    await asyncio.gather(first, two.run_once(claim=False))
    assert sorted(a for a, _ in sink.posted) == ["a0", "a1", "a2", "a3"]
    # 5 per second, burst 1: four sends take at least 0.6 s, whichever replica sends them
    # (without the shared bucket they go out within milliseconds)
    assert max(stamps) - min(stamps) >= 0.45
