"""The rule editor's live preview: query check plus 7-day backtest, over 90 days of history.

Loads N articles (default 100,000) made from the real sample items, spread over 90 days, into
an embedded Redis in a temporary directory (as bench/search.py does), then times what the Slack
rule modal asks for on each change of the query: ``CommandService.rule_editor`` (the query
checked, then matches per day over the last 7 days with three example headlines). Each query
is also timed as a user types it, one prefix per word, the way the modal refreshes.

    python bench/backtest_preview.py [--articles 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search import NOW, QUERIES, load, load_samples, p95, synthesise
from peacewatch.services.commands import CommandService
from peacewatch.services.replies import Caller
from peacewatch.services.views import RuleForm
from peacewatch.store.history import HistoryIndex
from peacewatch.store.redis_server import start_server

ADMIN = Caller("slack", "slack:T1", "U1", "slack:C1", platform_admin=True)


def typed(query: str) -> list[str]:
    """The query as it grows word by word while typed."""
    words = query.split()
    return [" ".join(words[: i + 1]) for i in range(len(words))]


async def run(count: int, rounds: int) -> None:
    articles = synthesise(load_samples(), count)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        redis = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
        try:
            index = HistoryIndex(redis, clock=lambda: NOW)
            seconds = await load(redis, index, articles)
            print(f"indexed {count:,} articles over 90 days in {seconds:.1f} s")
            service = CommandService(redis, clock=lambda: NOW, history=index)
            # a running bot has its dictionaries loaded: the first call of a process is not timed
            await service.rule_editor(ADMIN, RuleForm(query="warm-up"))
            full: list[float] = []
            keystrokes: list[float] = []
            print(f"{'query':<58} {'7d hits':>8} {'p50 ms':>7} {'max ms':>7}")
            for query in QUERIES:
                times = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    editor = await service.rule_editor(ADMIN, RuleForm(query=query))
                    times.append(time.perf_counter() - started)
                full.extend(times)
                hits = editor.backtest.total if editor.backtest else -1
                print(
                    f"{query[:58]:<58} {hits:>8} {statistics.median(times) * 1000:>7.1f} "
                    f"{max(times) * 1000:>7.1f}"
                )
                for prefix in typed(query):
                    started = time.perf_counter()
                    await service.rule_editor(ADMIN, RuleForm(query=prefix))
                    keystrokes.append(time.perf_counter() - started)
            print()
            print(
                f"preview over {count:,} articles (90 days): full queries p50 "
                f"{statistics.median(full) * 1000:.0f} ms, p95 {p95(full) * 1000:.0f} ms; "
                f"as typed ({len(keystrokes)} prefixes, some invalid) p50 "
                f"{statistics.median(keystrokes) * 1000:.0f} ms, "
                f"p95 {p95(keystrokes) * 1000:.0f} ms"
            )
            for name, times in (("full", full), ("typed", keystrokes)):
                ms = p95(times) * 1000
                print(f"FIGURE name=backtest_preview_p95_ms_{name} value={ms:.0f} baseline=- "
                      f"target=<3000 met={'yes' if ms < 3000 else 'no'}")  # fmt: skip
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
