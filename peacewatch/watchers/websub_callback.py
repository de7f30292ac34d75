"""Answer what hubs send to our WebSub callbacks: checks of intent and pushed content.

Any replica answers, at whatever address the hub reached it: a callback is found by the token at
the end of its URL, among the subscriptions shared in Redis. A check of intent
(:meth:`Callbacks.verify`) has its challenge echoed only for the topic we asked for and a
request still waiting for it. Pushed content (:meth:`Callbacks.receive`) must carry a valid
``X-Hub-Signature``; it is read by :meth:`Poller.push`, the same parsing, first-sighting check
and ingest as a poll, so an item pushed and then polled is queued once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from peacewatch import metrics
from peacewatch.store.feeds import FeedSpec
from peacewatch.store.websub import Subscription, SubscriptionStore
from peacewatch.watchers.guard import redact_url
from peacewatch.watchers.poller import Poller
from peacewatch.watchers.websub_proto import granted_lease, verify_signature

__all__ = ["DENIED_RETRY", "MAX_PUSHES", "Answer", "Callbacks", "subscribable"]

log = logging.getLogger(__name__)

DENIED_RETRY = timedelta(days=1)
"""A subscription the hub denied is asked for again this much later."""
MAX_PUSHES = 4
"""Pushes read at once (each is parsed in the parser pool, like a poll)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the callback route answers the hub."""

    status: int
    body: str = ""


class Callbacks:
    """The hub's requests to the callbacks of this deployment's subscriptions."""

    def __init__(
        self,
        store: SubscriptionStore,
        poller: Poller,
        *,
        max_push_bytes: int,
        lease: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._poller = poller
        self.max_push_bytes = max_push_bytes
        self._lease = lease
        self._clock = clock
        self._pushes = asyncio.Semaphore(MAX_PUSHES)

    def _now(self) -> float:
        return self._clock().timestamp()

    async def verify(self, token: str, params: Mapping[str, str]) -> Answer:
        """The hub's check of intent (GET on the callback). The challenge is echoed only for
        the topic this subscription asked for and the request it still waits for; anything
        else gets 404."""
        sub = await self._store.get(token)
        mode = params.get("hub.mode", "")
        topic = params.get("hub.topic", "")
        if sub is None:
            # Anyone can send these: not worth a warning each (the log would be theirs to fill).
            log.debug("WebSub %r check refused: unknown callback", mode[:20])
            return Answer(404)
        if topic != sub.topic:
            log.warning("feed %s: WebSub %r check refused: another topic", sub.feed_id,
                        mode[:20], extra={"feed_id": sub.feed_id})  # fmt: skip
            return Answer(404)
        if mode == "denied" and sub.pending == "subscribe":
            reason = params.get("hub.reason", "")
            for own in (sub.secret, sub.token):  # a hub may quote the request back
                reason = reason.replace(own, "***")
            log.warning(
                "feed %s: hub %s denied the WebSub subscription: %r; polling goes on",
                sub.feed_id, redact_url(sub.hub), reason[:200], extra={"feed_id": sub.feed_id},
            )  # fmt: skip
            retry = self._now() + DENIED_RETRY.total_seconds()
            await self._store.update(sub, state="denied", pending="", retry_at=retry)
            return Answer(200)
        if not mode or mode != sub.pending:
            log.warning("feed %s: WebSub %s check refused: not requested", sub.feed_id,
                        mode[:20] or "(no mode)", extra={"feed_id": sub.feed_id})  # fmt: skip
            return Answer(404)
        challenge = params.get("hub.challenge", "")
        if not challenge:
            return Answer(400, "hub.challenge is missing")
        if mode == "unsubscribe":
            await self._store.delete(sub)
            log.info("feed %s: WebSub subscription ended", sub.feed_id,
                     extra={"feed_id": sub.feed_id})  # fmt: skip
            return Answer(200, challenge)
        lease = _lease(params.get("hub.lease_seconds"), self._lease)
        if lease is None:
            return Answer(400, "hub.lease_seconds should be a positive whole number")
        await self._store.update(
            sub, state="active", pending="", verified_at=self._now(), lease_seconds=lease,
            retry_at=0.0,
        )  # fmt: skip
        log.info(
            "feed %s: WebSub subscription active at %s for %d s", sub.feed_id,
            redact_url(sub.hub), lease, extra={"feed_id": sub.feed_id},
        )  # fmt: skip
        await self._count()
        return Answer(200, challenge)

    async def push_target(self, token: str) -> Subscription | None:
        """The subscription a push to callback ``token`` is for, asked before its body is read:
        None (answer 404) when there is none, or it is not verified, being ended or past its
        lease. Raises redis errors."""
        sub = await self._store.get(token)
        if (
            sub is None
            or sub.state != "active"
            or sub.pending == "unsubscribe"
            or self._now() >= sub.expires_at
        ):
            metrics.WEBSUB_PUSHES.labels(result="unknown").inc()
            # Anyone can send these: DEBUG, so they cannot fill the log.
            log.debug("WebSub push refused: no active subscription at that callback")
            return None
        return sub

    async def receive(
        self, sub: Subscription, body: bytes, content_type: str | None, signature: str | None
    ) -> Answer:
        """Content the hub pushed for ``sub`` (from :meth:`push_target`): read like a poll when
        it is signed with the subscription's secret (403 when the signature is missing or
        wrong, 404 once the feed is gone). The body never reaches the log. Raises redis errors
        (the hub retries)."""
        if not verify_signature(sub.secret, body, signature):
            metrics.WEBSUB_PUSHES.labels(result="bad_signature").inc()
            method = (signature or "").partition("=")[0][:10] or "none"
            log.warning(
                "feed %s: WebSub push refused: %s signature (method %r, %d bytes)",
                sub.feed_id, "missing" if not signature else "bad", method, len(body),
                extra={"feed_id": sub.feed_id},
            )  # fmt: skip
            return Answer(403)
        feed = await self._store.feed(sub.feed_id)
        if feed is None or not subscribable(feed):
            metrics.WEBSUB_PUSHES.labels(result="unknown").inc()
            return Answer(404)
        async with self._pushes:
            result = await self._poller.push(feed, body, content_type)
        await self._store.update(sub, last_push=self._now())
        outcome = "accepted" if result.status == "ok" else "unreadable"
        metrics.WEBSUB_PUSHES.labels(result=outcome).inc()
        log.info(
            "feed %s: WebSub push, %d items, %d new", feed.id, result.items, result.new,
            extra={"feed_id": feed.id},
        )  # fmt: skip
        return Answer(204)

    async def _count(self) -> None:
        """Set the subscriptions gauge (by state) from the store."""
        states = Counter(sub.state for sub in await self._store.all())
        for state in ("pending", "active", "denied", "failed"):
            metrics.WEBSUB_SUBSCRIPTIONS.labels(state=state).set(states[state])


def subscribable(feed: FeedSpec | None) -> bool:
    """Whether ``feed`` may have a subscription: it exists and is an RSS or Atom feed (a page
    or a Telegram channel never has one, whatever its responses advertise)."""
    return feed is not None and feed.kind == "rss"


def _lease(raw: str | None, asked: timedelta) -> int | None:
    """The lease a hub granted (``hub.lease_seconds``; the one asked for when it says none),
    bounded by :func:`granted_lease`; None when it is not a positive whole number."""
    if raw is None or raw == "":
        return granted_lease(int(asked.total_seconds()))
    try:
        value = int(raw)
    except ValueError:  # also a number too long to convert
        return None
    return granted_lease(value) if value > 0 else None
