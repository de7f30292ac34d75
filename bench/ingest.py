"""Ingest benchmark: `peacewatch run` polling 1,000 or 10,000 loopback feeds, beside feedparser.

    .venv/bin/python bench/ingest.py [--feeds 10000] [--rules 10000] [--interval S]
                                     [--cycles 2] [--baseline-sample 1000] [--quick]

Serves ``--feeds`` RSS feeds from three loopback addresses (aiohttp, ``tests/fakes``), each of
20–50 real entries of the daily exports ``feeds-2026-01/2026/01/DAY/*.json`` (feeds overlap, as
real ones do); a third answer conditional GETs by ETag, a third by Last-Modified, a third
not at all (their unchanged body counts as not modified). Once every feed was read, about 10%
of the feeds (``--grow``; 0 measures polls that find nothing new alone) gain an item every
``--interval`` seconds. ``peacewatch run`` (a subprocess with a config, embedded Redis, as a
user runs it) polls them at that interval with ``--rules`` rules drawn as ``bench/rules.py``
draws them. It starts as on a new machine, with an empty cache directory of its own (its rules
compiled, its language model built, at their first use); ``--warm-cache`` gives it the
caller's ``PEACEWATCH_CACHE_DIR`` instead.

Two measurements, each ending only when the story assigner has caught up (the ingest stream
is empty: every article fetched in it went watchers → stream → assigner → pipeline):

- the cold cycle: from start until every feed was read once in full and its articles placed;
- the steady window: then ``--cycles`` more cycles (every feed polled ``--cycles`` times more
  from the window's start, ~90% of them answering 304 or an unchanged body), until the
  assigner caught up again.

For each: wall time, CPU seconds per kind of process (the bot, its parse workers, its Redis
server; psutil), average cores, and feeds polled per CPU second of all of them (what one core
sustains); the steady figures are per cycle of ``--feeds`` polls. Also the peak resident set
(VmHWM) per kind and their sum over the processes alive together, poll errors (/metrics),
Redis time by command and Redis memory by key family. The baseline is sequential
``feedparser.parse(url)`` over the same feeds in the same run (over an evenly spread sample of
``--baseline-sample`` feeds when there are more).
``FIGURE`` lines at the end are what ``bench/report.py`` collects. ``--memory-by-module`` runs the
bot under tracemalloc and prints its Python heap by module at the end (its other figures are
then those of a traced bot). ``--quick``: 1,000 feeds,
1,000 rules, 10 s interval, one steady cycle, at most 200 s. Traffic goes to 127.0.0.0/8 only;
every wait is bounded (``--limit``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.botrun import (  # noqa: E402
    KINDS,
    Sample,
    Usage,
    figure,
    heap_by_module,
    metrics,
    polls,
    start_bot,
    stop_bot,
)
from peacewatch.store import keys  # noqa: E402
from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.helpers import rss, samples_dir  # noqa: E402

__all__ = ["FeedFarm", "bench_queries", "sample_entries", "start_bot", "stop_bot"]
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


# Feeds -----------------------------------------------------------------------------------------
def sample_entries(samples: Path) -> list[dict[str, str]]:
    """Distinct real entries (title, summary, link) of the daily feed exports."""
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for path in sorted((samples / "feeds-2026-01" / "2026" / "01").glob("*/*.json")):
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in entries if isinstance(entries, list) else []:
            title, link = entry.get("title"), entry.get("link")
            summary = entry.get("description") or title
            if isinstance(title, str) and title and isinstance(link, str) and link not in seen:
                seen.add(link)
                out.append({"title": title, "summary": str(summary), "link": link})
    return out


@dataclass
class Feed:
    n: int
    server: FeedServer
    items: list[dict[str, Any]]
    validator: str  # "etag", "last-modified" or "none"
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def path(self) -> str:
        return f"/{self.n}.xml"

    def publish(self) -> None:
        body = rss(self.items, title=f"Bench feed {self.n}")
        last = format_datetime(self.modified, usegmt=True)
        self.server.set_feed(
            self.path,
            body,
            etag=self.validator == "etag",
            last_modified=last if self.validator == "last-modified" else None,
        )


class FeedFarm:
    """The loopback feeds: built from the pool, served, and grown by new items."""

    def __init__(self, pool: list[dict[str, str]], count: int, seed: int = 1) -> None:
        self.pool = pool
        self.rng = random.Random(seed)
        self.servers = [FeedServer(host) for host in HOSTS]
        self.feeds: list[Feed] = []
        self.count = count
        self.added: dict[str, tuple[int, float]] = {}
        """Link of each item added while running -> (feed number, when it was published)."""
        self._counts: Counter[str] = Counter()
        self._read: dict[str, int] = {}

    async def start(self) -> None:
        now = datetime.now(UTC)
        for server in self.servers:
            await server.start()
        validators = ("etag", "last-modified", "none")
        for n in range(self.count):
            size = 20 + (n * 7) % 31
            start = (n * 37) % len(self.pool)
            pool = self.pool
            old = [now - timedelta(hours=k + 8) for k in range(size)]
            items = [{**pool[(start + k) % len(pool)], "published": old[k]} for k in range(size)]
            feed = Feed(n, self.servers[n % len(HOSTS)], items, validators[n % 3])
            feed.publish()
            self.feeds.append(feed)

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()

    def url(self, feed: Feed) -> str:
        return feed.server.url(feed.path)

    def grow(self, share: float = 0.1, tag: str = "", count: int | None = None) -> list[Feed]:
        """Give ``share`` of the feeds (or ``count`` feeds) one new item each (a real entry, a
        link of its own, ``.../pw-TAG-FEED``)."""
        size = count if count is not None else max(1, round(len(self.feeds) * share))
        chosen = self.rng.sample(self.feeds, size)
        for feed in chosen:
            base = self.rng.choice(self.pool)
            link = f"{base['link'].split('#')[0].rstrip('/')}/pw-{tag}-{feed.n}"
            feed.items = [{**base, "link": link, "published": datetime.now(UTC)}, *feed.items]
            feed.items = feed.items[:50]
            feed.modified = datetime.now(UTC) + timedelta(seconds=1)
            feed.publish()
            self.added[link] = (feed.n, time.monotonic())
        return chosen

    def fetch_counts(self) -> Counter[str]:
        """Requests so far per ``host/path`` (counted as they arrive, not recounted)."""
        for server in self.servers:
            start = self._read.get(server.host, 0)
            for record in server.requests[start:]:
                self._counts[f"{server.host}{record.path}"] += 1
            self._read[server.host] = len(server.requests)
        return self._counts

    def reset_counts(self) -> None:
        """Forget the requests so far (the baseline's)."""
        for server in self.servers:
            server.requests.clear()
        self._counts.clear()
        self._read.clear()

    def fetches(self) -> int:
        """Requests so far, all feeds."""
        return sum(self.fetch_counts().values())

    def longest_gaps(self, start: float, end: float) -> list[float]:
        """Per feed, the longest time between two fetches from ``start`` to ``end`` (counting
        from ``start`` to its first fetch and from its last one to ``end``): how stale a
        feed's news could get in that stretch."""
        times: dict[str, list[float]] = {}
        for server in self.servers:
            for record in server.requests:
                if start <= record.time <= end:
                    times.setdefault(f"{server.host}{record.path}", []).append(record.time)
        out = []
        for feed in self.feeds:
            marks = [start, *sorted(times.get(f"{feed.server.host}{feed.path}", [])), end]
            out.append(max(b - a for a, b in pairwise(marks)))
        return out

    def cycles_done(self, since: Counter[str] | None = None) -> int:
        """How many times every feed has been fetched (the completed cycles); ``since``: the
        fetch counts to count from (a copy of ``fetch_counts()`` taken earlier)."""
        counts, before = self.fetch_counts(), since or Counter()
        keys = (f"{f.server.host}{f.path}" for f in self.feeds)
        return min((counts[key] - before[key] for key in keys), default=0)


def baseline(urls: list[str]) -> tuple[float, float]:
    """Sequential ``feedparser.parse(url)`` over ``urls`` (run in a thread): feeds per second
    of wall time, and feeds per CPU second of that thread (what a busy machine disturbs least;
    equal to the first on an idle one)."""
    started, cpu = time.perf_counter(), time.thread_time()
    for url in urls:
        parsed = feedparser.parse(url)
        if not parsed.entries:
            raise RuntimeError(f"baseline read no entries from {url}")
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    return len(urls) / wall, len(urls) / cpu


# Rules -----------------------------------------------------------------------------------------
def bench_queries(count: int, seed: int = 1) -> list[str]:
    """``count`` rule queries drawn as bench/rules.py draws them (its vocabulary, its mix)."""
    from bench.rules import load_articles, valid_queries
    from bench.vocab import build_vocabulary
    from peacewatch.rules.entities import builtin_dictionary

    articles = load_articles(samples_dir(), 300, seed)
    vocabulary = build_vocabulary((f"{a.title}\n{a.body}" for a in articles), builtin_dictionary())
    return [text for text, _ in valid_queries(vocabulary, count, seed)]


def write_config(
    path: Path, farm: FeedFarm, interval: int, queries: list[str], channels: list[str]
) -> None:
    """A `peacewatch run` config: every feed at ``interval``; the queries as rules dealt over
    ``channels``; no alerts for what the feeds held before the run (backfill 0)."""
    config: dict[str, Any] = {
        "team": "slack:T1" if channels[0].startswith("slack:") else "default",
        "backfill_hours": 0,
        "feeds": [
            {"id": f"f{feed.n}", "url": farm.url(feed), "interval": interval} for feed in farm.feeds
        ],
        "rules": [
            {"id": f"r{i}", "query": query, "channels": [channels[i % len(channels)]]}
            for i, query in enumerate(queries)
        ],
    }
    path.write_text(json.dumps(config))  # JSON is YAML: the loader reads it with line numbers


# Redis -----------------------------------------------------------------------------------------
class RedisProbe:
    """The bot's embedded Redis, read over its socket: the ingest backlog, command times, memory
    by key family."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self._client: aioredis.Redis | None = None

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.Redis(unix_socket_path=str(self.socket), decode_responses=True)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def backlog(self) -> int | None:
        """Entries waiting in the ingest stream (None when Redis does not answer yet)."""
        try:
            return int(await self._redis().xlen(keys.ingest_stream()))
        except (aioredis.RedisError, OSError):
            return None

    async def commandstats(self) -> dict[str, tuple[int, float]]:
        """Calls and microseconds per Redis command so far (INFO commandstats)."""
        try:
            info = await self._redis().info("commandstats")
        except (aioredis.RedisError, OSError):
            return {}
        return {
            name.removeprefix("cmdstat_"): (int(v["calls"]), float(v["usec"]))
            for name, v in info.items()
        }

    async def command_stats(
        self, since: dict[str, tuple[int, float]] | None = None, top: int = 8
    ) -> list[str]:
        """The Redis commands that took the most time (since ``since``, when given)."""
        now = await self.commandstats()
        if not now:
            return ["(INFO commandstats failed)"]
        before = since or {}
        delta = {
            name: (calls - before.get(name, (0, 0.0))[0], usec - before.get(name, (0, 0.0))[1])
            for name, (calls, usec) in now.items()
        }
        rows = sorted(delta.items(), key=lambda kv: -kv[1][1])[:top]
        return [
            f"{name:>16}: {calls:>9,} calls {usec / 1e6:7.1f} s "
            f"({usec / max(calls, 1):.0f} µs/call)"
            for name, (calls, usec) in rows
            if calls
        ]

    async def memory_by_family(self, top: int = 8) -> list[str]:
        """used_memory, then the key families (the key without its ids) holding the most."""
        redis = self._redis()
        try:
            used = int((await redis.info("memory"))["used_memory"])
            sizes: Counter[str] = Counter()
            counts: Counter[str] = Counter()
            batch: list[str] = []

            async def measure() -> None:
                async with redis.pipeline(transaction=False) as pipe:
                    for key in batch:
                        pipe.memory_usage(key, samples=0)
                    for key, size in zip(batch, await pipe.execute(), strict=True):
                        sizes[family(key)] += int(size or 0)
                        counts[family(key)] += 1
                batch.clear()

            async for key in redis.scan_iter(count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    await measure()
            await measure()
        except (aioredis.RedisError, OSError) as exc:
            return [f"(memory figures failed: {exc})"]
        lines = [f"used_memory {used / 2**20:,.0f} MB; keys by family:"]
        for name, size in sizes.most_common(top):
            lines.append(f"  {name:<34} {counts[name]:>9,} keys {size / 2**20:8.1f} MB")
        return lines


def family(key: str) -> str:
    """``pw:{v1}:feed:f12:http`` -> ``feed:*:http``: the key's name without ids."""
    parts = key.removeprefix(keys.PREFIX).split(":")
    named = {"feed", "seen", "article", "story", "team", "hist", "alert"}
    out = [parts[0]]
    for i, part in enumerate(parts[1:], 1):
        out.append("*" if parts[i - 1] in named or any(c.isdigit() for c in part) else part)
    return ":".join(out)


# The run ---------------------------------------------------------------------------------------
@dataclass
class Window:
    """One measured stretch of the run: from ``start`` to when the assigner caught up."""

    name: str
    start: float
    start_sample: Sample
    start_fetches: int
    fetched: float = 0.0  # seconds until its polls were all made
    seconds: float = 0.0  # seconds until the assigner caught up too
    fetches: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    cycles: list[float] = field(default_factory=list)  # wall seconds of each full cycle in it
    redis_before: dict[str, tuple[int, float]] = field(default_factory=dict)
    gaps: list[float] = field(default_factory=list)  # per feed, its longest time unpolled
    behind_before: int = 0  # ingest entries the assigner had not placed when it opened
    behind: int = 0  # and when it closed (0: caught up, the window's CPU includes all of it)
    redis_lines: list[str] = field(default_factory=list)  # Redis time by command in it

    def close(self, now: float, sample: Sample, fetches: int) -> None:
        self.seconds = now - self.start
        self.fetches = fetches - self.start_fetches
        self.cpu = sample.minus(self.start_sample)

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu.values())


