"""The dispatcher: reads queued alerts from the stream and hands each to its platform's sink.

At-least-once from the stream, exactly-once to the chat: an entry is acknowledged only after
the sink accepted it, and an idempotency record per alert id stops a redelivered entry from
being posted again. The start of a post is noted before the post; an attempt that finds the
note without a delivery record (a crash or a timeout after the platform may have taken the
post) asks the sink to look for the message on the platform before posting again.

A destination's outage is kept in Redis (every replica and ``peacewatch status`` see it) and
logged at WARNING once when it starts and once when it ends, never per retry; an alert set
aside in the dead letters is logged at WARNING with its id, destination and reason.

A user whose direct messages can never be delivered (a deleted or deactivated account, one
that blocks the bot) is no outage: their destination is paused (logged once; the follows show
it failing, with the reason) and its later alerts are dropped, not dead-lettered, until a
``follow`` resumes it or a direct message to them goes through. A follow's reader who left the
follow's team (``ReaderGone``) is not that: the alert that found it out is a dead letter, but
the destination is neither paused nor failing, as it also carries their other teams' follows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from peacewatch import metrics
from peacewatch.errors import PermanentDelivery, ReaderGone, RetryLater, UserUnreachable
from peacewatch.failpoints import failpoint
from peacewatch.models import Alert, AlertKind
from peacewatch.renewing import renewing
from peacewatch.services.sinks import Sink
from peacewatch.store.alert_queue import AlertQueue, QueuedAlert, entry_time
from peacewatch.store.follows import FollowStore, dm_user
from peacewatch.store.ratelimit import SendRates

log = logging.getLogger(__name__)


DELIVERED_TTL = 30 * 86400
SENDING_LOCK_MS = 20_000
"""Lifetime of the lock on an alert being posted; renewed every quarter of it while the post
runs, so a dispatcher that died lets another take the alert over within this time."""
MAX_RATE_WAIT = 5.0
"""Longest wait for a send slot inside one round; a longer one leaves the entry pending."""
PARENT_WAIT_ROUNDS = 6
"""Rounds a follow-up waits for its story's first alert before it is posted on its own."""


@runtime_checkable
class CheckingSink(Protocol):
    """A sink that can tell whether an alert already reached its platform."""

    async def find_delivered(self, alert: Alert, parent: str | None, since: float) -> str | None:
        """The reference of the alert's message if an attempt begun at ``since`` (epoch
        seconds) posted it, else None. Raises what ``deliver`` raises."""
        ...


@dataclass(slots=True)
class DispatchStats:
    delivered: int = 0
    duplicates: int = 0
    retried: int = 0
    dead: int = 0
    dropped: int = 0
    """Alerts to a paused user's direct messages, acknowledged unsent."""
    recovered: int = 0
    """Deliveries found on the platform after an attempt that was never recorded."""


def context(alert: Alert) -> dict[str, str]:
    """The ids a log line about ``alert`` carries (fields of ``--log-format json``)."""
    return {
        "alert_id": alert.alert_id,
        "team_id": alert.team_id,
        "story_id": alert.story_id,
        "destination": str(alert.destination),
    }


