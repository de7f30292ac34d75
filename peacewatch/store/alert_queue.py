"""The alert queue: a Redis Stream with a consumer group, a dead-letter stream, idempotency
records so that a redelivered alert is never posted twice, and each destination's outage.

The idempotency records (the sending lock, the delivery marks, a story's thread) are kept by
``peacewatch.store.delivery_marks.DeliveryMarks``, which ``AlertQueue`` extends."""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from peacewatch import metrics
from peacewatch.models import Alert
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json, alert_to_json
from peacewatch.store.delivery_marks import DeliveryMarks

GROUP = "dispatchers"
SCAN_LIMIT = 20_000
"""Entries a count of waiting alerts per destination reads at most (a long outage may queue
more; the count then says at least this many)."""
# A destination's failure: the first call for a destination that is not failing starts its
# outage (returns 1); later calls keep the start and update the error and the count.
_RECORD_FAILURE = """
-- ARGV[4] '1': the destination is paused (a user who cannot get direct messages); a paused one
-- stays paused until a success or a resume. Returns 1 when this starts the outage (ARGV[4] '0')
-- or the pause (ARGV[4] '1'), else 0.
local old = redis.call('hget', KEYS[1], ARGV[1])
local since = ARGV[3]
local count = 1
local fresh = 1
local paused = ARGV[4] == '1'
if old then
  local ok, data = pcall(cjson.decode, old)
  local was_paused = false
  if ok and type(data) == 'table' then
    since = data['since'] or since
    count = (tonumber(data['failures']) or 0) + 1
    was_paused = data['paused'] == 1
  end
  fresh = (paused and not was_paused) and 1 or 0
  paused = paused or was_paused
end
local record = {since = since, error = ARGV[2], failures = count}
if paused then record['paused'] = 1 end
redis.call('hset', KEYS[1], ARGV[1], cjson.encode(record))
return fresh
"""
# A success: ends the outage if there is one, returning what it was (nil when there was none).
_CLEAR_FAILURE = """
local old = redis.call('hget', KEYS[1], ARGV[1])
if old then redis.call('hdel', KEYS[1], ARGV[1]) end
return old
"""


@dataclass(frozen=True, slots=True)
class Outage:
    """A destination whose last delivery failed: since when (epoch seconds, the first failure
    after its last success), the last error, and how many failures since then."""

    since: float
    error: str
    failures: int
    paused: bool = False
    """A user's direct messages that cannot be delivered until the user acts (gone, blocking
    the bot): not an outage of the platform; nothing is sent there until a follow again."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An alert set aside: its entry id in the dead-letter stream, when (epoch seconds)."""

    entry_id: str
    alert_id: str
    destination: str
    reason: str
    at: float
    raw: str


def entry_time(entry_id: str) -> float:
    """The epoch seconds a stream entry id was made at (its millisecond part)."""
    millis, _, _ = entry_id.partition("-")
    try:
        return int(millis) / 1000
    except ValueError:
        return 0.0


def _outage(text: str) -> Outage:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):  # written by an older version: the error text alone
        return Outage(0.0, text, 1)
    try:
        since = float(data.get("since") or 0)
    except (TypeError, ValueError):
        since = 0.0
    failures = int(data.get("failures") or 1)
    return Outage(since, str(data.get("error", "")), failures, data.get("paused") == 1)


def _destination(fields: dict[str, str]) -> str:
    """The destination of a stream entry: its own field, else read from the alert JSON."""
    if fields.get("destination"):
        return fields["destination"]
    try:
        data = json.loads(fields.get("alert", ""))
    except ValueError:
        return ""
    return str(data.get("destination", "")) if isinstance(data, dict) else ""


@dataclass(frozen=True, slots=True)
class QueuedAlert:
    message_id: str
    alert: Alert | None
    """None when the entry could not be decoded (it goes to the dead-letter stream)."""
    raw: str
    deliveries: int = 1