async def grow_every(
    farm: FeedFarm, interval: float, stop: asyncio.Event, share: float = 0.1
) -> None:
    """About ``share`` of the feeds gain an item once per interval until ``stop`` (0: none)."""
    cycle = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            cycle += 1
            if share > 0:
                farm.grow(share, tag=str(cycle))


class Watch:
    """Follows the run every half second: cycles completed, CPU and memory, the backlog."""

    def __init__(
        self, farm: FeedFarm, proc: asyncio.subprocess.Process, probe: RedisProbe, limit: float
    ) -> None:
        self.farm = farm
        self.proc = proc
        self.probe = probe
        self.usage = Usage(proc.pid)
        self.started = time.monotonic()
        self.deadline = self.started + limit
        self.last = self.usage.sample()
        self.cycle_marks = [self.started]  # when each full cycle completed

    def alive(self) -> bool:
        if self.proc.returncode is not None:
            print(f"peacewatch run exited with {self.proc.returncode}; see its log", flush=True)
            return False
        return time.monotonic() < self.deadline

    async def tick(self) -> None:
        await asyncio.sleep(0.5)
        self.last = self.usage.sample()
        while self.farm.cycles_done() >= len(self.cycle_marks):
            self.cycle_marks.append(time.monotonic())

    async def until_cycles_since(self, since: Counter[str], cycles: int) -> list[float] | None:
        """Until every feed was fetched ``cycles`` more times than ``since`` says: when each of
        those cycles completed (None: the run ended or hit its limit first)."""
        marks: list[float] = []
        while self.alive():
            await self.tick()
            while self.farm.cycles_done(since) > len(marks):
                marks.append(time.monotonic())
            if len(marks) >= cycles:
                return marks
        return None

    async def until_cycles(self, done: int) -> bool:
        while self.alive():
            await self.tick()
            if len(self.cycle_marks) > done:
                return True
        return False

    async def until_caught_up(self, within: float) -> int:
        """Until the ingest stream is empty (twice in a row, half a second apart) or ``within``
        seconds passed; returns the entries still waiting (0: caught up)."""
        empty, waiting = 0, -1
        until = time.monotonic() + within
        while self.alive():
            await self.tick()
            waiting = await self.probe.backlog() or 0
            empty = empty + 1 if waiting == 0 else 0
            if empty >= 2 or time.monotonic() >= until:
                return waiting
        return waiting

    def open(self, name: str) -> Window:
        self.last = self.usage.sample()
        return Window(name, time.monotonic(), self.last, self.farm.fetches())

    def close(self, window: Window) -> None:
        self.last = self.usage.sample()
        window.close(time.monotonic(), self.last, self.farm.fetches())
        print(
            f"{time.monotonic() - self.started:6.1f} s: {window.name} done in "
            f"{window.seconds:.1f} s ({window.fetches:,} polls), CPU "
            + ", ".join(f"{k} {v:.1f} s" for k, v in window.cpu.items()),
            flush=True,
        )


