"""WebSub subscriptions in Redis: one per feed, found by the token in its callback URL.

A subscription keeps everything a request about it needs (hub, topic, secret and the callback
URL it was made with), so any replica renews or ends it as it was made, whatever public URL that
replica has. A field added after a subscription was written takes its default when read.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Literal

import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.feeds import FeedSpec

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
"""Delete a claim only while it is still the caller's (compare-and-delete)."""

State = Literal["pending", "active", "denied", "failed"]
Pending = Literal["", "subscribe", "unsubscribe"]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A feed's subscription at its hub. Times are epoch seconds (0: never)."""

    feed_id: str
    token: str
    """The unguessable last part of the callback URL; it names the subscription."""
    hub: str
    topic: str
    secret: str
    """The HMAC key given to the hub; pushed content must be signed with it."""
    state: State = "pending"
    """``pending`` until the hub first verifies it, then ``active``; ``denied`` by the hub;
    ``failed`` when the hub refused or could not be reached (retried at ``retry_at``)."""
    pending: Pending = ""
    """The request the hub has yet to verify; a challenge for anything else is refused."""
    requested_at: float = 0.0
    verified_at: float = 0.0
    lease_seconds: int = 0
    retry_at: float = 0.0
    last_push: float = 0.0
    callback: str = ""
    """The callback URL given to the hub (``PUBLIC_URL/websub/TOKEN``); every request about
    the subscription carries it. Empty in a subscription stored before it was kept: its
    callback is then the one of the replica that reads it (replicas shared one public URL)."""

    @property
    def expires_at(self) -> float:
        return self.verified_at + self.lease_seconds if self.verified_at else 0.0

    def to_hash(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items()}

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Subscription | None:
        """The subscription a stored hash holds; None when a field without a default is missing
        (a half-written or foreign hash) or a value does not convert. A field with a default
        that the hash lacks (it was written before the field existed) takes its default."""
        try:
            values: dict[str, object] = {}
            for item in fields(cls):
                raw = data.get(item.name)
                if raw is None:
                    if item.default is MISSING:
                        return None
                    continue
                values[item.name] = (
                    float(raw) if item.type == "float" else int(raw) if item.type == "int" else raw
                )
            return cls(**values)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return None


class SubscriptionStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._release = redis.register_script(_RELEASE)

    async def get(self, token: str) -> Subscription | None:
        data: dict[str, str] = await self._redis.hgetall(keys.websub_subscription(token))
        return Subscription.from_hash(data) if data else None

    async def for_feed(self, feed_id: str) -> Subscription | None:
        token = await self._redis.get(keys.websub_feed(feed_id))
        return await self.get(str(token)) if token else None

    async def all(self) -> list[Subscription]:
        found = []
        for token in sorted(await self._redis.smembers(keys.websub_subscriptions())):
            sub = await self.get(str(token))
            if sub is not None:
                found.append(sub)
            else:  # its hash is gone (deleted by another replica meanwhile)
                await self._redis.srem(keys.websub_subscriptions(), token)
        return found

    async def put(self, sub: Subscription) -> None:
        """Write ``sub`` and make it its feed's subscription."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.websub_subscription(sub.token))
            pipe.hset(keys.websub_subscription(sub.token), mapping=sub.to_hash())
            pipe.sadd(keys.websub_subscriptions(), sub.token)
            pipe.set(keys.websub_feed(sub.feed_id), sub.token)
            await pipe.execute()

    async def update(self, sub: Subscription, **changes: object) -> Subscription:
        """``sub`` with ``changes`` written (only those fields), unless it was deleted."""
        new = replace(sub, **changes)  # type: ignore[arg-type]
        mapping = {k: v for k, v in new.to_hash().items() if k in changes}
        key = keys.websub_subscription(sub.token)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(key)
            pipe.hset(key, mapping=mapping)
            existed, _ = await pipe.execute()
        if not existed:  # deleted meanwhile: leave no half record behind
            await self._redis.delete(key)
        return new

    async def delete(self, sub: Subscription) -> None:
        """Forget ``sub`` (and its feed's pointer to it, unless the feed has a newer one)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.websub_subscription(sub.token))
            pipe.srem(keys.websub_subscriptions(), sub.token)
            pipe.get(keys.websub_feed(sub.feed_id))
            *_, current = await pipe.execute()
        if current == sub.token:
            await self._redis.delete(keys.websub_feed(sub.feed_id))

    async def claim(self, feed_id: str, seconds: int = 60) -> str | None:
        """A claim on sending a request about the feed to its hub now (one replica at a time;
        the claim expires by itself): its token, to :meth:`release` it with, or None when
        another caller holds it."""
        token = secrets.token_hex(16)
        taken = await self._redis.set(keys.websub_claim(feed_id), token, nx=True, ex=seconds)
        return token if taken else None

    async def release(self, feed_id: str, token: str) -> bool:
        """Give up the claim ``token`` names; a claim that expired and was taken by another
        caller meanwhile is left alone. Whether the claim was still ours."""
        return bool(await self._release(keys=[keys.websub_claim(feed_id)], args=[token]))

    async def feed(self, feed_id: str) -> FeedSpec | None:
        """The feed a subscription belongs to; None once the feed was removed."""
        text = await self._redis.get(keys.feed(feed_id))
        return FeedSpec(**json.loads(text)) if text else None
