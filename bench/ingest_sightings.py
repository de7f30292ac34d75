"""What noting every feed that carried an article costs a changed feed's poll.

A changed feed usually brings one new item among dozens queued at earlier polls. The ingest
stream's ``submit`` reads each item's first-sighting claim, whose value notes the feeds that
carried it (one MGET), then claims the new ones with their feed. The baseline, run beside it
on the same embedded Redis, is the submit before feeds were noted: one MGET of the claims, then
the claiming script for the new ones. Both run on the same batches:
``--items`` articles of one feed, one of them new at each poll.

Prints the median time of one submit (client wall clock, loopback Redis) for each, the Redis
memory of one claim for each, and ends with ``FIGURE`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from peacewatch.models import Article  # noqa: E402
from peacewatch.store import keys  # noqa: E402
from peacewatch.store.codec import article_to_json  # noqa: E402
from peacewatch.store.ingest import IngestStream  # noqa: E402
from peacewatch.store.redis_server import start_server  # noqa: E402

MAX_RATIO = 1.5
"""The submit may take at most this many times the baseline's time."""
TTL = 90 * 86400
# The claiming script as it was before feeds were noted (the baseline).
_BASELINE = """
local out = {}
for i = 2, #KEYS do
  local payload = ARGV[2 * (i - 1)]
  local alerts = ARGV[2 * (i - 1) + 1]
  if redis.call('SET', KEYS[i], 'queued', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'a', payload, 'alerts', alerts)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""


def article(feed: str, n: int, now: datetime) -> Article:
    return Article(
        id=f"{feed}-{n}",
        title=f"Envoys meet in Geneva for round {n} of the talks on a ceasefire",
        link=f"https://example.org/{feed}/{n}",
        published=now - timedelta(minutes=n),
        source="example.org",
        summary="Delegations met for a further round of talks on the front line and prisoners. "
        * 4,
        feed_id=feed,
    )


async def baseline_submit(
    redis: aioredis.Redis, script: object, batch: list[tuple[Article, bool]]
) -> None:
    claims = [keys.seen(a.id) for a, _ in batch]
    held = await redis.mget(claims)
    fresh = [i for i, claim in enumerate(held) if claim is None]
    if fresh:
        args: list[str | int] = [TTL]
        for i in fresh:
            a, alerts = batch[i]
            args += [article_to_json(a), "1" if alerts else "0"]
        await script(keys=[keys.ingest_stream(), *(claims[i] for i in fresh)], args=args)  # type: ignore[operator]


async def run(items: int, polls: int) -> tuple[float, float, float]:
    """(median ms of a submit, of the baseline's, bytes a claim takes beyond the baseline's)."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        redis = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
        try:
            stream = IngestStream(redis, clock=lambda: now)
            script = redis.register_script(_BASELINE)
            ours: list[float] = []
            base: list[float] = []
            for poll in range(polls + 1):
                # the feed as the poll sees it: the newest item new, the others queued before
                for feed, times in (("ours", ours), ("base", base)):
                    batch = [(article(feed, poll + k, now), True) for k in range(items)]
                    started = time.perf_counter()
                    if feed == "ours":
                        await stream.submit(batch)
                    else:
                        await baseline_submit(redis, script, batch)
                    if poll:  # the first poll queues the whole feed: not the steady case
                        times.append(time.perf_counter() - started)
            noted = await redis.memory_usage(keys.seen("ours-1")) or 0
            bare = await redis.memory_usage(keys.seen("base-1")) or 0
            return (
                statistics.median(ours) * 1000,
                statistics.median(base) * 1000,
                float(noted - bare),
            )
        finally:
            await redis.aclose()
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50, help="items in the feed")
    parser.add_argument("--polls", type=int, default=400, help="changed polls timed")
    args = parser.parse_args()
    ours, base, noted = asyncio.run(run(args.items, args.polls))
    ratio = ours / base
    print(f"a changed poll of {args.items} items, one new; median of {args.polls} polls")
    print(f"{'submit, feeds noted':28} {ours:8.3f} ms")
    print(f"{'baseline (claims only)':28} {base:8.3f} ms")
    print(f"one claim noting its feed: {noted:+.0f} bytes of Redis memory beside the baseline's")
    print(
        f"FIGURE name=ingest_sightings_submit_ms value={ours:.3f} baseline={base:.3f} "
        "target=- met=yes"
    )
    print(
        f"FIGURE name=ingest_sightings_ratio value={ratio:.2f} baseline=1.00 "
        f"target=<={MAX_RATIO:g} met={'yes' if ratio <= MAX_RATIO else 'no'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
