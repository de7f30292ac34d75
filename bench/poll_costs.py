"""Where one poll's CPU goes: the steps of a changed feed's poll and of an unchanged one, timed.

    .venv/bin/python bench/poll_costs.py [--feeds 200] [--rounds 3]

Takes ``--feeds`` of ``bench/ingest.py``'s feeds (20–50 real entries each) and times, in this
process (CPU seconds, the median of ``--rounds``), each step a poll of such a feed runs:
``feedparser.parse`` alone (the parse worker's share without ours), ``parse_bytes`` (what the
worker runs: feedparser plus language detection per entry), language detection alone,
``normalise`` of every entry, the mojibake check of every entry, the JSON encoding of every
article, and one Redis command's round trip on an embedded Redis (a poll makes several: the
feed's validators, its lease, its health). Printed per feed and per entry, and the share
of a changed feed's CPU spent on entries already queued at earlier polls (everything per entry
but the one new item): the work a first-sighting check before the per-entry steps would save.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest import sample_entries  # noqa: E402
from peacewatch.store.codec import article_to_json  # noqa: E402
from peacewatch.store.redis_server import start_server  # noqa: E402
from peacewatch.watchers.encoding import garbled_share  # noqa: E402
from peacewatch.watchers.language import detect  # noqa: E402
from peacewatch.watchers.normalise import normalise  # noqa: E402
from peacewatch.watchers.parse import parse_bytes  # noqa: E402
from peacewatch.watchers.text import html_to_text  # noqa: E402
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
    rows = [
        ("feedparser.parse (sanitizer off)", cpu(lambda: [feedparser.parse(
            b, sanitize_html=False, resolve_relative_uris=False) for b in feeds], args.rounds), n),
        ("parse_bytes (the parse worker)", cpu(lambda: [parse_bytes(b) for b in feeds],
                                                args.rounds), n),
        ("  of it: language detection", cpu(lambda: [detect(html_to_text(
            f"{e.title}. {e.summary}")) for e in entries], args.rounds), len(entries)),
        ("normalise", cpu(lambda: [normalise(e, feed_id="f", feed_url="http://127.0.0.1/f.xml",
            feed_title="F", fetched_at=now) for e in entries], args.rounds), len(entries)),
        ("mojibake check", cpu(lambda: garbled_share(f"{a.title}\n{a.body}" for a in articles),
                               args.rounds), len(entries)),
        ("article_to_json", cpu(lambda: [article_to_json(a) for a in articles], args.rounds),
         len(entries)),
    ]  # fmt: skip
    trip = asyncio.run(round_trip(2000))
    print(f"{n} feeds, {len(entries):,} entries ({per_feed:.1f} a feed); CPU of this process")
    print(f"{'step':36} {'ms a feed':>10} {'µs an entry':>12}")
    total = 0.0
    for name, seconds, count in rows:
        per = seconds / n * 1000
        if not name.startswith("  ") and name != "feedparser.parse (sanitizer off)":
            total += per
        print(f"{name:36} {per:10.2f} {seconds / len(entries) * 1e6:12.0f}")
    print(f"{'one Redis round trip (client side)':36} {trip * 1000:10.3f}")
    parse_ms = rows[0][1] / n * 1000
    entry_ms = total - parse_ms  # what grows with the entries: all but feedparser's own pass
    seen_share = entry_ms * (per_feed - 1) / per_feed / total
    print(
        f"a changed feed: {total:.1f} ms of CPU in these steps; {entry_ms:.1f} ms of it per "
        f"entry, {seen_share:.0%} spent on the {per_feed - 1:.0f} entries already queued"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
