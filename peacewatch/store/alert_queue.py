"""The alert queue: a Redis Stream with a consumer group, a dead-letter stream, and
idempotency records so that a redelivered alert is never posted twice."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from peacewatch.models import Alert
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json, alert_to_json

GROUP = "dispatchers"
_RENEW_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_DELETE_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


@dataclass(frozen=True, slots=True)
class QueuedAlert:
    message_id: str
    alert: Alert | None
    """None when the entry could not be decoded (it goes to the dead-letter stream)."""
    raw: str
    deliveries: int = 1


class AlertQueue:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._stream = keys.alert_stream()
        self._group_ready = False
        self._claim_cursor = "0-0"

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
        message_id: str = await self._redis.xadd(self._stream, {"alert": alert_to_json(alert)})
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

    async def lock_sending(self, alert_id: str, owner: str, ms: int) -> bool:
        """Only one dispatcher may post an alert at a time (two replicas, a slow sink)."""
        return bool(await self._redis.set(keys.sending(alert_id), owner, nx=True, px=ms))

    async def renew_sending(self, alert_id: str, owner: str, ms: int) -> bool:
        """Extend the lock while ``owner`` still holds it; False when it was lost."""
        return bool(await self._redis.eval(_RENEW_IF_OWNER, 1, keys.sending(alert_id), owner, ms))

    async def unlock_sending(self, alert_id: str, owner: str) -> None:
        """Release the lock if ``owner`` holds it (an expired lock may be another's now)."""
        await self._redis.eval(_DELETE_IF_OWNER, 1, keys.sending(alert_id), owner)

    async def start_delivery(self, alert_id: str, at: float, ttl_seconds: int) -> float | None:
        """Note that posting ``alert_id`` begins at ``at`` (epoch seconds). Returns when an
        earlier attempt began if one did (its post may have reached the platform), else None."""
        key = keys.delivery_started(alert_id)
        if await self._redis.set(key, repr(at), nx=True, ex=ttl_seconds):
            return None
        value = await self._redis.get(key)
        try:
            return float(value) if value is not None else at
        except ValueError:
            return at

    async def dead_letter(self, item: QueuedAlert, reason: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                keys.alert_dead_letter(),
                {"alert": item.raw, "reason": reason[:500], "message_id": item.message_id},
                maxlen=10_000,
                approximate=True,
            )
            pipe.xack(self._stream, GROUP, item.message_id)
            pipe.hdel(keys.delivery_attempts(), item.message_id, f"wait:{item.message_id}")
            await pipe.execute()

    async def delivered_ref(self, alert_id: str) -> str | None:
        """The message reference of an alert already delivered, or None."""
        value: str | None = await self._redis.get(keys.delivered(alert_id))
        return value

    async def mark_delivered(self, alert_id: str, ref: str, ttl_seconds: int) -> None:
        """Record the delivery (and drop the mark that it was started)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.delivered(alert_id), ref, ex=ttl_seconds)
            pipe.delete(keys.delivery_started(alert_id))
            await pipe.execute()

    async def thread_ref(self, team_id: str, destination: str, story_id: str) -> str | None:
        value: str | None = await self._redis.get(keys.story_thread(team_id, destination, story_id))
        return value

    async def set_thread_ref(
        self, team_id: str, destination: str, story_id: str, ref: str, ttl_seconds: int
    ) -> None:
        await self._redis.set(
            keys.story_thread(team_id, destination, story_id), ref, ex=ttl_seconds
        )

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

    async def record_failure(self, destination: str, error: str) -> None:
        await self._redis.hset(keys.delivery_failures(), destination, error[:300])

    async def clear_failure(self, destination: str) -> None:
        await self._redis.hdel(keys.delivery_failures(), destination)

    async def failures(self) -> dict[str, str]:
        data: dict[str, str] = await self._redis.hgetall(keys.delivery_failures())
        return data
