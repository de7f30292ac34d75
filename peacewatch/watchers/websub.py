"""WebSub for feeds that advertise a hub: subscribe, renew, move and end subscriptions.

A poll that reads a feed advertising a hub (:class:`~peacewatch.watchers.poller.PollResult`
``websub``) leads to a subscription request, when a public base URL is configured: the callback
is ``PUBLIC_URL/websub/TOKEN``, TOKEN unguessable and new for each subscription, and the hub
gets a secret of our own to sign what it pushes. The hub's checks of intent and its pushes are
answered by :class:`~peacewatch.watchers.websub_callback.Callbacks`, which :class:`WebSub`
extends. :meth:`WebSub.maintain` renews leases before they expire, retries refused or
unanswered requests and unsubscribes feeds that were removed. Polling goes on for every feed: a
push only brings new items sooner.

Several replicas share the subscriptions in Redis; a short claim per feed makes one of them send
a given request, and any of them can answer the hub's checks and pushes. A subscription keeps
the callback it was made with, and every request about it carries that callback, whichever
replica sends it: replicas with public URLs of their own never give a hub a second callback for
one feed. A replica moves a subscription to its own callback only when the stored one no longer
reaches us: the hub took a request for it and never checked it (:meth:`WebSub._moves`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from peacewatch.errors import FeedError
from peacewatch.store.websub import Subscription, SubscriptionStore
from peacewatch.watchers.guard import redact_url, url_origin
from peacewatch.watchers.poller import Poller, PollResult
from peacewatch.watchers.websub_callback import Answer, Callbacks, subscribable
from peacewatch.watchers.websub_hub import HubClient
from peacewatch.watchers.websub_proto import Discovery, renew_at

__all__ = ["CALLBACK_PREFIX", "Answer", "WebSub"]

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "/websub/"
DEFAULT_LEASE = timedelta(days=10)
"""The lease asked for; the hub decides, and says so when it verifies."""
PENDING_TIMEOUT = timedelta(hours=1)
"""A request the hub has not verified by then is sent again (or, to unsubscribe, dropped)."""
RETRY_AFTER = timedelta(minutes=15)
"""A request the hub refused or that could not be sent is tried again this much later."""


class WebSub(Callbacks):
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
        super().__init__(store, poller, max_push_bytes=max_push_bytes, lease=lease, clock=clock)
        self._client = client
        self._base = public_url.rstrip("/")

    def callback(self, token: str) -> str:
        """This replica's callback URL for ``token``."""
        return f"{self._base}{CALLBACK_PREFIX}{token}"

    def callback_of(self, sub: Subscription) -> str:
        """The callback ``sub`` was made with (this replica's, for one stored before
        callbacks were kept: replicas then shared one public URL)."""
        return sub.callback or self.callback(sub.token)

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

    async def subscribe(self, feed_id: str, found: Discovery, due: str | None = None) -> None:
        """Ask ``found.hub`` to push ``found.topic`` to us. A feed already subscribed there
        keeps its callback and secret (a renewal, whichever replica sends it); one that moved
        hub or topic, or whose callback no longer reaches us (:meth:`_moves`), gets new ones,
        and its old subscription is ended (at its own callback). ``due``: the token of the
        subscription an upkeep round found due; nothing is sent unless, read again under the
        feed's claim, it is still the feed's and still due (another replica may have renewed
        it since that round read it)."""
        claim = await self._store.claim(feed_id)
        if claim is None:
            return  # another replica is sending this feed's request now
        try:
            now = self._now()
            current = await self._store.for_feed(feed_id)
            if due is not None and (
                current is None or current.token != due or not _due(current, now)
            ):
                return
            same = current is not None and (current.hub, current.topic) == (found.hub, found.topic)
            if current is not None and same and not self._moves(current, now):
                old = None
                sub = await self._store.update(
                    current, pending="subscribe", requested_at=now,
                    callback=self.callback_of(current),  # kept from now on, if it was not
                )  # fmt: skip
            else:
                old = current
                if current is not None and same:
                    log.warning(
                        "feed %s: the hub never checked the WebSub callback at %s; the "
                        "subscription moves to %s", feed_id, url_origin(self.callback_of(current)),
                        url_origin(self._base), extra={"feed_id": feed_id},
                    )  # fmt: skip
                token = secrets.token_urlsafe(32)
                sub = Subscription(
                    feed_id, token, found.hub, found.topic, secrets.token_hex(32), "pending",
                    "subscribe", requested_at=now, callback=self.callback(token),
                )  # fmt: skip
                await self._store.put(sub)  # first: a hub may verify before it answers
            await self._request(sub, "subscribe")
            if old is not None:
                await self._end(old)
        finally:
            await self._store.release(feed_id, claim)

    def _moves(self, sub: Subscription, now: float) -> bool:
        """Whether this replica moves ``sub`` to a callback of its own: its stored callback is
        another address that no longer reaches any replica, as the hub shows it: the hub took
        the last request for it but never checked it there within ``PENDING_TIMEOUT``, or
        (a hub that checks before it answers, and refuses when the check fails) it has not
        verified it since the lease's renewal time plus ``PENDING_TIMEOUT``. A subscription the
        hub checks at its callback stays there, whatever this replica's address; one the hub
        denied was checked there."""
        if self.callback_of(sub) == self.callback(sub.token) or sub.state == "denied":
            return False
        limit = PENDING_TIMEOUT.total_seconds()
        if sub.pending == "subscribe" and now - sub.requested_at > limit:
            return True
        if sub.verified_at <= 0 or sub.retry_at <= 0:
            return False  # never verified (nothing to go by), or no request refused since
        verified = datetime.fromtimestamp(sub.verified_at, UTC)
        return now - renew_at(verified, sub.lease_seconds).timestamp() > limit

    async def _request(self, sub: Subscription, mode: str) -> bool:
        """Send ``mode`` for ``sub``; on failure record when to try again. True if the hub
        took the request."""
        form = {
            "hub.mode": mode,
            "hub.topic": sub.topic,
            "hub.callback": self.callback_of(sub),
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
        if subscribable(await self._store.feed(feed_id)):
            return  # still there (added again, or removed from one team only)
        claim = await self._store.claim(feed_id)
        if claim is not None:
            try:
                await self._end(sub)
            finally:
                await self._store.release(feed_id, claim)

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
        elif not subscribable(await self._store.feed(sub.feed_id)):
            await self.forget(sub.feed_id)
        elif await self._superseded(sub):
            return
        elif _due(sub, now):
            await self.subscribe(sub.feed_id, Discovery(sub.hub, sub.topic), due=sub.token)

    async def _superseded(self, sub: Subscription) -> bool:
        """Whether another subscription of ``sub``'s feed replaced it (a move or a change of
        hub that stopped between storing the new one and ending the old one); such a one is
        ended now, under the feed's claim, at its own callback, and never renewed."""
        current = await self._store.for_feed(sub.feed_id)
        if current is None or current.token == sub.token:
            return False
        claim = await self._store.claim(sub.feed_id)
        if claim is not None:
            try:
                left = await self._store.get(sub.token)
                if left is not None and left.pending != "unsubscribe":
                    log.info("feed %s: ending a WebSub subscription another replaced",
                             sub.feed_id, extra={"feed_id": sub.feed_id})  # fmt: skip
                    await self._end(left)
            finally:
                await self._store.release(sub.feed_id, claim)
        return True

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