async def measure(
    args: argparse.Namespace, farm: FeedFarm, watch: Watch
) -> tuple[Window | None, Window | None]:
    """The cold cycle, then the steady window (None: not finished within the limit)."""
    cold = watch.open("cold cycle")
    if not await watch.until_cycles(1):
        return None, None
    cold.fetched = watch.cycle_marks[1] - cold.start
    print(f"{cold.fetched:6.1f} s: every feed read once; waiting for the assigner", flush=True)
    stop_growing = asyncio.Event()
    grower = asyncio.create_task(grow_every(farm, args.interval, stop_growing, args.grow))
    try:
        cold.behind = await watch.until_caught_up(args.catch_up)
        if not watch.alive():
            return None, None
        watch.close(cold)
        steady = watch.open(f"steady ({args.cycles} cycles)")
        # full cycles from here on: a cycle the cold catch-up left nearly done is not one
        since = Counter(farm.fetch_counts())
        steady.redis_before = await watch.probe.commandstats()
        steady.behind_before = cold.behind
        marks = await watch.until_cycles_since(since, args.cycles)
        if marks is None:
            return cold, None
        steady.fetched = marks[-1] - steady.start
        steady.behind = await watch.until_caught_up(args.catch_up)
        if not watch.alive():
            return cold, None
        watch.close(steady)
        steady.redis_lines = await watch.probe.command_stats(steady.redis_before)
        steady.cycles = [b - a for a, b in pairwise([steady.start, *marks])]
        steady.gaps = farm.longest_gaps(steady.start, steady.start + steady.seconds)
        return cold, steady
    finally:
        stop_growing.set()
        await grower


