"""The marks of an alert's delivery: the sending lock (owned, renewed while a post runs), the
note that a post began and the delivery record, which keep it from being posted twice, and each
story's thread in a destination."""

from __future__ import annotations

import redis.asyncio as aioredis

from peacewatch.store import keys

_RENEW_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_DELETE_IF_OWNER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


class DeliveryMarks:
    """An alert's delivery marks in Redis, kept beside the alert queue's stream
    (``peacewatch.store.alert_queue.AlertQueue`` extends this class)."""

    _redis: aioredis.Redis

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
