"""Ingest benchmark: `peacewatch run` polling 1,000 or 10,000 loopback feeds, beside feedparser.

    .venv/bin/python bench/ingest.py [--feeds 10000] [--rules 10000] [--interval 30]
                                     [--cycles 2] [--baseline-sample 1000] [--quick]

Serves ``--feeds`` RSS feeds from three loopback addresses (aiohttp, ``tests/fakes``), each of
20–50 real entries of the daily exports ``feeds-2026-01/2026/01/DAY/*.json`` (feeds overlap, as
real ones do); a third answer conditional GETs by ETag, a third by Last-Modified, a third
not at all. Every ``--interval`` seconds about 10% of the feeds gain an item. ``peacewatch run``
(a subprocess, embedded Redis) polls them at that interval with ``--rules`` rules drawn as
``bench/rules.py`` draws them.

Printed: the first cycle (every feed fetched once, full downloads) and then ``--cycles``
steady cycles (every feed polled once more): wall time, feeds/s, CPU seconds of the bot
process and of its Redis server per cycle, average cores, feeds per CPU second (what one core
sustains), the peak resident set (VmHWM) of both, and the poll errors from /metrics. The
baseline is sequential ``feedparser.parse(url)`` over the same feeds in the same run (over an
evenly spread sample of ``--baseline-sample`` feeds when there are more). ``--quick``: 1,000
feeds, 1,000 rules, 10 s interval, one steady cycle (about 2 minutes). Traffic goes to
127.0.0.0/8 only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
import psutil
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.helpers import free_port, rss, samples_dir  # noqa: E402

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
        counts: Counter[str] = Counter()
        for server in self.servers:
            for record in server.requests:
                counts[f"{server.host}{record.path}"] += 1
        return counts

    def cycles_done(self) -> int:
        """How many times every feed has been fetched (the completed cycles)."""
        counts = self.fetch_counts()
        return min((counts[f"{f.server.host}{f.path}"] for f in self.feeds), default=0)


def baseline(urls: list[str]) -> float:
    """Sequential ``feedparser.parse(url)`` over ``urls`` (run in a thread): feeds per second."""
    started = time.perf_counter()
    for url in urls:
        parsed = feedparser.parse(url)
        if not parsed.entries:
            raise RuntimeError(f"baseline read no entries from {url}")
    return len(urls) / (time.perf_counter() - started)


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


# The bot process -------------------------------------------------------------------------------
async def start_bot(
    config: Path, work: Path, extra: dict[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "PEACEWATCH_DATA_DIR": str(work / "data"),
        "PEACEWATCH_HTTP_PORT": str(port),
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
        "PEACEWATCH_ALLOW_NETWORKS": "127.0.0.0/8",
        **(extra or {}),
    }
    env.pop("REDIS_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peacewatch", "run", "--config", str(config),
        cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=(work / "run.log").open("wb"),
    )  # fmt: skip
    return proc, port


async def stop_bot(proc: asyncio.subprocess.Process) -> float:
    """SIGTERM, then seconds until it exited (killed after 30 s)."""
    started = time.monotonic()
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return time.monotonic() - started


class Usage:
    """CPU seconds and peak resident sets of the bot: its main process, its parse workers (its
    other children) and its Redis server (with the snapshot forks Redis has reaped)."""

    def __init__(self, pid: int) -> None:
        self.bot = psutil.Process(pid)
        self._known: dict[int, psutil.Process] = {}
        self._cpu_seen: dict[int, float] = {}
        self._hwm_seen: dict[int, int] = {}

    @staticmethod
    def hwm(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0

    def sample(self) -> Sample:
        bot = self.bot.cpu_times()
        out = Sample(bot_cpu=bot.user + bot.system, bot_hwm=self.hwm(self.bot.pid))
        try:
            for child in self.bot.children(recursive=False):
                self._known.setdefault(child.pid, child)
        except psutil.Error:
            pass
        for pid, child in self._known.items():
            try:
                times = child.cpu_times()
                redis = "redis" in child.name()
                cpu = times.user + times.system + (times.children_user + times.children_system
                                                   if redis else 0.0)  # fmt: skip
                self._cpu_seen[pid] = cpu
                self._hwm_seen[pid] = max(self._hwm_seen.get(pid, 0), self.hwm(pid))
            except psutil.Error:
                redis = False  # a worker that ended keeps the figures last seen
            if redis:
                out.redis_cpu += self._cpu_seen.get(pid, 0.0)
                out.redis_hwm += self._hwm_seen.get(pid, 0)
            else:
                out.worker_cpu += self._cpu_seen.get(pid, 0.0)
                out.worker_hwm += self._hwm_seen.get(pid, 0)
        return out


@dataclass
class Sample:
    bot_cpu: float = 0.0
    worker_cpu: float = 0.0
    redis_cpu: float = 0.0
    bot_hwm: int = 0
    worker_hwm: int = 0
    redis_hwm: int = 0

    @property
    def ours(self) -> float:
        return self.bot_cpu + self.worker_cpu


async def command_stats(socket: Path, top: int = 8) -> list[str]:
    """The Redis commands that took the most time (INFO commandstats), for "where it goes"."""
    import redis.asyncio as aioredis

    client = aioredis.Redis(unix_socket_path=str(socket))
    try:
        info = await client.info("commandstats")
    except Exception as exc:  # the figures are extra; the run stands without them
        return [f"(INFO commandstats failed: {exc})"]
    finally:
        await client.aclose()
    rows = sorted(info.items(), key=lambda kv: -float(kv[1]["usec"]))[:top]
    return [
        f"{name.removeprefix('cmdstat_'):>16}: {int(v['calls']):>9,} calls "
        f"{float(v['usec']) / 1e6:7.1f} s ({float(v['usec_per_call']):.0f} µs/call)"
        for name, v in rows
    ]


async def metrics(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """The bot's /metrics as ``name{label=value}`` -> value (empty when it does not answer)."""
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    except aiohttp.ClientError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def poll_errors(values: dict[str, float]) -> int:
    return int(values.get("peacewatch_polls_total{result=error}", 0))


