"""WebSub in one process against a local hub: subscribe, verify, pushes, renewal, unsubscribe."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from peacewatch import metrics
from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.cli.status import print_status, websub_lines
from peacewatch.http_server import HttpServer
from peacewatch.settings import Settings
from peacewatch.status import Status
from peacewatch.store import keys
from peacewatch.store.feeds import FeedSpec
from peacewatch.store.websub import Subscription, SubscriptionStore
from peacewatch.watchers.fetch import FetchLimits
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.websub import DEFAULT_LEASE
from peacewatch.watchers.websub_proto import MAX_LEASE_SECONDS, Discovery, sign
from tests.fakes.feed_server import FeedServer
from tests.fakes.websub_hub import FakeHub
from tests.helpers import SAMPLE_ITEMS, UNRELATED, Clock, dated, redis_url, rss

NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
PUSH_CAP = 64 * 1024


def websub_rss(items: list[dict[str, Any]], hub: str | None, self_url: str | None) -> bytes:
    """RSS that advertises ``hub`` and ``self_url`` with atom:link, as publishers do."""
    links = "".join(
        f'<atom:link rel="{rel}" href="{href}"/>'
        for rel, href in (("hub", hub), ("self", self_url))
        if href
    )
    return rss(items).replace(
        b'<rss version="2.0"><channel>',
        b'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>' + links.encode(),
    )


@asynccontextmanager
async def websub_app(
    target: dict[str, Any],
    data_dir: Path,
    clock: Clock,
    public: bool = True,
    public_url: str | None = None,
) -> AsyncIterator[tuple[App, int]]:
    """An App on the test Redis with the HTTP server serving its WebSub callbacks. The port is
    bound (port 0) before the public URL naming it is set, so no other process can take it.
    ``public_url``: another public URL (replicas behind one address share it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = int(sock.getsockname()[1])
    runner: web.AppRunner | None = None
    try:
        settings = Settings(
            PEACEWATCH_DATA_DIR=data_dir,
            REDIS_URL=redis_url(target),
            PEACEWATCH_PUBLIC_URL=(public_url or f"http://127.0.0.1:{port}/") if public else None,
        )
        app = await App.open(
            settings,
            sinks=[ConsoleSink(io.StringIO())],
            guard=GuardPolicy(allow_networks=("127.0.0.1/32",)),
            limits=FetchLimits(max_body_bytes=PUSH_CAP),
            clock=clock,
        )
        try:

            async def status() -> Status:
                raise AssertionError("not asked in these tests")

            http = HttpServer("127.0.0.1", port, status)
            if app.websub is not None:
                http.mount_websub(app.websub)
            runner = web.AppRunner(http.app, access_log=None)
            await runner.setup()
            await web.SockSite(runner, sock).start()  # the server's routes on the bound socket
            yield app, port
        finally:
            if runner is not None:
                await runner.cleanup()
            await app.close()
    finally:
        sock.close()


async def subscribed(app: App, hub: FakeHub, feed: FeedSpec) -> str:
    """Poll ``feed`` once, subscribe as the scheduler would, and wait for the hub's check;
    the callback URL."""
    await app.feeds.put(feed)
    result = await app.poller.poll(feed)
    assert result.status == "ok"
    assert app.websub is not None
    await app.websub.discovered(result)
    await hub.wait_for(lambda: bool(hub.active(feed.url)))
    (sub,) = hub.active(feed.url)
    return sub.callback


def pushes(result: str) -> float:
    return metrics.WEBSUB_PUSHES.labels(result=result)._value.get()


async def test_feed_with_a_hub_is_subscribed_and_renewed_before_its_lease_ends(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, clock) as (app, port):
            feed = FeedSpec("ws1", url, interval=3600)
            callback = await subscribed(app, hub, feed)
            assert app.websub is not None
            (request,) = hub.requests
            assert request["hub.mode"] == "subscribe" and request["hub.topic"] == url
            assert callback.startswith(f"http://127.0.0.1:{port}/websub/")
            assert len(callback.rsplit("/", 1)[1]) >= 40  # unguessable
            assert len(request["hub.secret"]) >= 32
            assert request["hub.lease_seconds"] == str(int(DEFAULT_LEASE.total_seconds()))
            # a poll that finds the same hub again asks nothing more
            await app.websub.discovered(await app.poller.poll(feed))
            assert len(hub.requests) == 1
            # renewed when 80% of the 1000 s lease has passed, not before
            clock.now = NOW + timedelta(seconds=799)
            await app.websub.maintain()
            assert len(hub.requests) == 1
            clock.now = NOW + timedelta(seconds=801)
            await app.websub.maintain()
            await hub.wait_for(lambda: len(hub.verifications) == 2)
            renewal = hub.requests[1]
            assert renewal["hub.mode"] == "subscribe"
            assert renewal["hub.callback"] == callback  # same callback and secret
            assert renewal["hub.secret"] == request["hub.secret"]
            assert hub.verifications[1].echoed
            # the renewal's check restarted the lease: nothing due until 80% of it again
            await app.websub.maintain()
            assert len(hub.requests) == 2


async def test_hub_in_the_link_header_is_found(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    body = rss(items)

    async def handler(request: web.Request) -> web.Response:
        links = f'<{hub.url}>; rel="hub", <{feeds.url("/canonical.xml")}>; rel="self"'
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml",
                                                "Link": links})  # fmt: skip

    async with FeedServer() as feeds, FakeHub() as hub:
        feeds.set_handler("/feed.xml", handler)
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, _):
            feed = FeedSpec("ws1", feeds.url("/feed.xml"), interval=3600)
            await app.feeds.put(feed)
            result = await app.poller.poll(feed)
    assert result.websub == Discovery(hub.url, feeds.url("/canonical.xml"))


