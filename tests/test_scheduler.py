"""The feed scheduler: first polls spread over the interval, polls in flight capped overall and per
host, and a bounded drain that cancels polls without recording their validators."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.settings import Settings
from peacewatch.store.feeds import FeedSpec, Validators
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.poller import PollPolicy, PollResult
from peacewatch.watchers.scheduler import (
    TICK,
    FeedScheduler,
    TickTrigger,
    first_offset,
    jitter_for,
    on_tick,
)
from tests.fakes.feed_server import FeedServer, Gauge
from tests.helpers import SAMPLE_ITEMS, dated, redis_url, rss

NOW = datetime.now(UTC)
LOOPBACK = GuardPolicy(allow_networks=("127.0.0.0/8",))


def test_first_polls_spread_evenly_over_the_interval() -> None:
    offsets = [first_offset(f"feed-{n}", 600) for n in range(2000)]
    assert all(0 <= o < 600 for o in offsets)
    assert offsets == [first_offset(f"feed-{n}", 600) for n in range(2000)]  # fixed by the id
    per_minute = [0] * 10
    for offset in offsets:
        per_minute[int(offset // 60)] += 1
    # 200 a minute on average; all at start would put 2000 in the first
    assert all(150 < count < 250 for count in per_minute), per_minute
    assert jitter_for(600) == 60 and jitter_for(30) == 3


async def open_app(redis: dict[str, Any], data_dir: Path, **env: Any) -> App:
    settings = Settings(PEACEWATCH_DATA_DIR=data_dir, REDIS_URL=redis_url(redis), **env)
    return await App.open(
        settings,
        poll_policy=PollPolicy(backfill=None, max_age=None),
        sinks=[ConsoleSink(io.StringIO())],
        guard=LOOPBACK,
    )


@pytest.fixture
async def servers() -> AsyncIterator[tuple[Gauge, list[FeedServer]]]:
    """Three feed servers on three loopback addresses (three hosts), one gauge over all."""
    total = Gauge()
    running = [FeedServer(f"127.0.0.{n}", shared=(total,)) for n in (1, 2, 3)]
    for server in running:
        await server.start()
    try:
        yield total, running
    finally:
        for server in running:
            await server.stop()


async def poll_all(app: App, feeds: list[FeedSpec], wait: float = 30.0) -> list[PollResult]:
    """Make every feed due now, start the scheduler and wait (bounded) for every poll."""
    results: list[PollResult] = []
    done = asyncio.Event()

    async def on_result(result: PollResult) -> None:
        results.append(result)
        if len(results) == len(feeds):
            done.set()

    app.scheduler.on_result = on_result
    for feed in feeds:
        await app.feeds.put(feed)
        app.scheduler.schedule(feed, first_run=datetime.now(UTC))
    app.scheduler.start()
    await asyncio.wait_for(done.wait(), wait)
    return results


def slow_feeds(servers: list[FeedServer], per_server: int, delay: float) -> list[FeedSpec]:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    feeds = []
    for server in servers:
        for n in range(per_server):
            server.set_feed(f"/{n}.xml", rss(items), delay=delay)
            feeds.append(FeedSpec(f"{server.host}-{n}", server.url(f"/{n}.xml"), 600))
    return feeds


async def test_polls_in_flight_never_exceed_max_polls(
    servers: tuple[Gauge, list[FeedServer]], redis_target: dict[str, Any], redis_client: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    total, running = servers
    # 3 hosts x 4 fetches each could run 12 at once; the cap allows 5
    app = await open_app(redis_target, tmp_path, PEACEWATCH_MAX_POLLS=5)
    try:
        assert app.scheduler.max_polls == 5
        results = await poll_all(app, slow_feeds(running, 8, delay=0.3))
    finally:
        await app.close()
    assert {r.status for r in results} == {"ok"} and len(results) == 24
    assert total.peak == 5  # reached, never passed


async def test_fetches_per_host_never_exceed_the_host_limit(
    servers: tuple[Gauge, list[FeedServer]], redis_target: dict[str, Any], redis_client: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    total, running = servers
    app = await open_app(
        redis_target, tmp_path, PEACEWATCH_MAX_POLLS=40, PEACEWATCH_FETCH_PER_HOST=3
    )
    try:
        results = await poll_all(app, slow_feeds(running, 10, delay=0.3))
    finally:
        await app.close()
    assert {r.status for r in results} == {"ok"} and len(results) == 30
    assert [server.concurrent.peak for server in running] == [3, 3, 3]
    assert total.peak > 3  # the hosts were fetched side by side, each within its own limit


async def test_feeds_queueing_for_a_busy_host_leave_the_slots_to_other_hosts(
    servers: tuple[Gauge, list[FeedServer]], redis_target: dict[str, Any], redis_client: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    busy, other = servers[1][:2]
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    hanging = []
    for n in range(6):  # a news-search host with many feeds, answering nothing for now
        busy.set_hang(f"/{n}.xml")
        hanging.append(FeedSpec(f"search-{n}", busy.url(f"/{n}.xml"), 600))
    other.set_feed("/rss", rss(items))
    app = await open_app(
        redis_target, tmp_path, PEACEWATCH_MAX_POLLS=2, PEACEWATCH_FETCH_PER_HOST=1
    )
    try:
        due = datetime.now(UTC)
        for feed in hanging:
            await app.feeds.put(feed)
            app.scheduler.schedule(feed, first_run=due - timedelta(seconds=1))
        app.scheduler.start()
        await wait_for_request(busy, "/0.xml", 1)
        assert app.scheduler.in_flight == 1 and app.scheduler.waiting == 5
        # five polls wait for the busy host's one slot, yet hold none of the two polls
        results = await poll_all(app, [FeedSpec("other", other.url("/rss"), 600)], wait=10)
        assert [(r.feed_id, r.status) for r in results] == [("other", "ok")]
        assert len(busy.requests) == 1
    finally:
        await app.close()


async def test_a_hosts_slot_covers_the_download_not_the_reading_of_the_items(
    servers: tuple[Gauge, list[FeedServer]], redis_target: dict[str, Any], redis_client: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    host = servers[1][0]
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    feeds = []
    for n in range(2):
        host.set_feed(f"/{n}.xml", rss(items))
        feeds.append(FeedSpec(f"one-host-{n}", host.url(f"/{n}.xml"), 600))
    app = await open_app(
        redis_target, tmp_path, PEACEWATCH_MAX_POLLS=4, PEACEWATCH_FETCH_PER_HOST=1
    )
    reading = asyncio.Event()
    go_on = asyncio.Event()
    results: list[PollResult] = []

    async def slow_reader(result: PollResult) -> None:
        results.append(result)
        if len(results) == 1:
            reading.set()
            await asyncio.wait_for(go_on.wait(), 10)  # the first feed's items take long

    try:
        app.scheduler.on_result = slow_reader
        due = datetime.now(UTC)
        for feed in feeds:
            await app.feeds.put(feed)
            app.scheduler.schedule(feed, first_run=due - timedelta(seconds=1))
        app.scheduler.start()
        await asyncio.wait_for(reading.wait(), 10)
        # the host's one slot is free again: the other feed is downloaded while the first
        # poll is still held (its on_result waits for go_on); the second poll may even finish
        held = results[0].feed_id
        other = "/1.xml" if held == "one-host-0" else "/0.xml"
        await wait_for_request(host, other, 1)
        go_on.set()
        for _ in range(200):  # up to ~10 s
            if len(results) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(r.status for r in results) == ["ok", "ok"]
    finally:
        go_on.set()
        await app.close()


async def wait_for_request(server: FeedServer, path: str, count: int) -> None:
    for _ in range(200):  # up to ~10 s
        if len(server.requests_for(path)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} was requested {len(server.requests_for(path))} times")


async def test_drain_cancels_a_poll_under_way_without_recording_its_validators(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    first = rss(dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=2), timedelta(minutes=5)))
    second = rss(dated(SAMPLE_ITEMS[:2], NOW - timedelta(hours=2), timedelta(minutes=5)))
    first_tag = f'"{hashlib.sha256(first).hexdigest()[:20]}"'
    async with FeedServer() as server:
        feed = FeedSpec("f", server.url("/f.xml"), 600)
        server.set_feed("/f.xml", first)
        app = await open_app(redis_target, tmp_path)
        try:
            assert [r.new for r in await poll_all(app, [feed])] == [1]
            assert (await app.feeds.validators("f")).etag == first_tag
            # the feed changes, and its server now answers after a minute
            server.set_feed("/f.xml", second, delay=60)
            assert await app.scheduler.run_now("f")
            await wait_for_request(server, "/f.xml", 2)
            assert app.scheduler.in_flight == 1
            app.scheduler.pause()
            await app.scheduler.drain(within=0.2, grace=5)
            assert app.scheduler.in_flight == 0 and app.scheduler.waiting == 0
            # cut off: the old validators stay, and the lease is free for the next start
            assert (await app.feeds.validators("f")).etag == first_tag
            assert await app.feeds.acquire_lease("f", "next-start", 60)
            await app.feeds.release_lease("f")
        finally:
            await app.close()
        server.set_feed("/f.xml", second)
        app = await open_app(redis_target, tmp_path)
        try:
            assert [r.new for r in await poll_all(app, [feed])] == [1]  # the item not read yet
        finally:
            await app.close()
        assert server.requests_for("/f.xml")[-1].headers["If-None-Match"] == first_tag


async def wait_for_run(app: App, job_id: str) -> None:
    """Wait until the job brought forward to now has run (its next run is ahead again)."""
    job = app.scheduler._scheduler.get_job(job_id)
    for _ in range(200):  # up to ~10 s
        await asyncio.sleep(0.05)
        if job.next_run_time > datetime.now(UTC) + timedelta(seconds=60):
            return
    raise AssertionError(f"{job_id} did not run")


async def test_a_poll_cancelled_after_reading_its_feed_records_no_validators(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    async with FeedServer() as server:
        # a teaser feed: the poll reads the feed, then fetches the item's page for its text
        item = {**SAMPLE_ITEMS[0], "link": server.url("/story"), "summary": "Witkoff to Moscow."}
        body = rss(dated([item], NOW - timedelta(hours=1), timedelta(minutes=5)))
        server.set_feed("/f.xml", body)
        page = f"<html><body><article><p>{SAMPLE_ITEMS[0]['summary']}</p></article></body></html>"
        server.set_feed("/story", page.encode(), content_type="text/html", delay=60)
        feed = FeedSpec("f", server.url("/f.xml"), 600, full_text=True)
        app = await open_app(redis_target, tmp_path)
        try:
            await app.feeds.put(feed)
            app.scheduler.schedule(feed, first_run=datetime.now(UTC))
            app.scheduler.start()
            await wait_for_request(server, "/story", 1)  # the feed is read; its items are not
            app.scheduler.pause()
            await app.scheduler.drain(within=0.2, grace=5)
            assert app.scheduler.in_flight == 0
            assert await app.feeds.validators("f") == Validators()
            assert not await app.feeds.has_polled("f")
        finally:
            await app.close()
        server.set_feed("/story", page.encode(), content_type="text/html")
        app = await open_app(redis_target, tmp_path)
        try:
            assert [r.new for r in await poll_all(app, [feed])] == [1]  # nothing lost
        finally:
            await app.close()
        assert "If-None-Match" not in server.requests_for("/f.xml")[-1].headers


async def test_a_feed_waiting_or_polling_is_not_polled_twice(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    async with FeedServer() as server:
        items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
        server.set_feed("/f.xml", rss(items), delay=60)
        app = await open_app(redis_target, tmp_path)
        try:
            feed = FeedSpec("f", server.url("/f.xml"), 600)
            await app.feeds.put(feed)
            app.scheduler.schedule(feed, first_run=datetime.now(UTC))
            app.scheduler.start()
            await wait_for_request(server, "/f.xml", 1)
            for _ in range(3):  # due again while the first poll still waits for its answer
                assert await app.scheduler.run_now("f")
                await wait_for_run(app, "feed:f")
            assert app.scheduler.in_flight == 1 and app.scheduler.waiting == 0
            assert len(server.requests_for("/f.xml")) == 1
        finally:
            await app.close()


def test_max_polls_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_polls must be at least 1"):
        FeedScheduler(None, None, max_polls=0)  # type: ignore[arg-type]


def test_polls_fall_on_ticks_so_feeds_due_together_start_together() -> None:
    trigger = TickTrigger(seconds=600, jitter=jitter_for(600), timezone=UTC)
    previous = datetime(2026, 1, 5, 12, 0, 0, 123_000, tzinfo=UTC)
    for _ in range(200):
        later = trigger.get_next_fire_time(previous, previous)
        assert later is not None and later.timestamp() % TICK == 0
        # the interval and the jitter, moved by half a tick at most
        assert 600 - TICK / 2 <= (later - previous).total_seconds() <= 660 + TICK / 2
        previous = later
    assert on_tick(datetime(2026, 1, 5, 12, 0, 0, 200_000, tzinfo=UTC)).microsecond == 0
    assert on_tick(datetime(2026, 1, 5, 12, 0, 0, 300_000, tzinfo=UTC)).microsecond == 500_000
    # first polls too: many feeds, a few distinct times, each within the interval
    scheduler = FeedScheduler(None, None)  # type: ignore[arg-type]
    start = datetime.now(UTC)
    for n in range(200):
        scheduler.schedule(FeedSpec(f"f{n}", f"http://127.0.0.1/{n}.xml", 20))
    runs = [job.next_run_time for job in scheduler._scheduler.get_jobs()]
    assert all(run.timestamp() % TICK == 0 for run in runs)
    assert all(-TICK <= (run - start).total_seconds() <= 20 + TICK for run in runs)
    assert len(set(runs)) <= 20 / TICK + 1