# The run ---------------------------------------------------------------------------------------
@dataclass
class Cycle:
    name: str
    seconds: float
    ours_cpu: float  # the bot and its parse workers
    redis_cpu: float


async def grow_every(farm: FeedFarm, interval: float, stop: asyncio.Event) -> None:
    """About 10% of the feeds gain an item once per interval until ``stop``."""
    cycle = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            cycle += 1
            farm.grow(0.1, tag=str(cycle))


async def run(args: argparse.Namespace) -> int:
    pool = sample_entries(samples_dir())
    if len(pool) < 100:
        print(f"ingest benchmark skipped: too few sample entries under {samples_dir()}")
        return 0
    farm = FeedFarm(pool, args.feeds)
    await farm.start()
    work = Path(tempfile.mkdtemp(prefix="pw-ingest-"))
    try:
        step = max(1, len(farm.feeds) // args.baseline_sample)
        sample = [farm.url(f) for f in farm.feeds[::step]][: args.baseline_sample]
        base_rate = await asyncio.to_thread(baseline, sample)
        for server in farm.servers:
            server.requests.clear()
        print(
            f"baseline: sequential feedparser.parse(url) over {len(sample):,} of "
            f"{len(farm.feeds):,} feeds: {base_rate:,.0f} feeds/s",
            flush=True,
        )
        queries = bench_queries(args.rules)
        write_config(work / "config.yaml", farm, args.interval, queries, ["console:bench"])
        proc, port = await start_bot(work / "config.yaml", work)
        cycles, usage, values = await watch(args, farm, proc, port)
        stats = await command_stats(work / "data" / "redis.sock")
        stopped = await stop_bot(proc)
    finally:
        await farm.stop()
    return report(args, (base_rate, len(sample)), cycles, usage, values, stopped, work, stats)


async def watch(
    args: argparse.Namespace, farm: FeedFarm, proc: asyncio.subprocess.Process, port: int
) -> tuple[list[Cycle], Sample, dict[str, float]]:
    usage = Usage(proc.pid)
    cycles: list[Cycle] = []
    started = time.monotonic()
    mark = (started, Sample())
    stop_growing = asyncio.Event()
    grower: asyncio.Task[None] | None = None
    deadline = started + args.limit
    last = usage.sample()
    async with aiohttp.ClientSession() as http:
        while len(cycles) < args.cycles + 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if proc.returncode is not None:
                print(f"peacewatch run exited with {proc.returncode}; see its log")
                break
            last = usage.sample()
            if farm.cycles_done() > len(cycles):
                now = time.monotonic()
                name = "first (full downloads)" if not cycles else f"steady {len(cycles)}"
                ours, redis = last.ours - mark[1].ours, last.redis_cpu - mark[1].redis_cpu
                cycles.append(Cycle(name, now - mark[0], ours, redis))
                mark = (now, last)
                print(
                    f"{now - started:6.1f} s: cycle {name} done in {cycles[-1].seconds:.1f} s, "
                    f"CPU {ours:.1f} s (bot) + {redis:.1f} s (redis)",
                    flush=True,
                )
                if grower is None:  # steady cycles: items appear while the bot polls
                    grower = asyncio.create_task(grow_every(farm, args.interval, stop_growing))
        values = await metrics(http, port)
    stop_growing.set()
    if grower is not None:
        await grower
    return cycles, last, values


def report(
    args: argparse.Namespace,
    base: tuple[float, int],
    cycles: list[Cycle],
    usage: Sample,
    values: dict[str, float],
    stopped: float,
    work: Path,
    stats: list[str],
) -> int:
    feeds, (base_rate, base_count) = args.feeds, base
    print(f"\n{feeds:,} feeds, {args.rules:,} rules, interval {args.interval} s; log {work}")
    print(f"{'cycle':24} {'wall s':>8} {'feeds/s':>9} {'bot CPU s':>10} {'redis CPU s':>12}"
          f" {'cores':>6} {'feeds/CPU s':>12}")  # fmt: skip
    for c in cycles:
        cpu = c.ours_cpu + c.redis_cpu
        print(
            f"{c.name:24} {c.seconds:8.1f} {feeds / c.seconds:9,.0f} {c.ours_cpu:10.1f} "
            f"{c.redis_cpu:12.1f} {cpu / c.seconds:6.2f} {feeds / max(cpu, 1e-9):12,.0f}"
        )
    errors = poll_errors(values)
    polls = {
        k.partition("=")[2].rstrip("}"): int(v)
        for k, v in values.items()
        if k.startswith("peacewatch_polls_total")
    }
    print(f"polls: {polls}; items seen: {int(values.get('peacewatch_items_seen_total', 0)):,}")
    print(
        f"peak RSS: bot {usage.bot_hwm / 2**20:,.0f} MB, parse workers "
        f"{usage.worker_hwm / 2**20:,.0f} MB, redis {usage.redis_hwm / 2**20:,.0f} MB; "
        f"exit {stopped:.1f} s after SIGTERM"
    )
    print("Redis time by command:\n" + "\n".join(stats))
    steady = [c for c in cycles if c.name.startswith("steady")]
    if not steady:
        print("no steady cycle completed within the time limit: targets not measured")
        return 1
    worst = max(steady, key=lambda c: c.seconds)
    cpu = sum(c.ours_cpu + c.redis_cpu for c in steady) / len(steady)
    cores = cpu / worst.seconds
    capacity = feeds / cpu
    memory = usage.bot_hwm + usage.worker_hwm + usage.redis_hwm
    rows = [
        ("steady cycle (s)", f"{worst.seconds:.1f}", "-", "≤ 300", worst.seconds <= 300),
        ("cores, average", f"{cores:.2f}", "1.00", "< 1", cores < 1),
        ("feeds/s per core", f"{capacity:,.0f}", f"{base_rate:,.0f}",
         f"≥ {20 * base_rate:,.0f} (20×)", capacity >= 20 * base_rate),
        ("peak RSS, all (MB)", f"{memory / 2**20:,.0f}", "-", "< 500", memory < 500 * 2**20),
        ("poll errors", str(errors), "-", "0", errors == 0),
    ]  # fmt: skip
    print(f"\n{'figure':26} {'ours':>10} {'baseline':>10} {'target':>18}  met")
    for name, ours, base_, target, met in rows:
        print(f"{name:26} {ours:>10} {base_:>10} {target:>18}  {'met' if met else 'MISSED'}")
    print(
        f"(baseline over {base_count:,} feeds; feeds/s per core = feeds / CPU seconds of the bot, "
        "its parse workers and its Redis per steady cycle; a cycle lasts the poll interval)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--cycles", type=int, default=2, help="steady cycles after the first")
    parser.add_argument("--baseline-sample", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=900, help="seconds; the run stops then")
    parser.add_argument("--quick", action="store_true", help="1,000 feeds, about 2 minutes")
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.rules, args.interval, args.cycles, args.limit = 1000, 1000, 10, 1, 150
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
