"""WebSub subscriptions keep the callback URL they were made with: replicas with public URLs of
their own renew and end a subscription at that callback (the hub holds one callback per feed);
one whose callback no longer answers moves, once, to a replica's own; and a subscription stored
before callbacks were kept still loads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from peacewatch.store import keys
from peacewatch.store.feeds import FeedSpec
from peacewatch.store.websub import SubscriptionStore
from peacewatch.watchers.websub_proto import Discovery
from tests.fakes.feed_server import FeedServer
from tests.fakes.websub_hub import FakeHub
from tests.helpers import SAMPLE_ITEMS, Clock, dated
from tests.test_websub import NOW, subscribed, websub_app, websub_rss
from tests.test_websub_replicas import post_push

FIRST = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
LATER = dated(SAMPLE_ITEMS[1:2], NOW - timedelta(minutes=30), timedelta(minutes=5))


@asynccontextmanager
async def feed_with_hub() -> AsyncIterator[tuple[FakeHub, str]]:
    """The test hub (it grants 1,000 s leases) and the URL of a feed that advertises it."""
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(FIRST, hub.url, url))
        yield hub, url


def callbacks(hub: FakeHub, mode: str) -> list[str]:
    return [request["hub.callback"] for request in hub.requests_for(mode)]


async def test_replicas_with_their_own_public_urls_renew_and_end_at_the_stored_callback(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    async with feed_with_hub() as (hub, url):
        async with (
            websub_app(redis_target, tmp_path / "a", clock) as (one, port_one),
            websub_app(redis_target, tmp_path / "b", clock) as (two, port_two),
        ):
            assert one.websub is not None and two.websub is not None
            assert port_one != port_two  # each replica is reached at an address of its own
            callback = await subscribed(one, hub, FeedSpec("ws1", url, interval=3600))
            assert callback.startswith(f"http://127.0.0.1:{port_one}/websub/")
            stored = await SubscriptionStore(redis_client).for_feed("ws1")
            assert stored is not None and stored.callback == callback

            # the lease is due for renewal; the other replica renews it, at the same callback
            clock.now = NOW + timedelta(seconds=801)
            await two.websub.maintain()
            await hub.wait_for(lambda: len(hub.verifications) == 2)
            assert callbacks(hub, "subscribe") == [callback, callback]
            assert hub.verifications[-1].echoed
            assert list(hub.subscriptions) == [callback]  # one callback at the hub
            await asyncio.gather(one.websub.maintain(), two.websub.maintain())
            assert len(hub.requests) == 2  # renewed: nothing due from either replica
            assert await hub.publish(url, websub_rss(LATER, hub.url, url)) == [204]  # once

            # the feed is removed; the other replica ends the subscription at its callback
            await two.feeds.remove("ws1")
            await two.websub.maintain()
            await hub.wait_for(lambda: not hub.subscriptions)
            assert callbacks(hub, "unsubscribe") == [callback]
            assert hub.verifications[-1].echoed


async def test_a_callback_that_no_longer_answers_moves_once_to_a_replicas_own(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="peacewatch.watchers")
    clock = Clock(NOW)
    store = SubscriptionStore(redis_client)
    async with feed_with_hub() as (hub, url):
        async with (
            websub_app(redis_target, tmp_path / "b", clock) as (two, port_two),
            websub_app(redis_target, tmp_path / "c", clock) as (three, port_three),
        ):
            assert two.websub is not None and three.websub is not None
            async with websub_app(redis_target, tmp_path / "a", clock) as (one, _):
                first = await subscribed(one, hub, FeedSpec("ws1", url, interval=3600))
            # the replica at the first address is gone, and nothing answers there any more

            clock.now = NOW + timedelta(seconds=801)
            await two.websub.maintain()  # the renewal goes to the stored callback ...
            await hub.wait_for(lambda: len(hub.verifications) == 2)
            assert callbacks(hub, "subscribe") == [first, first]
            assert hub.verifications[-1].status == 0  # ... where the hub's check is not answered
            clock.now = NOW + timedelta(seconds=801, minutes=59)
            await asyncio.gather(two.websub.maintain(), three.websub.maintain())
            assert len(hub.requests) == 2  # the hub may still check it

            # an hour on, unchecked: moved to the callback of the replica that sends the request,
            # once whichever replicas keep the subscriptions up, and the old callback is ended
            clock.now = NOW + timedelta(seconds=801, minutes=61)
            await asyncio.gather(two.websub.maintain(), three.websub.maintain())
            await hub.wait_for(lambda: len(hub.verifications) == 4)
            *_, moved = callbacks(hub, "subscribe")
            assert len(hub.requests_for("subscribe")) == 3
            assert moved.startswith((f"http://127.0.0.1:{port_two}/websub/",
                                     f"http://127.0.0.1:{port_three}/websub/"))  # fmt: skip
            assert callbacks(hub, "unsubscribe") == [first]
            assert hub.subscriptions[moved].secret != hub.subscriptions[first].secret
            (warning,) = [r.getMessage() for r in caplog.records if "moves to" in r.getMessage()]
            old_address, new_address = first.split("/websub/")[0], moved.split("/websub/")[0]
            assert f"at {old_address}; the subscription moves to {new_address}" in warning
            tokens = (first.rsplit("/", 1)[-1], moved.rsplit("/", 1)[-1])
            assert not any(token in caplog.text for token in tokens)
            current = await store.for_feed("ws1")
            assert current is not None and current.callback == moved
            assert current.state == "active" and current.pending == ""

            # it stays there: later rounds of both replicas ask nothing more
            clock.now += timedelta(minutes=2)
            await asyncio.gather(two.websub.maintain(), three.websub.maintain())
            assert len(hub.requests) == 4
            # the hub keeps the old callback until its lease ends, and nothing answers there;
            # the new one takes the push
            assert sorted(await hub.publish(url, websub_rss(LATER, hub.url, url))) == [0, 204]


async def test_a_hub_that_refuses_renewals_at_a_dead_callback_gets_a_replicas_own(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    # A hub that checks the callback before it answers refuses the renewal when nothing answers
    # there: the subscription stays "active" with no request pending, and still moves.
    clock = Clock(NOW)
    async with feed_with_hub() as (hub, url):
        async with websub_app(redis_target, tmp_path / "b", clock) as (two, port_two):
            assert two.websub is not None
            async with websub_app(redis_target, tmp_path / "a", clock) as (one, _):
                first = await subscribed(one, hub, FeedSpec("ws1", url, interval=3600))
            hub.refuse_with = 409
            # renewal due at 800 s: refused, tried again every 15 minutes at the stored callback
            for minutes in (0, 15, 30, 45, 58):
                clock.now = NOW + timedelta(seconds=801, minutes=minutes)
                await two.websub.maintain()
            assert callbacks(hub, "subscribe") == [first] * 5
            hub.refuse_with = None
            clock.now = NOW + timedelta(seconds=801, minutes=80)  # past renewal + an hour
            await two.websub.maintain()
            await hub.wait_for(lambda: sum(v.echoed for v in hub.verifications) == 2)
            *_, moved = callbacks(hub, "subscribe")
            assert moved.startswith(f"http://127.0.0.1:{port_two}/websub/")
            assert moved in hub.subscriptions and callbacks(hub, "unsubscribe") == [first]
            current = await SubscriptionStore(redis_client).for_feed("ws1")
            assert current is not None and current.callback == moved
            assert current.state == "active"


async def test_a_subscription_another_replaced_is_ended_never_renewed(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    # A move that stopped after storing the new subscription, before ending the old one: the
    # old one, still waiting for the hub's check an hour on, is ended at its own callback once.
    clock = Clock(NOW)
    store = SubscriptionStore(redis_client)
    async with feed_with_hub() as (hub, url):
        async with websub_app(redis_target, tmp_path, clock) as (app, _):
            assert app.websub is not None
            first = await subscribed(app, hub, FeedSpec("ws1", url, interval=3600))
            old = await store.for_feed("ws1")
            assert old is not None
            await store.update(old, pending="subscribe", requested_at=NOW.timestamp())
            newer = replace(old, token="n" * 43, secret="m" * 64, state="pending",
                            pending="subscribe", requested_at=NOW.timestamp() + 3600,
                            callback=first.rsplit("/", 1)[0] + "/" + "n" * 43)  # fmt: skip
            await store.put(newer)
            assert (await store.for_feed("ws1")) == newer
            for minutes in (61, 62, 63):
                clock.now = NOW + timedelta(minutes=minutes)
                await app.websub.maintain()
            assert callbacks(hub, "subscribe") == [first]  # the old one is never renewed
            assert callbacks(hub, "unsubscribe") == [first]  # ... but ended, once
            assert (await store.for_feed("ws1")) == newer


async def test_a_renewal_read_before_another_replica_renewed_it_is_not_sent_again(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    store = SubscriptionStore(redis_client)
    async with feed_with_hub() as (hub, url):
        async with (
            websub_app(redis_target, tmp_path / "a", clock) as (one, _),
            websub_app(redis_target, tmp_path / "b", clock) as (two, _),
        ):
            assert one.websub is not None and two.websub is not None
            await subscribed(one, hub, FeedSpec("ws1", url, interval=3600))
            clock.now = NOW + timedelta(seconds=801)
            read = await store.for_feed("ws1")  # what the other replica's round read
            assert read is not None
            await one.websub.maintain()
            await hub.wait_for(lambda: len(hub.verifications) == 2)
            # the other replica's round goes on with what it read: nothing is due any more
            await two.websub.subscribe("ws1", Discovery(read.hub, read.topic), due=read.token)
            assert len(hub.requests_for("subscribe")) == 2


OLD_FIELDS = (
    "feed_id", "token", "hub", "topic", "secret", "state", "pending", "requested_at",
    "verified_at", "lease_seconds", "retry_at", "last_push",
)  # fmt: skip
"""The fields a subscription was stored with before its callback was kept."""


async def test_a_subscription_stored_without_its_callback_loads_and_keeps_working(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    token, secret = "t" * 43, "s" * 64
    async with feed_with_hub() as (hub, url):
        async with websub_app(redis_target, tmp_path, clock) as (app, port):
            assert app.websub is not None
            await app.feeds.put(FeedSpec("ws1", url, interval=3600))
            # as the previous version wrote it: an active subscription, verified just now
            old = dict(zip(OLD_FIELDS, ("ws1", token, hub.url, url, secret, "active", "",
                                        str(NOW.timestamp()), str(NOW.timestamp()), "1000",
                                        "0.0", "0.0"), strict=True))  # fmt: skip
            await redis_client.hset(keys.websub_subscription(token), mapping=old)
            await redis_client.sadd(keys.websub_subscriptions(), token)
            await redis_client.set(keys.websub_feed("ws1"), token)

            store = SubscriptionStore(redis_client)
            sub = await store.get(token)
            assert sub is not None and sub.callback == ""
            assert (sub.feed_id, sub.hub, sub.topic, sub.secret) == ("ws1", hub.url, url, secret)
            assert (sub.state, sub.verified_at, sub.lease_seconds) == (
                "active", NOW.timestamp(), 1000,
            )  # fmt: skip
            assert [s.token for s in await store.all()] == [token]
            assert await app.websub.active_feeds() == {"ws1"}
            # pushes to it are read
            queued = await app.ingest.backlog()
            body = websub_rss(LATER, hub.url, url)
            assert await post_push(port, f"/websub/{token}", secret, body) == 204
            assert await app.ingest.backlog() == queued + 1

            # renewed at the callback of the replica that reads it, kept from then on
            clock.now = NOW + timedelta(seconds=801)
            await app.websub.maintain()
            await hub.wait_for(lambda: len(hub.verifications) == 1)
            callback = f"http://127.0.0.1:{port}/websub/{token}"
            assert callbacks(hub, "subscribe") == [callback]
            assert hub.requests[0]["hub.secret"] == secret and hub.verifications[0].echoed
            renewed = await store.get(token)
            assert renewed is not None and renewed.callback == callback
            assert renewed.verified_at == clock.now.timestamp()
