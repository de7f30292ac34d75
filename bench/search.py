"""Search latency over the stored history: the inverted index beside a full scan of the range.

Loads N articles (default 100,000) made from the real sample items (text verbatim, ids and
publication times spread over 90 days) into an embedded Redis in a temporary directory, then
times ``HistoryIndex.search`` (as the chat commands call it: the newest ``MAX_VERIFY``
candidates are matched, the total is estimated beyond) and the full-scan baseline
``HistoryIndex.scan`` (every article of the range matched) on the same queries and time ranges,
and checks that the index returns exactly the newest matches of the full scan.

    python bench/search.py [--articles 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

from peacewatch.cli.articles_io import read_articles
from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.codec import article_to_json
from peacewatch.store.history import HistoryIndex
from peacewatch.store.redis_server import start_server

SAMPLES = Path("/work/shared/samples/items.jsonl")
NOW = datetime(2026, 1, 15, tzinfo=UTC)
QUERIES = [
    "Witkoff",
    'Witkoff AND (Donbas OR "security guarantees") -opinion',
    "Zelensky",
    "Putin NEAR/5 Trump",
    "ceasefire OR truce",
    "peace*",
    "title:Dmitriev",
    "Lavrov -Trump",
    "source:themoscowtimes.com Kremlin",
    '"28-point" OR "peace plan"',
]
WINDOWS = (timedelta(days=7), timedelta(days=30))


def load_samples() -> list[Article]:
    with SAMPLES.open(encoding="utf-8") as stream:
        return [a for a in read_articles(stream) if isinstance(a, Article)]


def synthesise(samples: list[Article], count: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    span = 90 * 86400
    out = []
    for n in range(count):
        base = samples[n % len(samples)]
        published = NOW - timedelta(seconds=rng.randrange(span))
        out.append(replace(base, id=f"{base.id}-{n}", published=published))
    return out


async def load(redis: aioredis.Redis, index: HistoryIndex, articles: list[Article]) -> float:
    started = time.perf_counter()
    for start in range(0, len(articles), 500):
        batch = articles[start : start + 500]
        async with redis.pipeline(transaction=False) as pipe:
            for article in batch:
                pipe.set(keys.article(article.id), article_to_json(article))
            await pipe.execute()
        for group in range(0, len(batch), 16):  # a few pipelines in flight, as replicas would
            await asyncio.gather(*(index.index(a) for a in batch[group : group + 16]))
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def run(count: int, rounds: int) -> None:
    samples = load_samples()
    articles = synthesise(samples, count)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        redis = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
        try:
            index = HistoryIndex(redis, clock=lambda: NOW)
            seconds = await load(redis, index, articles)
            print(f"indexed {count:,} articles in {seconds:.1f} s ({count / seconds:,.0f}/s)")
            for query in QUERIES:  # compile once; the service keeps compiled queries cached
                await index.engine_for(query)
            print(f"{'window':>6}  {'query':<58} {'hits':>6} {'cand':>6} {'index ms':>9} "
                  f"{'scan ms':>8}")  # fmt: skip
            timings: dict[timedelta, tuple[list[float], list[float]]] = {}
            for window in WINDOWS:
                indexed: list[float] = []
                scanned: list[float] = []
                for query in QUERIES:
                    since = NOW - window
                    fast: list[float] = []
                    for _ in range(rounds):
                        started = time.perf_counter()
                        result = await index.search(query, since)
                        fast.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    baseline = await index.scan(query, since)
                    slow = time.perf_counter() - started
                    # The index reads the newest candidates first: its matches must be exactly
                    # the newest matches of the full scan.
                    if result.hits != baseline.hits[: len(result.hits)] or (
                        result.exact and result.hits != baseline.hits
                    ):
                        print(f"MISMATCH for {query!r}", file=sys.stderr)
                    indexed.extend(fast)
                    scanned.append(slow)
                    print(
                        f"{window.days:>5}d  {query[:58]:<58} {baseline.total:>6} "
                        f"{result.candidates:>6} {statistics.median(fast) * 1000:>9.1f} "
                        f"{slow * 1000:>8.1f}"
                    )
                timings[window] = (indexed, scanned)
            print()
            for window, (indexed, scanned) in timings.items():
                print(
                    f"{window.days}d window over {count:,} articles: index p50 "
                    f"{statistics.median(indexed) * 1000:.0f} ms, p95 {p95(indexed) * 1000:.0f} ms"
                    f" | full scan p50 {statistics.median(scanned) * 1000:.0f} ms, p95 "
                    f"{p95(scanned) * 1000:.0f} ms"
                )
        finally:
            await redis.aclose()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.articles, args.rounds))


if __name__ == "__main__":
    main()
