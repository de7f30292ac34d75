"""Where one poll's CPU goes: the steps of a changed feed's poll and of an unchanged one, timed.

    .venv/bin/python bench/poll_costs.py [--feeds 200] [--rounds 3]

Takes ``--feeds`` of ``bench/ingest.py``'s feeds (20–50 real entries each) and times, in this
process (CPU seconds, the median of ``--rounds``), each step a poll of such a feed runs:
``feedparser.parse`` alone (the parse worker's share without ours), ``parse_bytes`` (what the
worker runs: feedparser, the language left pending), the ids of every entry (what the
first-sighting check reads the claims of), language detection, ``normalise`` without it, the
mojibake check and the JSON encoding of every entry, and one Redis command's round trip on an
embedded Redis. Printed per feed and per entry, then a changed feed's CPU as a poll spends it
now (the ids of all entries; normalising, detection and encoding for the one new item and the
mojibake sample of 25) beside what it was when every entry went through every step.

Then real polls (``Poller`` as the scheduler calls it, its lease taken with its state, a
loopback feed server, embedded Redis) and the Redis round trips each kind made: a 304, an
unchanged body from a server without validators, and a changed feed with one new item.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection as Connection

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest import sample_entries  # noqa: E402
from peacewatch.store.codec import article_to_json  # noqa: E402
from peacewatch.store.feeds import FeedSpec, FeedStore  # noqa: E402
from peacewatch.store.ingest import IngestStream  # noqa: E402
from peacewatch.store.redis_server import start_server  # noqa: E402
from peacewatch.watchers.encoding import garbled_share  # noqa: E402
from peacewatch.watchers.fetch import Fetcher  # noqa: E402
from peacewatch.watchers.guard import GuardPolicy  # noqa: E402
from peacewatch.watchers.normalise import entry_id, normalise, with_language  # noqa: E402
from peacewatch.watchers.parse import FeedParserPool, parse_bytes  # noqa: E402
from peacewatch.watchers.poller import GARBLED_SAMPLE, Poller  # noqa: E402
from peacewatch.watchers.text import html_to_text  # noqa: E402
from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.helpers import rss, samples_dir  # noqa: E402


def bodies(count: int) -> list[bytes]:
    """``count`` feeds built as bench/ingest.py builds them."""
    pool = sample_entries(samples_dir())
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        size, start = 20 + (n * 7) % 31, (n * 37) % len(pool)
        items = [{**pool[(start + k) % len(pool)], "published": now} for k in range(size)]
        out.append(rss(items, title=f"Bench feed {n}"))
    return out


def cpu(step: Callable[[], Any], rounds: int) -> float:
    """Median CPU seconds of ``step()``."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        step()
        times.append(time.process_time() - started)
    return statistics.median(times)


