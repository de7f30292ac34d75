"""Unchanged-poll benchmark: CPU per poll of `peacewatch run` when no feed changes.

    .venv/bin/python bench/polls.py [--feeds 1000] [--interval 10] [--cycles 4] [--limit 300]

The poll path alone, without the story assigner and the rules that ``bench/ingest.py`` also
runs: ``--feeds`` loopback feeds of ``--items`` items (``bench/ingest.py``'s farm: a third
answer conditional GETs by ETag, a third by Last-Modified, a third always send the same body),
no rules. After every
feed was read once and its articles placed, the feeds stay as they are for ``--cycles`` cycles;
every poll then finds nothing new (304 or an unchanged body). Prints CPU microseconds per poll
of the bot and of its Redis server (psutil), and polls per CPU second of both, beside
sequential ``feedparser.parse(url)`` over a sample of the same feeds (which reads every feed
whole, as it has no validators: the baseline ``bench/ingest.py`` quotes too).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.botrun import Usage, figure, start_bot, stop_bot  # noqa: E402
from bench.ingest import FeedFarm, RedisProbe, baseline, sample_entries, write_config  # noqa: E402
from tests.helpers import samples_dir  # noqa: E402


async def run(args: argparse.Namespace) -> int:
    pool = sample_entries(samples_dir())
    if len(pool) < 100:
        print(f"poll benchmark skipped: too few sample entries under {samples_dir()}")
        return 0
    farm = FeedFarm(pool, args.feeds)
    await farm.start()
    for feed in farm.feeds:  # few articles to place after the first read: the assigner is idle
        feed.items = feed.items[: args.items]
        feed.publish()
    work = Path(tempfile.mkdtemp(prefix="pw-polls-"))
    probe = RedisProbe(work / "data" / "redis.sock")
    try:
        step = max(1, len(farm.feeds) // args.baseline_sample)
        sample = [farm.url(f) for f in farm.feeds[::step]][: args.baseline_sample]
        _, base_rate = await asyncio.to_thread(baseline, sample)
        farm.reset_counts()
        write_config(work / "config.yaml", farm, args.interval, [], ["console:bench"])
        proc, _ = await start_bot(work / "config.yaml", work)
        usage = Usage(proc.pid)
        deadline = time.monotonic() + args.limit
        done = await _until(lambda: farm.cycles_done() >= 1, deadline, proc)
        done = done and await _until_caught_up(probe, deadline, proc)
        if done:
            before, fetched = usage.sample(), farm.fetches()
            started = time.monotonic()
            first = farm.cycles_done()
            done = await _until(lambda: farm.cycles_done() >= first + args.cycles, deadline, proc)
            after, polled = usage.sample(), farm.fetches() - fetched
            seconds = time.monotonic() - started
        await stop_bot(proc)
    finally:
        await probe.close()
        await farm.stop()
    if not done:
        print(f"not done within {args.limit:g} s; log {work}")
        return 1
    cpu = after.minus(before)
    total = sum(cpu.values())
    per_poll = ", ".join(f"{k} {v / polled * 1e6:,.0f} µs" for k, v in cpu.items())
    rate = polled / total
    print(f"{args.feeds:,} feeds, interval {args.interval} s; log {work}")
    print(f"unchanged polls: {polled:,} in {seconds:.1f} s; CPU per poll: {per_poll}")
    print(f"{rate:,.0f} polls per CPU second; baseline {base_rate:,.0f} feeds per CPU second")
    figure(f"unchanged_polls_per_cpu_s@{args.feeds}feeds", f"{rate:.0f}", f"{base_rate:.0f}",
           f">={20 * base_rate:.0f}", rate >= 20 * base_rate)  # fmt: skip
    return 0


async def _until(
    done: Callable[[], bool], deadline: float, proc: asyncio.subprocess.Process
) -> bool:
    while time.monotonic() < deadline and proc.returncode is None:
        if done():
            return True
        await asyncio.sleep(0.5)
    return False


async def _until_caught_up(
    probe: RedisProbe, deadline: float, proc: asyncio.subprocess.Process
) -> bool:
    empty = 0
    while time.monotonic() < deadline and proc.returncode is None:
        empty = empty + 1 if not await probe.backlog() else 0
        if empty >= 2:
            return True
        await asyncio.sleep(0.5)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--items", type=int, default=5, help="items per feed")
    parser.add_argument("--baseline-sample", type=int, default=100)
    parser.add_argument("--limit", type=float, default=300, help="seconds; the run stops then")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
