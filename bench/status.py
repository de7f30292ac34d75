"""Health figures of a large deployment: what each /healthz, /metrics and `peacewatch status` reads.

    python bench/status.py [--feeds 10000] [--rules 10000] [--rounds 5]

Stores ``--feeds`` feeds, each with the health of a poll (one in ten failing), and ``--rules``
rules over 20 channels in an embedded Redis in a temporary directory, through the real stores,
then times ``status.collect`` (what /metrics and `peacewatch status` read on every request) and
``status.delivery`` (what /healthz reads) beside the baseline, the figures of ``collect`` read
one feed at a time with every rule validated again (how both endpoints read them before). CPU
seconds of this process per read (the client's work, which in the bot is the event loop's),
median of ``--rounds``; ours and the baseline must agree on every figure. Prints a ``FIGURE``
line for each (target: under 0.1 CPU s at 10,000 feeds, so that a health check or a scrape
every few seconds stays a small share of a core).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peacewatch.rules.rulefile import RuleSpec
from peacewatch.status import Status, collect, delivery
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.store.redis_server import start_server
from peacewatch.store.teams import TeamStore

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
T = TypeVar("T")
TARGET_S = 0.1


async def fill(redis: aioredis.Redis, feeds: int, rules: int) -> None:
    store, teams = FeedStore(redis), TeamStore(redis)
    ids = [f"feed-{i:05d}" for i in range(feeds)]
    for at in range(0, feeds, 50):  # 50 at once: within the client's pool
        chunk = ids[at : at + 50]
        await asyncio.gather(
            *(store.put(FeedSpec(id=i, url=f"https://example.org/{i}.xml")) for i in chunk)
        )
        await asyncio.gather(
            *(
                store.record_error(i, NOW, "HTTP 503")
                if n % 10 == 0
                else store.record_ok(i, NOW, items=30, new=1)
                for n, i in enumerate(chunk, at)
            )
        )
    specs = [
        RuleSpec(id=f"r{n}", query=f"Witkoff NEAR/5 word{n}", channels=[f"console:desk{n % 20}"])
        for n in range(rules)
    ]
    await teams.replace("desk", specs, [])


async def one_by_one(redis: aioredis.Redis) -> tuple[int, int, int]:
    """The baseline: feeds, failing feeds and rules, one round trip a feed, rules validated."""
    store, teams = FeedStore(redis), TeamStore(redis)
    feeds = await store.all()
    failing = 0
    for feed in feeds:
        health = await store.health(feed.id)
        if health.get("last_error") and health.get("last_error_at", "") >= health.get(
            "last_ok", ""
        ):
            failing += 1
    rules = 0
    channels: set[str] = set()
    for team in await teams.teams():
        specs = await teams.rules(team)
        rules += len(specs)
        channels.update(c for r in specs for c in r.channels)
    return len(feeds), failing, rules


async def ours(redis: aioredis.Redis) -> Status:
    return await collect(FeedStore(redis), TeamStore(redis), AlertQueue(redis), ArticleStore(redis))


async def timed(work: Callable[[], Awaitable[T]], rounds: int) -> tuple[float, T]:
    """Median CPU seconds of ``rounds`` runs of ``work``, and what the last one returned."""
    times = []
    for _ in range(rounds):
        start = time.process_time()
        result = await work()
        times.append(time.process_time() - start)
    return statistics.median(times), result


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        redis = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
        try:
            began = time.perf_counter()
            await fill(redis, args.feeds, args.rules)
            print(f"{args.feeds:,} feeds, {args.rules:,} rules stored in "
                  f"{time.perf_counter() - began:.1f} s")  # fmt: skip
            base_s, base = await timed(lambda: one_by_one(redis), args.rounds)
            our_s, status = await timed(lambda: ours(redis), args.rounds)
            health_s, health = await timed(
                lambda: delivery(TeamStore(redis), AlertQueue(redis)), args.rounds
            )
        finally:
            await redis.aclose()
            server.stop()
    figures = status.metrics()
    found = (int(figures["feeds"]), int(figures["feeds_failing"]), int(figures["rules"]))
    if found != base or health.rules != found[2]:
        print(f"DISAGREE: ours {found}, baseline {base}")
        return 1
    print(f"feeds {found[0]:,}, failing {found[1]:,}, rules {found[2]:,} (both agree)")
    print(f"CPU s per read, median of {args.rounds}: /metrics and status {our_s:.3f}, /healthz "
          f"{health_s:.4f}; one feed at a time {base_s:.3f} ({base_s / our_s:.1f}x and "
          f"{base_s / health_s:.0f}x)")  # fmt: skip
    for name, value in (("status_read", our_s), ("healthz_read", health_s)):
        met = "yes" if value < TARGET_S else "no"
        print(f"FIGURE name={name}_cpu_s@{args.feeds}feeds value={value:.4f} "
              f"baseline={base_s:.3f} target=<{TARGET_S} met={met}")  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