async def round_trip(count: int) -> float:
    """CPU seconds of this process per Redis command awaited one at a time (embedded Redis)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        client = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
        try:
            await client.hset("h", mapping={"etag": "x", "last_modified": "y"})
            started = time.process_time()
            for _ in range(count):
                await client.hgetall("h")
            return (time.process_time() - started) / count
        finally:
            await client.aclose()
            server.stop()


async def poll_trips(body: bytes, changed: bytes) -> dict[str, int]:
    """Redis round trips (requests sent on a connection, a pipeline counting once) per poll."""
    sent = 0
    original = Connection.send_packed_command

    async def counted(self: Connection, command: Any, check_health: bool = True) -> None:
        nonlocal sent
        sent += 1
        await original(self, command, check_health)

    out: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        client = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
        fetcher = Fetcher(GuardPolicy(allow_networks=("127.0.0.1/32",)))
        pool = FeedParserPool()
        feeds = FeedStore(client)
        poller = Poller(fetcher, pool, feeds, IngestStream(client))
        Connection.send_packed_command = counted  # type: ignore[method-assign]
        try:
            async with FeedServer() as web:

                async def trips(name: str, feed: FeedSpec) -> None:
                    nonlocal sent
                    await feeds.release_lease(feed.id)
                    sent = 0
                    state = await feeds.lease_and_state(feed.id, "bench", 60)
                    assert state is not None
                    await poller.poll(feed, state)
                    out[name] = sent

                web.set_feed("/etag.xml", body)
                web.set_feed("/plain.xml", body, etag=False)
                tagged = FeedSpec("etag", web.url("/etag.xml"))
                plain = FeedSpec("plain", web.url("/plain.xml"))
                await trips("first poll (every entry new)", tagged)
                await trips("304 Not Modified", tagged)
                await trips("first poll, no validators", plain)
                await trips("same body, no validators", plain)
                web.set_feed("/etag.xml", changed)
                await trips("changed feed, one new item", tagged)
        finally:
            Connection.send_packed_command = original  # type: ignore[method-assign]
            await pool.aclose()
            await fetcher.close()
            await client.aclose()
            server.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    feeds = bodies(args.feeds)
    parsed = [parse_bytes(body, "application/rss+xml") for body in feeds]
    entries = [e for p in parsed for e in p.entries]
    now = datetime.now(UTC)
    articles = [
        normalise(e, feed_id="f", feed_url="http://127.0.0.1/f.xml", feed_title="F", fetched_at=now)
        for e in entries
    ]
    n, per_feed = len(feeds), len(entries) / len(feeds)
    url, sample = "http://127.0.0.1/f.xml", min(GARBLED_SAMPLE, per_feed)
    rows = [
        ("feedparser.parse (sanitizer off)", cpu(lambda: [feedparser.parse(
            b, sanitize_html=False, resolve_relative_uris=False) for b in feeds], args.rounds), n),
        ("parse_bytes (the parse worker)", cpu(lambda: [parse_bytes(b) for b in feeds],
                                                args.rounds), n),
        ("entry ids", cpu(lambda: [entry_id(e, url) for e in entries], args.rounds), len(entries)),
        ("language detection", cpu(lambda: [with_language(e) for e in entries], args.rounds),
         len(entries)),
        ("normalise (no detection)", cpu(lambda: [normalise(e, feed_id="f", feed_url=url,
            feed_title="F", fetched_at=now, language=False) for e in entries], args.rounds),
         len(entries)),
        ("mojibake check", cpu(lambda: garbled_share(f"{a.title}\n{a.body}" for a in articles),
                               args.rounds), len(entries)),
        ("article_to_json", cpu(lambda: [article_to_json(a) for a in articles], args.rounds),
         len(entries)),
    ]  # fmt: skip
    trip = asyncio.run(round_trip(2000))
    print(f"{n} feeds, {len(entries):,} entries ({per_feed:.1f} a feed); CPU of this process")
    print(f"{'step':36} {'ms a feed':>10} {'µs an entry':>12}")
    per_entry: dict[str, float] = {}
    for name, seconds, count in rows:
        per_entry[name] = seconds / len(entries) * 1000  # ms
        print(f"{name:36} {seconds / n * 1000:10.2f} {seconds / len(entries) * 1e6:12.0f}")
    print(f"{'one Redis round trip (client side)':36} {trip * 1000:10.3f}")
    worker = rows[1][1] / n * 1000
    detect_ms, norm_ms = per_entry["language detection"], per_entry["normalise (no detection)"]
    check_ms, json_ms = per_entry["mojibake check"], per_entry["article_to_json"]
    # before: every entry detected (in the worker) and normalised, the new one encoded
    before = worker + per_feed * (detect_ms + norm_ms) + json_ms + sample * check_ms
    now_ms = (
        worker
        + per_feed * per_entry["entry ids"]
        + (detect_ms + norm_ms + json_ms)  # the one new item
        + (sample - 1) * norm_ms  # the rest of the mojibake sample, no detection
        + sample * check_ms
    )
    print(
        f"a changed feed with one new item: {now_ms:.1f} ms of CPU now (ids of all "
        f"{per_feed:.0f} entries, the new one normalised, detected and encoded, a sample of "
        f"{sample:.0f} checked) beside {before:.1f} ms when every entry went through every step "
        f"(ratio {before / now_ms:.2f}x)"
    )
    pool = sample_entries(samples_dir())
    first = parse_bytes(feeds[0]).entries
    items = [{"title": html_to_text(e.title), "summary": html_to_text(e.summary),
              "link": e.link or "", "published": now} for e in first]  # fmt: skip
    changed = rss([*items, {**pool[-1], "published": now}], title="Bench feed 0")
    body = rss(items, title="Bench feed 0")
    print("Redis round trips per poll (a pipeline counts once):")
    for name, count in asyncio.run(poll_trips(body, changed)).items():
        print(f"  {name:34} {count:3}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
