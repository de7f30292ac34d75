"""The mojibake check of one changed poll of a long feed: every item (before) against the sample.

    .venv/bin/python bench/garbled_sample.py [--items 500] [--rounds 7]

Builds a feed of ``--items`` real entries of the sample archive (bench/ingest.py's), reads it
as the poller does (``parse_bytes``, ``normalise``) and times, on this process's CPU (the
median of ``--rounds``), the check a changed poll runs on the event loop after one new item
arrived: over every item (the baseline, as the poller checked before) and over the poller's
sample (``GARBLED_SAMPLE`` items, the new one first). Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import sample_entries
from peacewatch.watchers.encoding import garbled_share
from peacewatch.watchers.normalise import normalise
from peacewatch.watchers.parse import parse_bytes
from peacewatch.watchers.poller import GARBLED_SAMPLE, _garbled_sample
from tests.helpers import rss, samples_dir


def cpu(step: Callable[[], object], rounds: int) -> float:
    """Median CPU seconds of ``step``."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        step()
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--long", action="store_true", help="each item's summary repeated to 1,000+ characters "
        "(the most of an item the check reads), as full-text feeds have"
    )  # fmt: skip
    args = parser.parse_args()
    now = datetime.now(UTC)
    pool = sample_entries(samples_dir())[: args.items]
    if len(pool) < args.items:
        print(f"only {len(pool)} sample entries found", file=sys.stderr)
        return 1
    items = [{**e, "published": now - timedelta(minutes=i)} for i, e in enumerate(pool)]
    if args.long:
        for item in items:
            item["summary"] = " ".join([item["summary"]] * (1 + 1000 // len(item["summary"])))
    parsed = parse_bytes(rss(items), "application/rss+xml")
    batch = [
        (normalise(e, feed_id="f", feed_url="http://127.0.0.1/f.xml", feed_title="F",
                   fetched_at=now), True)
        for e in parsed.entries
    ]  # fmt: skip
    batch.sort(key=lambda item: (item[0].published, item[0].id))
    new = [False] * len(batch)
    new[len(batch) // 2] = True  # one new item among those queued at earlier polls
    garbled_share(["warm-up"])  # the ftfy import is not the check's cost
    every = cpu(lambda: garbled_share(f"{a.title}\n{a.body}" for a, _ in batch), args.rounds)
    sample = cpu(lambda: garbled_share(_garbled_sample(batch, new)), args.rounds)
    print(f"mojibake check of one changed poll, {len(batch)} items, 1 new"
          f"{', 1,000+ characters each' if args.long else ''} "
          f"(CPU ms, median of {args.rounds})")  # fmt: skip
    print(f"  every item (baseline)        {every * 1000:8.2f}")
    print(f"  sample of {GARBLED_SAMPLE} (new first)     {sample * 1000:8.2f}")
    print(f"  ratio baseline/sample        {every / sample:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