async def run(args: argparse.Namespace) -> int:
    pool = sample_entries(samples_dir())
    if len(pool) < 100:
        print(f"ingest benchmark skipped: too few sample entries under {samples_dir()}")
        return 0
    farm = FeedFarm(pool, args.feeds)
    await farm.start()
    work = Path(tempfile.mkdtemp(prefix="pw-ingest-"))
    probe = RedisProbe(work / "data" / "redis.sock")
    try:
        step = max(1, len(farm.feeds) // args.baseline_sample)
        sample = [farm.url(f) for f in farm.feeds[::step]][: args.baseline_sample]
        base_wall, base_rate = await asyncio.to_thread(baseline, sample)
        farm.reset_counts()
        print(
            f"baseline: sequential feedparser.parse(url) over {len(sample):,} of "
            f"{len(farm.feeds):,} feeds: {base_wall:,.0f} feeds/s of wall time, "
            f"{base_rate:,.0f} feeds per CPU second (the baseline below)",
            flush=True,
        )
        queries = bench_queries(args.rules)
        write_config(work / "config.yaml", farm, args.interval, queries, ["console:bench"])
        traced = work / "heap.txt" if args.memory_by_module else None
        proc, port = await start_bot(work / "config.yaml", work, env_for(args, work), traced)
        try:
            watch = Watch(farm, proc, probe, args.limit)
            cold, steady = await measure(args, farm, watch)
            # a bot too busy to answer within a minute costs the poll figures, not the run
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                try:
                    values = await metrics(http, port)
                except TimeoutError:
                    print("/metrics did not answer within 60 s: no poll figures", flush=True)
                    values = {}
            stats = await probe.command_stats()
            memory = await probe.memory_by_family()
            if traced is not None:
                memory.append(await heap_by_module(proc, traced))
        finally:
            stopped = await stop_bot(proc)  # also when the bench fails: no bot left running
    finally:
        await probe.close()
        await farm.stop()
    print(f"\n{args.feeds:,} feeds, {args.rules:,} rules, interval {args.interval} s; log {work}")
    return report(args, (base_rate, len(sample)), cold, steady, watch.last, values,
                  stopped, stats + memory)  # fmt: skip


def env_for(args: argparse.Namespace, work: Path) -> dict[str, str]:
    out = {}
    if not args.warm_cache:  # a first start: rules compiled, language model built
        out["PEACEWATCH_CACHE_DIR"] = str(work / "cache")
    if args.max_polls:
        out["PEACEWATCH_MAX_POLLS"] = str(args.max_polls)
    return out


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def report(
    args: argparse.Namespace,
    base: tuple[float, int],
    cold: Window | None,
    steady: Window | None,
    usage: Sample,
    values: dict[str, float],
    stopped: float,
    redis_lines: list[str],
) -> int:
    feeds, (base_rate, base_count) = args.feeds, base
    heads = " ".join(f"{k + ' CPU s':>18}" for k in KINDS)
    print(f"{'window':22} {'wall s':>8} {'polls':>8} {heads} {'cores':>6} {'feeds/CPU s':>12}")
    for w in (cold, steady):
        if w is None:
            continue
        print(
            f"{w.name:22} {w.seconds:8.1f} {w.fetches:8,} "
            + " ".join(f"{w.cpu[k]:18.1f}" for k in KINDS)
            + f" {w.total_cpu / w.seconds:6.2f} {w.fetches / max(w.total_cpu, 1e-9):12,.0f}"
        )
        if w.behind or w.behind_before:
            print(
                f"  {w.name}: the story assigner had {w.behind_before:,} ingest entries waiting "
                f"at its start and {w.behind:,} at its end (not caught up within "
                f"{args.catch_up:.0f} s): their placing is missing from its CPU"
            )
    if steady is not None and steady.fetches:
        per = feeds / steady.fetches
        print(
            f"steady, per cycle of {feeds:,} polls: "
            + ", ".join(f"{k} {steady.cpu[k] * per:.1f} s" for k in KINDS)
            + f"; total {steady.total_cpu * per:.1f} CPU s; cycles took "
            + ", ".join(f"{c:.1f}" for c in steady.cycles)
            + " s"
        )
    results = polls(values)
    errors = results.get("error", 0)
    print(f"polls: {results}; items seen: {int(values.get('peacewatch_items_seen_total', 0)):,}")
    print(
        "peak RSS: " + ", ".join(f"{k} {mb(usage.hwm[k])} MB" for k in KINDS)
        + f"; summed over the processes alive together {mb(usage.total_hwm)} MB (peak of the "
        + "tree's RSS sampled every 0.5 s: "
        + f"{mb(usage.peak_rss)} MB); RSS at the end: "
        + ", ".join(f"{k} {mb(usage.rss[k])} MB" for k in KINDS)
        + f"; exit {stopped:.1f} s after SIGTERM"
    )  # fmt: skip
    print("Redis time by command, whole run:\n" + "\n".join(redis_lines))
    if steady is not None and steady.redis_lines:
        print("Redis time by command, steady window:\n" + "\n".join(steady.redis_lines))
    tag = f"{feeds}feeds"
    memory_ok = usage.total_hwm < 500 * 2**20
    print()
    # the tree's RSS at its sampled peak, and each process's own peak added up over the
    # processes alive together (an upper bound; a process that ended, such as a replaced worker
    # or the language model's builder at a first start, counts while it lived)
    figure(f"ingest_peak_rss_mb@{tag}", mb(usage.peak_rss), "-", "<500",
           usage.peak_rss < 500 * 2**20)  # fmt: skip
    figure(f"ingest_peak_rss_hwm_sum_mb@{tag}", mb(usage.total_hwm), "-", "<500", memory_ok)
    figure(f"ingest_poll_errors@{tag}", str(errors), "-", "0", errors == 0)
    if cold is not None and cold.total_cpu:
        rate = cold.fetches / cold.total_cpu
        figure(f"ingest_cold_fetch_s@{tag}", f"{cold.fetched:.0f}", "-", "<=300",
               cold.fetched <= 300)  # fmt: skip
        placed = f"{cold.seconds:.0f}" if not cold.behind else "-"
        figure(f"ingest_cold_cycle_placed_s@{tag}", placed, "-", "<=300",
               not cold.behind and cold.seconds <= 300)  # fmt: skip
        figure(f"ingest_cold_feeds_per_cpu_s@{tag}", f"{rate:.0f}", f"{base_rate:.0f}",
               f">={20 * base_rate:.0f}", rate >= 20 * base_rate)  # fmt: skip
    if steady is None or not steady.total_cpu:
        print("no steady window completed within the time limit: steady figures not measured")
        figure(f"ingest_steady_feeds_per_cpu_s@{tag}", "-", f"{base_rate:.0f}",
               f">={20 * base_rate:.0f}", False)  # fmt: skip
        return 1
    figure(f"ingest_assigner_behind@{tag}", str(steady.behind), "-", "0", steady.behind == 0)
    worst = max(steady.gaps or steady.cycles)
    cores = steady.total_cpu / steady.seconds
    capacity = steady.fetches / steady.total_cpu
    print(
        f"steady window of {steady.seconds:.0f} s: the longest any feed went unpolled "
        f"{worst:.0f} s (median feed {statistics.median(steady.gaps or [0]):.0f} s; interval "
        f"{args.interval} s)"
    )
    figure(f"ingest_steady_longest_unpolled_s@{tag}", f"{worst:.0f}", "-", "<=300",
           worst <= 300)  # fmt: skip
    figure(f"ingest_steady_cores@{tag}", f"{cores:.2f}", "-", "<1", cores < 1)
    figure(f"ingest_steady_feeds_per_cpu_s@{tag}", f"{capacity:.0f}", f"{base_rate:.0f}",
           f">={20 * base_rate:.0f}", capacity >= 20 * base_rate)  # fmt: skip
    print(
        f"(baseline over {base_count:,} feeds: its feeds/s is one core reading them one by one; "
        "ours is polls per CPU second of the bot, its parse workers and its Redis; the steady "
        f"cycle lasts the poll interval of {args.interval} s when the bot keeps up; peak RSS is "
        "the sum of the own peaks of the processes alive together)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=0, help="seconds; default feeds/200")
    parser.add_argument("--cycles", type=int, default=2, help="steady cycles after the first")
    parser.add_argument("--baseline-sample", type=int, default=1000)
    parser.add_argument(
        "--grow",
        type=float,
        default=0.1,
        help="share of the feeds that gain an item each interval once all were read (0: none, "
        "so the steady window measures polls that find nothing new alone)",
    )
    parser.add_argument("--max-polls", type=int, default=0, help="PEACEWATCH_MAX_POLLS")
    parser.add_argument("--limit", type=float, default=1500, help="seconds; the run stops then")
    parser.add_argument(
        "--catch-up", type=float, default=180, help="seconds to wait for the assigner at most"
    )
    parser.add_argument("--quick", action="store_true", help="1,000 feeds and rules, 200 s at most")
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="the bot uses the caller's PEACEWATCH_CACHE_DIR (compiled rules, language model) "
        "instead of an empty one of its own, as at a first start",
    )
    parser.add_argument(
        "--memory-by-module",
        action="store_true",
        help="trace the bot's allocations (tracemalloc) and print its heap by module at the end; "
        "tracing slows it and adds memory: its figures then say where memory goes, not how much",
    )
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.rules, args.cycles, args.limit, args.catch_up = 1000, 1000, 1, 200, 60
        args.baseline_sample = min(args.baseline_sample, 300)
    args.interval = args.interval or max(10, args.feeds // 200)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
