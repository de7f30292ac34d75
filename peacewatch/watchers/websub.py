"""WebSub for feeds that advertise a hub: subscribe, answer the hub's checks, take its pushes.

A poll that reads a feed advertising a hub (:class:`~peacewatch.watchers.poller.PollResult`
``websub``) leads to a subscription request, when a public base URL is configured: the callback
is ``PUBLIC_URL/websub/TOKEN``, TOKEN unguessable and new for each subscription, and the hub
gets a secret of our own to sign what it pushes. The hub then checks our intent with a GET to
the callback (:meth:`WebSub.verify`): its challenge is echoed only for the topic we asked for and
a request still waiting for it. Pushed content (:meth:`WebSub.receive`) must carry a valid
``X-Hub-Signature``; it is read by :meth:`Poller.push`, the same parsing, first-sighting check and
ingest as a poll, so an item pushed and then polled is queued once. :meth:`WebSub.maintain`
renews leases before they expire, retries refused or unanswered requests and unsubscribes feeds
that were removed. Polling goes on for every feed: a push only brings new items sooner.

Several replicas share the subscriptions in Redis; a short claim per feed makes one of them send
a given request, and any of them can answer the hub's checks and pushes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from peacewatch import metrics
from peacewatch.errors import FeedError
from peacewatch.store.feeds import FeedSpec
from peacewatch.store.websub import Subscription, SubscriptionStore
from peacewatch.watchers.guard import redact_url
from peacewatch.watchers.poller import Poller, PollResult
from peacewatch.watchers.websub_hub import HubClient
from peacewatch.watchers.websub_proto import (
    Discovery,
    granted_lease,
    renew_at,
    verify_signature,
)

__all__ = ["CALLBACK_PREFIX", "Answer", "WebSub"]

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "/websub/"
DEFAULT_LEASE = timedelta(days=10)
"""The lease asked for; the hub decides, and says so when it verifies."""
PENDING_TIMEOUT = timedelta(hours=1)
"""A request the hub has not verified by then is sent again (or, to unsubscribe, dropped)."""
RETRY_AFTER = timedelta(minutes=15)
"""A request the hub refused or that could not be sent is tried again this much later."""
DENIED_RETRY = timedelta(days=1)
MAX_PUSHES = 4
"""Pushes read at once (each is parsed in the parser pool, like a poll)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the callback route answers the hub."""

    status: int
    body: str = ""


class WebSub:
    """Subscriptions of this deployment; see the module's docstring."""

    def __init__(
        self,
        store: SubscriptionStore,
        poller: Poller,
        client: HubClient,
        public_url: str,
        *,
        max_push_bytes: int,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._poller = poller
        self._client = client
        self._base = public_url.rstrip("/")
        self.max_push_bytes = max_push_bytes
        self._lease = lease
        self._clock = clock
        self._pushes = asyncio.Semaphore(MAX_PUSHES)

    def callback(self, token: str) -> str:
        return f"{self._base}{CALLBACK_PREFIX}{token}"

    def _now(self) -> float:
        return self._clock().timestamp()

    # -- subscribing ---------------------------------------------------------------------------

    async def discovered(self, result: PollResult) -> None:
        """After a poll: subscribe a feed that advertises a hub, unless it already is (or is
        waiting for the hub) at that hub for that topic. Renewals and retries are
        :meth:`maintain`'s. Never raises for the hub's faults (they are logged)."""
        if result.status != "ok" or result.websub is None:
            return
        current = await self._store.for_feed(result.feed_id)
        found = result.websub
        if (
            current is not None
            and current.pending != "unsubscribe"
            and (current.hub, current.topic) == (found.hub, found.topic)
        ):
            return
        await self.subscribe(result.feed_id, found)

    async def subscribe(self, feed_id: str, found: Discovery) -> None:
        """Ask ``found.hub`` to push ``found.topic`` to us. A feed already subscribed there
        keeps its callback and secret (a renewal); one that moved hub or topic gets new ones,
        and its old subscription is ended."""
        claim = await self._store.claim(feed_id)
        if claim is None:
            return  # another replica is sending this feed's request now
        try:
            now = self._now()
            current = await self._store.for_feed(feed_id)
            if current is not None and (current.hub, current.topic) == (found.hub, found.topic):
                old = None
                sub = await self._store.update(current, pending="subscribe", requested_at=now)
            else:
                old = current
                sub = Subscription(
                    feed_id, secrets.token_urlsafe(32), found.hub, found.topic,
                    secrets.token_hex(32), "pending", "subscribe", requested_at=now,
                )  # fmt: skip
                await self._store.put(sub)  # first: a hub may verify before it answers
            await self._request(sub, "subscribe")
            if old is not None:
                await self._end(old)
        finally:
            await self._store.release(feed_id, claim)

    async def _request(self, sub: Subscription, mode: str) -> bool:
        """Send ``mode`` for ``sub``; on failure record when to try again. True if the hub
        took the request."""
        form = {
            "hub.mode": mode,
            "hub.topic": sub.topic,
            "hub.callback": self.callback(sub.token),
        }
        if mode == "subscribe":
            form["hub.secret"] = sub.secret
            form["hub.lease_seconds"] = str(int(self._lease.total_seconds()))
        hub = redact_url(sub.hub)
        try:
            answer = await self._client.send(sub.hub, form)
        except FeedError as exc:
            problem = str(exc)
        else:
            if answer.accepted:
                log.info(
                    "feed %s: WebSub %s request accepted by %s", sub.feed_id, mode, hub,
                    extra={"feed_id": sub.feed_id},
                )  # fmt: skip
                return True
            # The hub's own words are not logged: a hub may echo the request, secret and all.
            problem = f"hub answered {answer.status}"
        log.warning(
            "feed %s: WebSub %s request to %s failed (%s); polling goes on", sub.feed_id, mode,
            hub, problem, extra={"feed_id": sub.feed_id},
        )  # fmt: skip
        if mode == "subscribe":
            retry = self._now() + RETRY_AFTER.total_seconds()
            sub = await self._store.get(sub.token) or sub  # the hub may have verified meanwhile
            state = sub.state if sub.state == "active" else "failed"
            await self._store.update(sub, state=state, pending="", retry_at=retry)
        return False

    async def _end(self, sub: Subscription) -> None:
        """Unsubscribe ``sub`` if the hub may still push to it, else forget it."""
        if sub.state != "active":
            await self._store.delete(sub)
            return
        sub = await self._store.update(sub, pending="unsubscribe", requested_at=self._now())
        if not await self._request(sub, "unsubscribe"):
            await self._store.delete(sub)  # its lease runs out; pushes to it are refused

    async def forget(self, feed_id: str) -> None:
        """The feed was removed (or is no longer an RSS or Atom feed): unsubscribe it from its
        hub."""
        sub = await self._store.for_feed(feed_id)
        if sub is None or sub.pending == "unsubscribe":
            return
        if _subscribable(await self._store.feed(feed_id)):
            return  # still there (added again, or removed from one team only)
        claim = await self._store.claim(feed_id)
        if claim is not None:
            try:
                await self._end(sub)
            finally:
                await self._store.release(feed_id, claim)

    # -- the hub's requests --------------------------------------------------------------------

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
        if feed is None or not _subscribable(feed):
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

    # -- upkeep --------------------------------------------------------------------------------

    async def maintain(self) -> None:
        """Renew leases that are due, send again requests refused or never verified, end the
        subscriptions of removed feeds; count subscriptions by state for /metrics."""
        now = self._now()
        for sub in await self._store.all():
            try:
                await self._keep(sub, now)
            except asyncio.CancelledError:
                raise
            except Exception:  # one broken subscription never stops the others' upkeep
                log.exception("feed %s: WebSub upkeep failed", sub.feed_id,
                              extra={"feed_id": sub.feed_id})  # fmt: skip
        await self._count()

    async def _keep(self, sub: Subscription, now: float) -> None:
        if sub.pending == "unsubscribe":
            # ended (feed removed, or moved to another hub or topic): forgotten once its hub
            # had time to check, whether or not it ever did
            if now - sub.requested_at > PENDING_TIMEOUT.total_seconds():
                await self._store.delete(sub)
        elif not _subscribable(await self._store.feed(sub.feed_id)):
            await self.forget(sub.feed_id)
        elif _due(sub, now):
            await self.subscribe(sub.feed_id, Discovery(sub.hub, sub.topic))

    async def _count(self) -> None:
        """Set the subscriptions gauge (by state) from the store."""
        states = Counter(sub.state for sub in await self._store.all())
        for state in ("pending", "active", "denied", "failed"):
            metrics.WEBSUB_SUBSCRIPTIONS.labels(state=state).set(states[state])

    async def active_feeds(self) -> set[str]:
        """The feeds a hub pushes now: verified, lease not over, not being unsubscribed."""
        now = self._now()
        return {
            sub.feed_id
            for sub in await self._store.all()
            if sub.state == "active" and sub.pending != "unsubscribe" and now < sub.expires_at
        }

    async def run(self, every: float = 60.0) -> None:
        """:meth:`maintain` every ``every`` seconds until cancelled."""
        while True:
            try:
                await self.maintain()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round is logged; the next one tries again
                log.exception("WebSub upkeep failed")
            await asyncio.sleep(every)

    async def close(self) -> None:
        await self._client.close()


def _subscribable(feed: FeedSpec | None) -> bool:
    """Whether ``feed`` may have a subscription: it exists and is an RSS or Atom feed (a page
    or a Telegram channel never has one, whatever its responses advertise)."""
    return feed is not None and feed.kind == "rss"


def _due(sub: Subscription, now: float) -> bool:
    """Whether ``sub``'s subscription request should be sent (again) now."""
    if now < sub.retry_at:
        return False
    if sub.pending == "subscribe":
        return now - sub.requested_at > PENDING_TIMEOUT.total_seconds()
    if sub.pending == "unsubscribe":
        return False
    if sub.state == "active":
        verified = datetime.fromtimestamp(sub.verified_at, UTC)
        return now >= renew_at(verified, sub.lease_seconds).timestamp()
    return True  # failed or denied, and its retry time has come


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