async def test_pushed_content_is_ingested_only_with_a_valid_signature(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    first = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    later = dated(SAMPLE_ITEMS[1:], NOW - timedelta(minutes=30), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(first, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, _):
            feed = FeedSpec("ws1", url, interval=3600)
            await subscribed(app, hub, feed)
            queued = await app.ingest.backlog()
            assert queued == 1

            async def push(item: dict[str, Any], **how: Any) -> list[int]:
                return await hub.publish(url, websub_rss([item], hub.url, url), **how)

            rejected = pushes("bad_signature")
            assert await push(later[0], secret="not-the-secret") == [403]
            assert await push(later[0], signed=False) == [403]
            assert await push(later[0], method="md5") == [403]
            assert await app.ingest.backlog() == queued  # nothing of them was read
            assert pushes("bad_signature") == rejected + 3
            accepted = pushes("accepted")
            for item, method in zip(later, ("sha1", "sha384", "sha512"), strict=True):
                assert await push(item, method=method) == [204]
            assert await push(first[0]) == [204]  # already polled: not queued again
            assert await app.ingest.backlog() == queued + 3
            assert pushes("accepted") == accepted + 4
            big = websub_rss([{**UNRELATED, "published": NOW, "summary": "x" * PUSH_CAP}],
                             hub.url, url)  # fmt: skip
            assert await hub.publish(url, big) == [413]
            assert await app.ingest.backlog() == queued + 3


async def test_checks_the_subscriber_did_not_ask_for_are_refused(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, port):
            hub.auto_verify = False  # the subscription waits for its check meanwhile
            feed = FeedSpec("ws1", url, interval=3600)
            await app.feeds.put(feed)
            assert app.websub is not None
            await app.websub.discovered(await app.poller.poll(feed))
            (request,) = hub.held
            callback = request["hub.callback"]
            other = feeds.url("/other.xml")
            status, text, challenge = await hub.challenge(callback, "subscribe", other)
            assert (status, challenge in text) == (404, False)
            status, text, challenge = await hub.challenge(callback, "unsubscribe", url)
            assert (status, challenge in text) == (404, False)
            await hub.verify_held()  # the check it waits for is answered
            assert hub.verifications[-1].echoed and hub.active(url)
            # the subscription is verified: a second check of it is not waited for
            status, text, challenge = await hub.challenge(callback, "subscribe", url)
            assert (status, challenge in text) == (404, False)
            status, text, challenge = await hub.challenge(callback, "unsubscribe", url)
            assert (status, challenge in text) == (404, False)
            unknown = f"http://127.0.0.1:{port}/websub/{'x' * 43}"
            status, text, challenge = await hub.challenge(unknown, "subscribe", url)
            assert (status, challenge in text) == (404, False)
            # still subscribed, and pushes still go through
            assert await hub.publish(url, websub_rss(items, hub.url, url)) == [204]


async def test_removed_feed_is_unsubscribed_and_its_callback_closes(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, _):
            feed = FeedSpec("ws1", url, interval=3600)
            callback = await subscribed(app, hub, feed)
            app.scheduler.schedule(feed)
            await app.feeds.remove(feed.id)
            await app.sync_feeds()  # as after "feeds remove" in chat
            await hub.wait_for(lambda: not hub.active(url))
            (request,) = hub.requests_for("unsubscribe")
            assert request["hub.callback"] == callback and request["hub.topic"] == url
            assert hub.verifications[-1].echoed
            # the callback is gone: content signed with the old secret is refused
            async with aiohttp.ClientSession() as http:
                async with http.post(callback, data=b"<rss/>") as resp:
                    assert resp.status == 404


async def test_a_feed_that_moves_hub_is_subscribed_there_and_its_old_record_goes_in_time(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as old_hub, FakeHub() as new_hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, old_hub.url, url))
        async with websub_app(redis_target, tmp_path, clock) as (app, _):
            assert app.websub is not None
            feed = FeedSpec("ws1", url, interval=3600)
            await subscribed(app, old_hub, feed)
            # the publisher moves to another hub; the old one takes the unsubscribe request
            # but never checks it
            old_hub.auto_verify = False
            more = dated(SAMPLE_ITEMS[1:2], NOW - timedelta(minutes=5), timedelta(minutes=5))
            feeds.set_feed("/feed.xml", websub_rss(items + more, new_hub.url, url))
            await app.websub.discovered(await app.poller.poll(feed))
            await new_hub.wait_for(lambda: bool(new_hub.active(url)))
            assert len(old_hub.requests_for("unsubscribe")) == 1
            store = SubscriptionStore(redis_client)
            assert len(await store.all()) == 2
            assert await app.websub.active_feeds() == {"ws1"}
            clock.now = NOW + timedelta(minutes=59)
            await app.websub.maintain()
            assert len(await store.all()) == 2  # its hub may still check it
            clock.now = NOW + timedelta(minutes=61)
            await app.websub.maintain()
            (left,) = await store.all()
            assert left.hub == new_hub.url and left.state == "active"
            current = await store.for_feed("ws1")
            assert current is not None and current.token == left.token


async def test_no_public_url_means_no_subscription(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW), public=False) as (app, port):
            feed = FeedSpec("ws1", url, interval=3600)
            await app.feeds.put(feed)
            result = await app.poller.poll(feed)
            assert result.websub is not None  # the hub is seen ...
            assert app.websub is None and app.scheduler.on_result is None  # ... and left alone
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/websub/x") as resp:
                    assert resp.status == 404
    assert hub.requests == []