class AlertQueue(DeliveryMarks):
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._stream = keys.alert_stream()
        self._group_ready = False
        self._claim_cursor = "0-0"
        self._record_failure = redis.register_script(_RECORD_FAILURE)
        self._clear_failure = redis.register_script(_CLEAR_FAILURE)

    @property
    def redis(self) -> aioredis.Redis:
        return self._redis

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def enqueue(self, alert: Alert) -> str:
        message_id: str = await self._redis.xadd(
            self._stream, {"alert": alert_to_json(alert), "destination": str(alert.destination)}
        )
        metrics.ALERTS_QUEUED.labels(severity=alert.severity.value).inc()
        return message_id

    async def trim(self, now_ms: int, keep_ms: int = 7 * 86_400_000) -> int:
        """Drop acknowledged entries older than ``keep_ms``; never one still pending (an alert
        waiting out an outage is kept however long it waits)."""
        await self.ensure_group()
        minid = (now_ms - keep_ms, 0)
        pending = await self._redis.xpending(self._stream, GROUP)
        if pending and pending.get("pending") and pending.get("min"):
            millis, _, seq = str(pending["min"]).partition("-")
            minid = min(minid, (int(millis), int(seq or 0)))
        return int(
            await self._redis.xtrim(self._stream, minid=f"{minid[0]}-{minid[1]}", approximate=False)
        )

    def _decode(self, message_id: str, fields: dict[str, str], deliveries: int = 1) -> QueuedAlert:
        raw = fields.get("alert", "")
        try:
            alert: Alert | None = alert_from_json(raw)
        except (ValueError, KeyError, TypeError):
            alert = None
        return QueuedAlert(message_id, alert, raw, deliveries)

    async def read(
        self, consumer: str, count: int = 50, block_ms: int | None = None
    ) -> list[QueuedAlert]:
        """New entries for this consumer (blocking up to ``block_ms`` when given)."""
        await self.ensure_group()
        reply = await self._redis.xreadgroup(
            GROUP, consumer, {self._stream: ">"}, count=count, block=block_ms
        )
        out = []
        for _stream, entries in reply or []:
            for message_id, fields in entries:
                if fields is not None:
                    out.append(self._decode(message_id, fields))
        return out

    async def claim_stale(
        self, consumer: str, min_idle_ms: int, count: int = 50
    ) -> list[QueuedAlert]:
        """Pending entries idle longer than ``min_idle_ms`` (a crashed consumer's, or ones left
        for a retry), now owned by ``consumer``."""
        await self.ensure_group()
        reply = await self._redis.xautoclaim(
            self._stream,
            GROUP,
            consumer,
            min_idle_time=min_idle_ms,
            start_id=self._claim_cursor,
            count=count,
        )
        # go on from where this round stopped, so entries behind a blocked batch get their turn
        self._claim_cursor = str(reply[0]) if reply and reply[0] else "0-0"
        entries = reply[1] if len(reply) > 1 else []
        if not entries:
            return []
        pending = await self._redis.xpending_range(
            self._stream, GROUP, min=entries[0][0], max=entries[-1][0], count=len(entries) * 2
        )
        times = {p["message_id"]: int(p["times_delivered"]) for p in pending}
        return [
            self._decode(mid, fields, times.get(mid, 1))
            for mid, fields in entries
            if fields is not None
        ]

    async def ack(self, message_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, message_id)
            pipe.hdel(keys.delivery_attempts(), message_id, f"wait:{message_id}")
            await pipe.execute()

    async def failed_attempt(self, message_id: str) -> int:
        """Count one failed delivery of an entry; returns how many it has had."""
        return int(await self._redis.hincrby(keys.delivery_attempts(), message_id, 1))

    async def waited(self, message_id: str) -> int:
        """Count one round an entry was held back on purpose (not a failure)."""
        return int(await self._redis.hincrby(keys.delivery_attempts(), f"wait:{message_id}", 1))

    async def dead_letter(self, item: QueuedAlert, reason: str) -> None:
        destination = str(item.alert.destination) if item.alert is not None else ""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                keys.alert_dead_letter(),
                {
                    "alert": item.raw,
                    "reason": reason[:500],
                    "message_id": item.message_id,
                    "destination": destination,
                },
                maxlen=10_000,
                approximate=True,
            )
            pipe.xack(self._stream, GROUP, item.message_id)
            pipe.hdel(keys.delivery_attempts(), item.message_id, f"wait:{item.message_id}")
            await pipe.execute()

    async def depth(self) -> dict[str, int]:
        """Entries in the stream, pending (delivered, not acknowledged), and dead letters."""
        await self.ensure_group()
        length = await self._redis.xlen(self._stream)
        pending = await self._redis.xpending(self._stream, GROUP)
        dead = await self._redis.xlen(keys.alert_dead_letter())
        lag = 0
        for group in await self._redis.xinfo_groups(self._stream):
            if group.get("name") == GROUP:
                lag = int(group.get("lag") or 0)
        return {
            "stream": int(length),
            "pending": int(pending.get("pending", 0)),
            "undelivered": lag,
            "dead": int(dead),
        }

    async def record_failure(self, destination: str, error: str, at: float) -> bool:
        """Note a failed delivery to ``destination`` at ``at`` (epoch seconds). True when this
        starts its outage (it was not failing): exactly one caller, whatever the replicas."""
        started = await self._record_failure(
            keys=[keys.delivery_failures()], args=[destination, error[:300], repr(at), "0"]
        )
        return bool(started)

    async def pause(self, destination: str, error: str, at: float) -> bool:
        """Note that a user's direct messages (``destination``) cannot be delivered until the
        user acts; True when this starts the pause (exactly one caller)."""
        started = await self._record_failure(
            keys=[keys.delivery_failures()], args=[destination, error[:300], repr(at), "1"]
        )
        return bool(started)

    async def paused(self, destination: str) -> Outage | None:
        """The pause of ``destination``, or None when it is not paused."""
        raw = await self._redis.hget(keys.delivery_failures(), destination)
        outage = _outage(str(raw)) if raw else None
        return outage if outage is not None and outage.paused else None

    async def resume(self, destination: str) -> bool:
        """End the pause of ``destination`` (its next alert is tried again); True if it was
        paused. An outage that is not a pause is left alone."""
        if await self.paused(destination) is None:
            return False
        await self._clear_failure(keys=[keys.delivery_failures()], args=[destination])
        return True

    async def clear_failure(self, destination: str) -> Outage | None:
        """Note a delivery to ``destination``; returns the outage this ends, if it was failing
        (to exactly one caller)."""
        old = await self._clear_failure(keys=[keys.delivery_failures()], args=[destination])
        return _outage(str(old)) if old else None

    async def failures(self) -> dict[str, str]:
        """Failing destinations and their last error."""
        return {d: o.error for d, o in (await self.outages()).items()}

    async def outages(self) -> dict[str, Outage]:
        """Failing destinations: since when, last error, failures."""
        data: dict[str, str] = await self._redis.hgetall(keys.delivery_failures())
        return {destination: _outage(text) for destination, text in data.items()}

    async def waiting_by_destination(self, limit: int = SCAN_LIMIT) -> dict[str, int]:
        """Alerts not delivered yet (pending in a dispatcher or not read), per destination.
        Reads at most ``limit`` entries."""
        await self.ensure_group()
        ids: list[str] = []
        start = "-"
        while len(ids) < limit:
            page = await self._redis.xpending_range(
                self._stream, GROUP, min=start, max="+", count=min(1000, limit - len(ids))
            )
            if not page:
                break
            ids.extend(str(p["message_id"]) for p in page)
            start = "(" + ids[-1]
        entries: list[tuple[str, dict[str, str]]] = []
        for chunk in range(0, len(ids), 500):
            async with self._redis.pipeline(transaction=False) as pipe:
                for mid in ids[chunk : chunk + 500]:
                    pipe.xrange(self._stream, mid, mid, count=1)
                for found in await pipe.execute():
                    entries.extend(found)
        last = "0-0"
        for group in await self._redis.xinfo_groups(self._stream):
            if group.get("name") == GROUP:
                last = str(group.get("last-delivered-id") or "0-0")
        start = "(" + last
        while len(entries) < limit:
            page = await self._redis.xrange(
                self._stream, min=start, max="+", count=min(1000, limit - len(entries))
            )
            if not page:
                break
            entries.extend(page)
            start = "(" + str(page[-1][0])
        counts: dict[str, int] = {}
        for _mid, fields in entries:
            destination = _destination(fields or {})
            counts[destination] = counts.get(destination, 0) + 1
        return counts

    async def dead_letters(self) -> list[DeadLetter]:
        """Alerts set aside, oldest first."""
        out = []
        for entry_id, fields in await self._redis.xrange(keys.alert_dead_letter()):
            raw = fields.get("alert", "")
            try:
                alert_id = str(json.loads(raw).get("alert_id", ""))
            except (ValueError, AttributeError):
                alert_id = ""
            out.append(
                DeadLetter(
                    str(entry_id), alert_id, _destination(fields), fields.get("reason", ""),
                    entry_time(str(entry_id)), raw,
                )
            )  # fmt: skip
        return out

    async def requeue_dead(self, letter: DeadLetter) -> str:
        """Put a dead letter's alert back on the queue (its delivery record still stops a
        second post). Returns the new entry id. Raises ValueError for an undecodable entry."""
        alert = alert_from_json(letter.raw)  # ValueError, KeyError, TypeError when broken
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self._stream, {"alert": letter.raw, "destination": str(alert.destination)})
            pipe.xdel(keys.alert_dead_letter(), letter.entry_id)
            added, _ = await pipe.execute()
        return str(added)

    async def drop_dead(self, entry_ids: list[str]) -> int:
        """Delete dead letters; returns how many were there."""
        if not entry_ids:
            return 0
        return int(await self._redis.xdel(keys.alert_dead_letter(), *entry_ids))
