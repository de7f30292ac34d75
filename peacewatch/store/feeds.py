"""Feeds in Redis: their settings, HTTP validators, and health."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.pollbatch import WINDOW, PollBatch

HEALTH_CHUNK = 1_000
"""Feeds whose health one pipelined read asks for (``FeedStore.healths``)."""

MIN_TELEGRAM_INTERVAL = 60
"""Seconds; a Telegram channel's preview is never polled more often than this."""


@dataclass(frozen=True, slots=True)
class FeedSpec:
    id: str
    url: str
    interval: int = 600
    """Seconds between polls."""
    outlet: str = ""
    team_id: str = ""
    full_text: bool = False
    kind: str = "rss"
    """``rss`` (RSS or Atom), ``telegram`` (a channel's web preview), ``page`` (a page's items)."""
    selectors: tuple[tuple[str, str], ...] = ()
    """For a ``page``: CSS selectors by name (item, title, link, date) and its timezone."""

    def __post_init__(self) -> None:
        # Stored as JSON, the pairs come back as lists.
        object.__setattr__(self, "selectors", tuple((str(k), str(v)) for k, v in self.selectors))
        if self.kind == "telegram" and self.interval < MIN_TELEGRAM_INTERVAL:
            object.__setattr__(self, "interval", MIN_TELEGRAM_INTERVAL)


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None
    digest: str | None = None
    """SHA-256 of the last body read: the same body again is not parsed again (servers that
    send no ETag or Last-Modified)."""


@dataclass(frozen=True, slots=True)
class PollState:
    """What a poll reads of its feed before fetching (one pipeline)."""

    validators: Validators
    polled: bool
    """Whether the feed was ever read successfully (see ``FeedStore.has_polled``)."""


class FeedStore:
    """Feeds, their validators and health. A poll's lease read and its outcome go out through
    a :class:`~peacewatch.store.pollbatch.PollBatch`: those of polls under way at once share
    one round trip, sent ``window`` seconds after the first of them."""

    def __init__(self, redis: aioredis.Redis, window: float = WINDOW) -> None:
        self._redis = redis
        self._batch = PollBatch(redis, window)

    async def put(self, feed: FeedSpec) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.feeds_index(), feed.id)
            pipe.set(keys.feed(feed.id), json.dumps(asdict(feed)))
            await pipe.execute()

    async def remove(self, feed_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(keys.feeds_index(), feed_id)
            pipe.delete(keys.feed(feed_id), keys.feed_http(feed_id), keys.feed_health(feed_id))
            removed, *_ = await pipe.execute()
        return bool(removed)

    async def all(self) -> list[FeedSpec]:
        ids = sorted(await self._redis.smembers(keys.feeds_index()))
        if not ids:
            return []
        texts = await self._redis.mget([keys.feed(i) for i in ids])
        return [FeedSpec(**json.loads(t)) for t in texts if t]

    async def validators(self, feed_id: str) -> Validators:
        data = await self._redis.hgetall(keys.feed_http(feed_id))
        return Validators(
            data.get("etag") or None, data.get("last_modified") or None, data.get("digest") or None
        )

    async def set_validators(self, feed_id: str, validators: Validators) -> None:
        await self._redis.hset(keys.feed_http(feed_id), mapping=_validator_fields(validators))

    async def poll_state(self, feed_id: str) -> PollState:
        """The feed's validators and whether it was ever read, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.feed_http(feed_id))
            pipe.hexists(keys.feed_health(feed_id), "last_ok")
            data, polled = await pipe.execute()
        return _state(data, polled)

    async def lease_and_state(self, feed_id: str, owner: str, seconds: int) -> PollState | None:
        """``acquire_lease`` and, in the same round trip, ``poll_state``: None when another
        owner holds the lease (the state is then not read)."""
        reply = await self._batch.lease_and_state(feed_id, owner, seconds)
        if not reply[0]:
            return None
        _, etag, last_modified, digest, polled = reply
        validators = Validators(etag or None, last_modified or None, digest or None)
        return PollState(validators, bool(polled))

    async def has_polled(self, feed_id: str) -> bool:
        """Whether the feed was ever read successfully (its first poll only records items)."""
        return bool(await self._redis.hexists(keys.feed_health(feed_id), "last_ok"))

    async def record_ok(
        self,
        feed_id: str,
        at: datetime,
        items: int,
        new: int,
        garbled: int = 0,
        checked: int = 0,
        validators: Validators | None = None,
    ) -> None:
        """A poll that read the feed: ``items`` entries, ``new`` of them new; ``garbled`` of the
        ``checked`` entries' texts looked like mojibake (kept until a later read says
        otherwise, with ``garbled_at``, the last poll that saw any). ``validators``, when
        given, are stored in the same round trip. Fields: last_poll, last_ok, last_new,
        garbled, garbled_checked, consecutive_failures (0), polls and items_seen (added to)."""
        fields = None if validators is None else _validator_values(validators)
        await self._batch.ok(feed_id, at.isoformat(), (new, garbled, checked, items), fields)

    async def record_not_modified(
        self, feed_id: str, at: datetime, validators: Validators | None = None
    ) -> None:
        """A poll that found nothing new to read; ``validators``, when given, are stored in the
        same round trip. Fields: last_poll, consecutive_failures (0), polls and not_modified
        (added to)."""
        fields = None if validators is None else _validator_values(validators)
        await self._batch.not_modified(feed_id, at.isoformat(), fields)

    async def record_error(self, feed_id: str, at: datetime, error: str) -> None:
        """A failed poll. Fields: last_poll, last_error, last_error_at, polls, failures and
        consecutive_failures (added to); the validators are left as they were."""
        await self._batch.error(feed_id, at.isoformat(), error[:500])

    async def health(self, feed_id: str) -> dict[str, str]:
        data: dict[str, str] = await self._redis.hgetall(keys.feed_health(feed_id))
        return data

    async def healths(self, feed_ids: Sequence[str]) -> list[dict[str, str]]:
        """``health`` of each feed, in order: a round trip for each ``HEALTH_CHUNK`` feeds
        rather than one a feed (10,000 feeds took a second of the bot's CPU a read)."""
        out: list[dict[str, str]] = []
        for at in range(0, len(feed_ids), HEALTH_CHUNK):
            async with self._redis.pipeline(transaction=False) as pipe:
                for feed_id in feed_ids[at : at + HEALTH_CHUNK]:
                    pipe.hgetall(keys.feed_health(feed_id))
                out += await pipe.execute()
        return out

    async def release_lease(self, feed_id: str) -> None:
        await self._redis.delete(keys.feed_lease(feed_id))

    async def acquire_lease(self, feed_id: str, owner: str, seconds: int) -> bool:
        """One replica polls a feed per interval: the lease expires by itself."""
        return bool(await self._redis.set(keys.feed_lease(feed_id), owner, nx=True, ex=seconds))


def _validator_fields(validators: Validators) -> dict[str, str]:
    return {
        "etag": validators.etag or "",
        "last_modified": validators.last_modified or "",
        "digest": validators.digest or "",
    }


def _validator_values(validators: Validators) -> tuple[str, str, str]:
    return validators.etag or "", validators.last_modified or "", validators.digest or ""


def _state(data: dict[str, str], polled: object) -> PollState:
    validators = Validators(
        data.get("etag") or None, data.get("last_modified") or None, data.get("digest") or None
    )
    return PollState(validators, bool(polled))