async def test_hub_the_url_guard_refuses_gets_no_request(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    # the guard allows 127.0.0.1 only (as for feeds): a hub on 127.0.0.2 is a refused address
    async with FeedServer() as feeds, FakeHub(host="127.0.0.2") as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, _):
            feed = FeedSpec("ws1", url, interval=3600)
            await app.feeds.put(feed)
            assert app.websub is not None
            await app.websub.discovered(await app.poller.poll(feed))
            sub = await SubscriptionStore(redis_client).for_feed(feed.id)
    assert hub.requests == []
    assert sub is not None and sub.state == "failed" and sub.retry_at > NOW.timestamp()


def poll_every(app: App, feed_id: str) -> float:
    """Seconds between the feed's scheduled polls (read from its APScheduler job)."""
    job = app.scheduler._scheduler.get_job(f"feed:{feed_id}")
    return float(job.trigger.interval.total_seconds())


async def test_pushed_feed_is_polled_less_often_until_its_subscription_ends(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, clock) as (app, _):
            feed = FeedSpec("ws1", url, interval=600)
            await app.feeds.put(feed)
            app.scheduler.start()
            app.scheduler.pause()  # jobs kept, none run
            app.scheduler.schedule(feed)
            await app.pace_pushed_feeds()
            assert poll_every(app, feed.id) == 600  # not subscribed yet
            await subscribed(app, hub, feed)
            await app.housekeeping()  # each minute's round paces the feeds
            assert poll_every(app, feed.id) == 3600  # pushed: polled, but 6 times less often
            clock.now = NOW + timedelta(seconds=1001)  # the lease ran out, never renewed
            await app.pace_pushed_feeds()
            assert poll_every(app, feed.id) == 600