class Dispatcher:
    def __init__(
        self,
        queue: AlertQueue,
        sinks: Mapping[str, Sink],
        consumer: str = "dispatcher-1",
        max_deliveries: int = 8,
        retry_idle_ms: int = 5_000,
        clock: Callable[[], float] = time.monotonic,
        rates: SendRates | None = None,
        wall_clock: Callable[[], float] = time.time,
        lock_ms: int = SENDING_LOCK_MS,
    ) -> None:
        self._rates = rates
        self._lock_ms = lock_ms
        self._wall_clock = wall_clock
        self._queue = queue
        self._follows = FollowStore(queue.redis)
        self._sinks = dict(sinks)
        self._consumer = consumer
        self._max_deliveries = max_deliveries
        self._retry_idle_ms = retry_idle_ms
        self._clock = clock
        self._blocked_until: dict[str, float] = {}
        self.stats = DispatchStats()
        self._stopping = asyncio.Event()

    async def _slot(self, item: QueuedAlert) -> bool:
        """Wait for the destination's send rate (shared by all replicas in Redis); False when
        the wait is long, so the entries stay pending and come back later."""
        if self._rates is None or item.alert is None:
            return True
        destination = str(item.alert.destination)
        waited = 0.0
        while True:  # bounded: every round waits, and the waits add up to MAX_RATE_WAIT at most
            wait = await self._rates.take(destination)
            if wait <= 0:
                return True
            if waited + wait > MAX_RATE_WAIT:
                self._blocked_until[destination] = self._clock() + wait
                return False
            await asyncio.sleep(wait)
            waited += wait

    def add_sink(self, sink: Sink) -> None:
        self._sinks[sink.platform] = sink

    async def run_once(self, block_ms: int | None = None, claim: bool = True) -> int:
        """Handle what is due now: retries of idle pending entries, then new entries.
        Returns how many entries were handled."""
        items: list[QueuedAlert] = []
        if claim:
            items.extend(await self._queue.claim_stale(self._consumer, self._retry_idle_ms))
        items.extend(await self._queue.read(self._consumer, block_ms=block_ms))
        # One destination after another in order, destinations side by side: a channel that
        # is paced or slow never holds up the others.
        lanes: dict[str, list[QueuedAlert]] = {}
        for item in items:
            lane = str(item.alert.destination) if item.alert is not None else ""
            lanes.setdefault(lane, []).append(item)
        await asyncio.gather(*(self._handle_lane(lane) for lane in lanes.values()))
        return len(items)

    async def _handle_lane(self, items: list[QueuedAlert]) -> None:
        for item in items:
            try:
                if not await self._slot(item):
                    return  # the destination is busy for a while: the rest waits its turn
                await self._handle(item)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis trouble on one entry: it stays pending and comes back
                log.exception("handling alert entry %s failed", item.message_id)

    async def drain(self, rounds: int = 100) -> None:
        """Deliver until nothing new is queued (used by the demo and tests); bounded."""
        for _ in range(rounds):
            if not await self.run_once(block_ms=None, claim=False):
                return

    async def run(self) -> None:
        """Deliver until ``stop`` is called. A failing round is logged and the loop goes on."""
        while not self._stopping.is_set():
            try:
                await self.run_once(block_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher round failed")
                await asyncio.sleep(1.0)

    def stop(self) -> None:
        self._stopping.set()

    async def _handle(self, item: QueuedAlert) -> None:
        alert = item.alert
        if alert is None:
            await self._dead_letter(item, "", "undecodable alert entry")
            return
        if await self._queue.delivered_ref(alert.alert_id) is not None:
            await self._queue.ack(item.message_id)  # a redelivery: posted before, never again
            self.stats.duplicates += 1
            return
        destination = str(alert.destination)
        sink = self._sinks.get(alert.destination.platform)
        if sink is None:
            reason = f"no sink for platform {alert.destination.platform}"
            await self._failed(destination, reason)
            await self._dead_letter(item, destination, reason)
            return
        if self._blocked_until.get(destination, 0.0) > self._clock():
            return  # left pending; claimed again once it has been idle long enough
        if dm_user(alert.destination) is not None and await self._queue.paused(destination):
            await self._queue.ack(item.message_id)  # the user cannot get it: said once
            self.stats.dropped += 1
            log.debug("alert %s dropped: %s is paused", alert.alert_id, destination)
            return
        if not await self._follows.still_wanted(alert):
            await self._queue.ack(item.message_id)  # unfollowed or muted since it was made
            self.stats.dropped += 1
            log.debug("alert %s dropped: no longer followed by its reader", alert.alert_id)
            return
        parent = None
        if alert.kind is AlertKind.FOLLOWUP:
            parent = await self._queue.thread_ref(alert.team_id, destination, alert.story_id)
            if parent is None and (parent_alert := alert.extra.get("parent_alert")):
                # a story merged into another continues in the thread its first alert began
                parent = await self._queue.delivered_ref(parent_alert)
            if parent is None and await self._parent_pending(alert, item):
                return  # its story's first alert is not out yet: post it after, in its thread
        if not await self._queue.lock_sending(alert.alert_id, self._consumer, self._lock_ms):
            return  # another dispatcher is posting it right now
        try:
            async with renewing(
                self._lock_ms / 4000,
                lambda: self._keep_sending_lock(alert.alert_id),
                "alert-sending-lock",
            ):
                await self._deliver(item, alert, sink, destination, parent)
        finally:
            await self._queue.unlock_sending(alert.alert_id, self._consumer)

    async def _keep_sending_lock(self, alert_id: str) -> bool:
        """Renew the sending lock while the post is under way; False once it is lost."""
        try:
            if not await self._queue.renew_sending(alert_id, self._consumer, self._lock_ms):
                log.warning("lost the sending lock of alert %s", alert_id)
                return False
        except Exception:  # Redis trouble: the next round tries again
            log.exception("renewing the sending lock of alert %s failed", alert_id)
        return True

    async def _parent_pending(self, alert: Alert, item: QueuedAlert) -> bool:
        """Whether a follow-up should wait for its parent (bounded: after a few rounds it is
        posted on its own rather than never)."""
        parent_alert = alert.extra.get("parent_alert", "")
        if not parent_alert or await self._queue.delivered_ref(parent_alert) is not None:
            return False
        waited = await self._queue.waited(item.message_id)
        return waited <= PARENT_WAIT_ROUNDS

    async def _deliver(
        self, item: QueuedAlert, alert: Alert, sink: Sink, destination: str, parent: str | None
    ) -> None:
        # Noted before the post: a later attempt that finds it without a delivery record
        # checks the platform first. Redis trouble here leaves the entry pending, uncounted.
        since = await self._queue.start_delivery(alert.alert_id, self._wall_clock(), DELIVERED_TTL)
        try:
            ref = await self._post_once(alert, sink, parent, since)
        except RetryLater as exc:
            self._blocked_until[destination] = self._clock() + exc.retry_after
            if exc.counts:
                await self._failed(destination, str(exc))
                self.stats.retried += 1
                metrics.ALERTS_RETRIED.inc()
                await self._give_up_after(item, destination, str(exc))
            return
        except ReaderGone as exc:  # nothing wrong with the destination: this alert only
            await self._dead_letter(item, destination, f"{ReaderGone.REASON}: {exc}")
            return
        except UserUnreachable as exc:
            await self._unreachable(item, destination, str(exc))
            return
        except PermanentDelivery as exc:
            await self._failed(destination, str(exc))
            await self._dead_letter(item, destination, str(exc))
            return
        except Exception as exc:  # a sink bug must not stop the other destinations
            log.exception(
                "sink %s failed on alert %s", sink.platform, alert.alert_id, extra=context(alert)
            )
            await self._failed(destination, f"{type(exc).__name__}: {exc}")
            self.stats.retried += 1
            metrics.ALERTS_RETRIED.inc()
            await self._give_up_after(item, destination, f"{type(exc).__name__}: {exc}")
            return
        failpoint("dispatcher.after_post")
        await self._queue.mark_delivered(alert.alert_id, ref, DELIVERED_TTL)
        if alert.kind is AlertKind.NEW or parent is None:
            await self._queue.set_thread_ref(
                alert.team_id, destination, alert.story_id, ref, DELIVERED_TTL
            )
        await self._queue.ack(item.message_id)
        self.stats.delivered += 1
        metrics.ALERTS_DELIVERED.inc()
        metrics.DELIVERY_LATENCY.observe(max(0.0, self._wall_clock() - entry_time(item.message_id)))
        ended = await self._queue.clear_failure(destination)
        if ended is not None:
            lasted = f"{self._wall_clock() - ended.since:.0f} s" if ended.since else "a while"
            log.warning(
                "delivery to %s works again after %s (%d failed attempts; last error: %s)",
                destination, lasted, ended.failures, ended.error,
                extra={"destination": destination, "outage_seconds": lasted},
            )  # fmt: skip

    async def _post_once(
        self, alert: Alert, sink: Sink, parent: str | None, since: float | None
    ) -> str:
        """Post the alert, unless an earlier attempt begun at ``since`` and never recorded did
        (then the platform has its message, and that message is the delivery)."""
        if since is not None and isinstance(sink, CheckingSink):
            found = await sink.find_delivered(alert, parent, since)
            if found is not None:
                log.info(
                    "alert %s was posted by an unrecorded attempt: %s", alert.alert_id, found,
                    extra=context(alert),
                )  # fmt: skip
                self.stats.recovered += 1
                return found
        return await sink.deliver(alert, parent)

    async def _give_up_after(self, item: QueuedAlert, destination: str, reason: str) -> None:
        """Count a failed attempt; past the limit the entry goes to the dead letters."""
        attempts = await self._queue.failed_attempt(item.message_id)
        if attempts >= self._max_deliveries:
            await self._dead_letter(item, destination, f"gave up after {attempts} tries: {reason}")

    async def _failed(self, destination: str, error: str) -> None:
        """Record a failed delivery; the one that starts the destination's outage logs it."""
        if await self._queue.record_failure(destination, error, self._wall_clock()):
            log.warning(
                "delivery to %s is failing: %s (alerts wait in the queue)", destination, error,
                extra={"destination": destination},
            )  # fmt: skip

    async def _unreachable(self, item: QueuedAlert, destination: str, reason: str) -> None:
        """A user's direct messages that cannot be delivered: pause the destination; the alert
        that found it goes to the dead letters, the later ones are dropped unsent."""
        if await self._queue.pause(destination, reason, self._wall_clock()):
            log.warning(
                "direct messages to %s cannot be delivered: %s (their follows are paused "
                "until they follow again; later alerts are dropped)", destination, reason,
                extra={"destination": destination},
            )  # fmt: skip
            await self._dead_letter(item, destination, reason)
        else:  # paused meanwhile by another attempt
            await self._queue.ack(item.message_id)
            self.stats.dropped += 1

    async def _dead_letter(self, item: QueuedAlert, destination: str, reason: str) -> None:
        """Set the entry aside in the dead letters (``peacewatch deadletters`` lists them)."""
        await self._queue.dead_letter(item, reason)
        self.stats.dead += 1
        metrics.ALERTS_DEAD.inc()
        alert_id = item.alert.alert_id if item.alert is not None else f"entry {item.message_id}"
        log.warning(
            "alert %s to %s set aside as a dead letter: %s",
            alert_id, destination or "(unknown destination)", reason,
            extra={"alert_id": alert_id, "destination": destination}
            | (context(item.alert) if item.alert is not None else {}),
        )  # fmt: skip