async def test_request_the_hub_refused_is_sent_again_later(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = Clock(NOW)
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, clock) as (app, _):
            assert app.websub is not None
            feed = FeedSpec("ws1", url, interval=3600)
            await app.feeds.put(feed)
            hub.refuse_with = 503  # its answer echoes the request, our secret first
            with caplog.at_level(logging.DEBUG, logger="peacewatch"):
                await app.websub.discovered(await app.poller.poll(feed))
            assert len(hub.requests) == 1
            secret = hub.requests[0]["hub.secret"]
            assert "hub answered 503" in caplog.text
            assert secret[:8] not in caplog.text and "refused by the test" not in caplog.text
            sub = await SubscriptionStore(redis_client).for_feed(feed.id)
            assert sub is not None and sub.state == "failed"
            hub.refuse_with = None
            clock.now = NOW + timedelta(minutes=14)
            await app.websub.maintain()
            assert len(hub.requests) == 1  # not yet
            clock.now = NOW + timedelta(minutes=16)
            await app.websub.maintain()
            await hub.wait_for(lambda: bool(hub.active(url)))
            assert hub.requests[1]["hub.callback"] == hub.requests[0]["hub.callback"]


async def test_status_shows_each_subscription(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, port):
            await subscribed(app, hub, FeedSpec("ws1", url, interval=3600))
            assert await hub.publish(url, websub_rss(items, hub.url, url)) == [204]
            sub = await SubscriptionStore(redis_client).for_feed("ws1")
            assert sub is not None
            await print_status(Settings(PEACEWATCH_DATA_DIR=tmp_path,
                                        REDIS_URL=redis_url(redis_target)))  # fmt: skip
    out = capsys.readouterr().out
    assert "websub subscriptions: 1" in out
    (line,) = [line for line in out.splitlines() if line.startswith("  ws1 ") and "lease" in line]
    assert " active " in line and hub.url in line
    assert "lease until 2025-12-01T12:16:40+00:00" in line  # 1000 s after the check
    assert "last push 2025-12-01T12:00:00+00:00" in line
    assert line.endswith(f"callback at http://127.0.0.1:{port}") and sub.token not in out


def test_status_shows_where_each_callback_points_never_its_token() -> None:
    token = "k" * 43
    base = Subscription("f", token, "https://hub.example.org/", "https://news.example.org/rss",
                        "s" * 64)  # fmt: skip
    shown = {
        "http://[::1]:8080/websub/" + token: "callback at http://[::1]:8080",
        "https://bot.example.org/websub/" + token: "callback at https://bot.example.org",
        "": "callback at (not recorded yet)",  # stored before callbacks were kept
    }
    for callback, expected in shown.items():
        _, line = websub_lines([replace(base, callback=callback)])
        assert line.endswith(expected) and token not in line


def status_settings(target: dict[str, Any], data_dir: Path) -> Settings:
    return Settings(PEACEWATCH_DATA_DIR=data_dir, REDIS_URL=redis_url(target))


def status_line(out: str, feed_id: str) -> str:
    (line,) = [x for x in out.splitlines() if x.startswith(f"  {feed_id} ") and "lease" in x]
    return line


async def raw_post(port: int, path: str, headers: bytes, body: bytes = b"") -> int:
    """POST ``headers`` (raw bytes, CRLF-ended lines) and ``body`` to the server on ``port``;
    the status code it answers, waited for at most 10 s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + headers + b"\r\n"
        writer.write(head + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    return int(line.split()[1])


async def test_a_huge_lease_a_hub_grants_is_bounded_to_thirty_days(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    clock = Clock(NOW)
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=999_999_999_999) as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, clock) as (app, _):
            assert app.websub is not None
            await subscribed(app, hub, FeedSpec("ws1", url, interval=3600))
            sub = await SubscriptionStore(redis_client).for_feed("ws1")
            assert sub is not None and sub.lease_seconds == MAX_LEASE_SECONDS == 30 * 86400
            await app.websub.maintain()
            assert len(hub.requests) == 1  # nothing due yet
            clock.now = NOW + timedelta(days=24, seconds=1)  # four fifths of 30 days
            await app.websub.maintain()
            await hub.wait_for(lambda: len(hub.verifications) == 2)
            await print_status(status_settings(redis_target, tmp_path))
    until = (clock.now + timedelta(days=30)).isoformat(timespec="seconds")
    assert f"lease until {until} " in status_line(capsys.readouterr().out, "ws1")


async def test_a_broken_subscription_stops_neither_the_others_upkeep_nor_status(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = Clock(NOW)
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        urls = [feeds.url(f"/feed{n}.xml") for n in (1, 2)]
        for n, url in enumerate(urls, 1):
            feeds.set_feed(f"/feed{n}.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, clock) as (app, _):
            assert app.websub is not None
            for n, url in enumerate(urls, 1):
                await subscribed(app, hub, FeedSpec(f"ws{n}", url, interval=3600))
            broken = await SubscriptionStore(redis_client).for_feed("ws1")
            assert broken is not None
            # a record whose times no calendar holds (year 31 million)
            key = keys.websub_subscription(broken.token)
            await redis_client.hset(key, "verified_at", "1e15")
            clock.now = NOW + timedelta(seconds=801)  # both leases due for renewal
            with caplog.at_level(logging.ERROR, logger="peacewatch.watchers.websub"):
                await app.websub.maintain()
            await hub.wait_for(lambda: len(hub.verifications) == 3)
            assert hub.requests[-1]["hub.topic"] == urls[1]  # the sound one was renewed
            failed = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert [r.getMessage() for r in failed] == ["feed ws1: WebSub upkeep failed"]
            await print_status(status_settings(redis_target, tmp_path))
    out = capsys.readouterr().out
    assert "lease until (out of range)" in status_line(out, "ws1")
    assert "lease until 2025-12-01T12:30:01+00:00" in status_line(out, "ws2")


async def test_status_shows_no_password_of_a_hub_url(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    hub = "https://peacewatch:hunter2-secret@hub.example.org/publish"
    sub = Subscription("ws1", "t" * 43, hub, "https://news.example/feed.xml", "s" * 64, "active")
    await SubscriptionStore(redis_client).put(sub)
    await print_status(status_settings(redis_target, tmp_path))
    line = status_line(capsys.readouterr().out, "ws1")
    assert "hunter2" not in line and "peacewatch:" not in line
    assert "https://***@hub.example.org/publish  " in line


async def test_a_push_past_the_lease_is_refused(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    items = dated(SAMPLE_ITEMS[:2], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items[:1], hub.url, url))
        async with websub_app(redis_target, tmp_path, clock) as (app, _):
            await subscribed(app, hub, FeedSpec("ws1", url, interval=3600))
            queued = await app.ingest.backlog()
            clock.now = NOW + timedelta(seconds=999)
            assert await hub.publish(url, websub_rss(items[:1], hub.url, url)) == [204]
            clock.now = NOW + timedelta(seconds=1000)  # the lease is over, never renewed
            unknown = pushes("unknown")
            assert await hub.publish(url, websub_rss(items[1:], hub.url, url)) == [404]
            assert pushes("unknown") == unknown + 1
            assert await app.ingest.backlog() == queued


async def test_a_push_to_no_subscription_is_refused_before_its_body_is_read(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    async with websub_app(redis_target, tmp_path, Clock(NOW)) as (_, port):
        path = f"/websub/{'x' * 43}"
        with caplog.at_level(logging.DEBUG, logger="peacewatch"):
            for _ in range(3):
                # the body is announced and never sent: only an answer without reading it comes
                status = await raw_post(port, path, b"Content-Length: 1000\r\n")
                assert status == 404
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}{path}?hub.mode=subscribe") as resp:
                    assert resp.status == 404
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 4  # each was logged, at DEBUG: nobody can fill the log with them
    assert {r.levelno for r in refused} == {logging.DEBUG}


async def test_a_signature_that_is_not_ascii_gets_403(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:2], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items[:1], hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, port):
            callback = await subscribed(app, hub, FeedSpec("ws1", url, interval=3600))
            path = "/websub/" + callback.rsplit("/", 1)[1]
            body = websub_rss(items[1:], hub.url, url)
            (active,) = hub.active(url)
            good = sign(active.secret, body).encode()
            accent = "é".encode()  # sent as its UTF-8 bytes
            for signature in (b"sha256=" + accent, b"sha256=" + accent * 32, good[:-2] + accent):
                headers = b"Content-Length: %d\r\nX-Hub-Signature: %s\r\n" % (len(body), signature)
                assert await raw_post(port, path, headers, body) == 403
            headers = b"Content-Length: %d\r\nX-Hub-Signature: %s\r\n" % (len(body), good)
            assert await raw_post(port, path, headers, body) == 204  # the same request, signed


@pytest.mark.parametrize(
    ("kind", "path", "page"),
    [("page", "/news/all", "president_ua_1.html"), ("telegram", "/s/MID_Russia",
                                                     "tg_mid_russia_1.html")],
)  # fmt: skip
async def test_only_feeds_subscribe_not_pages_or_channels(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    kind: str, path: str, page: str,
) -> None:  # fmt: skip
    body = (Path(__file__).parent / "data" / "sources" / page).read_bytes()

    async def handler(request: web.Request) -> web.Response:
        links = f'<{hub.url}>; rel="hub", <{feeds.url(path)}>; rel="self"'
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8",
                                                "Link": links})  # fmt: skip

    async with FeedServer() as feeds, FakeHub() as hub:
        feeds.set_handler(path, handler)
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, _):
            assert app.websub is not None
            feed = FeedSpec("src", feeds.url(path), interval=3600, kind=kind)
            await app.feeds.put(feed)
            result = await app.poller.poll(feed)
            assert result.status == "ok" and result.items > 0
            await app.websub.discovered(result)
            assert result.websub is None
            assert await SubscriptionStore(redis_client).for_feed("src") is None
    assert hub.requests == []


async def test_a_claim_is_released_only_by_its_holder(redis_client: Any) -> None:
    store = SubscriptionStore(redis_client)
    first = await store.claim("ws1")
    assert first is not None and await store.claim("ws1") is None
    await redis_client.delete(keys.websub_claim("ws1"))  # it ran out, as claims do
    second = await store.claim("ws1")  # another replica takes the feed
    assert second is not None and second != first
    assert not await store.release("ws1", first)  # the first one finishes late ...
    assert await store.claim("ws1") is None  # ... and the second one's claim still holds
    assert await store.release("ws1", second)
    assert await store.claim("ws1") is not None


async def test_a_subscription_of_a_source_that_is_no_feed_is_ended(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    """A page (or channel) subscribed before pages were told from feeds is unsubscribed by
    the next upkeep round, and pushes to it are refused."""
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        url = feeds.url("/news/all")
        feeds.set_feed("/news/all", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, _):
            assert app.websub is not None
            await subscribed(app, hub, FeedSpec("src", url, interval=3600))
            await app.feeds.put(FeedSpec("src", url, interval=3600, kind="page"))
            assert await hub.publish(url, websub_rss(items, hub.url, url)) == [404]
            await app.websub.maintain()
            await hub.wait_for(lambda: not hub.active(url))
            assert len(hub.requests_for("unsubscribe")) == 1
            assert await SubscriptionStore(redis_client).for_feed("src") is None


async def test_a_denial_is_logged_without_our_secret(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub() as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(items, hub.url, url))
        async with websub_app(redis_target, tmp_path, Clock(NOW)) as (app, _):
            assert app.websub is not None
            hub.auto_verify = False
            feed = FeedSpec("ws1", url, interval=3600)
            await app.feeds.put(feed)
            await app.websub.discovered(await app.poller.poll(feed))
            (request,) = hub.held
            secret = request["hub.secret"]
            reason = f"topic not allowed for hub.secret={secret} at {request['hub.callback']}"
            params = {"hub.mode": "denied", "hub.topic": url, "hub.reason": reason}
            with caplog.at_level(logging.DEBUG, logger="peacewatch"):
                async with aiohttp.ClientSession() as http:
                    async with http.get(request["hub.callback"], params=params) as resp:
                        assert resp.status == 200
            sub = await SubscriptionStore(redis_client).for_feed("ws1")
    assert sub is not None and sub.state == "denied"
    assert "denied the WebSub subscription: 'topic not allowed for hub.secret=***" in caplog.text
    token = request["hub.callback"].rsplit("/", 1)[1]
    assert secret[:8] not in caplog.text and token[:8] not in caplog.text
