"""``rules suggest`` on a busy rule: the -word search alone against -word plus NEAR proposals.

Stores N alerts (default 2,000; a tenth of them marked "Not relevant") of one rule, each on an
article made from the real sample items, in an embedded Redis in a temporary directory, then
times ``CommandService.suggestion`` for a one-term rule (no pair of terms: the -word search
only, the baseline) and for rules of two and four required terms (pairs of the first three are
also tried as NEAR: distances on a sample by bisecting 15 steps with the real engine, then the
best two proposals backtested on every alert).

    python bench/suggest_near.py [--alerts 2000] [--rounds 5]

Ends with ``FIGURE`` lines (the four-term rule's median, and its ratio to the one-term rule's).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search import NOW, load_samples, synthesise
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.services.replies import Caller
from peacewatch.store.articles import ArticleStore
from peacewatch.store.codec import alert_to_json
from peacewatch.store.redis_server import start_server
from peacewatch.store.teams import TeamStore
from tests.fakes.slack_api import sample_alert

MAX_RATIO = 3.0
"""Target: trying NEAR on three pairs at most triples the time of the -word search alone."""
MEMBER = Caller("slack", "slack:T1", "U1", "slack:C1")
RULES = {
    "1 term (baseline: -word only)": "Ukraine",
    "2 terms (1 NEAR pair)": "Ukraine AND Russia",
    "4 terms (3 NEAR pairs)": "Ukraine AND Russia AND (talks OR peace) AND (Witkoff OR Putin)",
}


async def seed(redis: aioredis.Redis, service: CommandService, count: int) -> None:
    articles = synthesise(load_samples(), count)
    store, teams = ArticleStore(redis), TeamStore(redis)
    for i, article in enumerate(articles):
        article = replace(article, published=NOW - timedelta(hours=i % 2000))
        await store.save(article)
        alert = replace(
            sample_alert(alert_id=f"al{i}", story_id=f"s{i}"),
            article_id=article.id,
            rule_id="r",
            created=NOW - timedelta(minutes=i),
        )
        await teams.record_alert("slack:T1", alert_to_json(alert), alert.created, alert.alert_id)
        if i % 10 == 0:
            await service.feedback(MEMBER, f"s{i}", "not_relevant", f"al{i}")


async def run(count: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        redis = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
        try:
            service = CommandService(redis, clock=lambda: NOW)
            await seed(redis, service, count)
            print(f"{count:,} alerts of one rule, {count // 10:,} marked not relevant")
            print(f"{'rule':<32} {'p50 ms':>8} {'max ms':>8} {'ratio':>6}  proposal")
            baseline = 0.0
            medians: list[float] = []
            for label, query in RULES.items():
                await TeamStore(redis).put_rule(
                    "slack:T1", RuleSpec(id="r", query=query, channels=["slack:C1"])
                )
                times, best = [], ""
                for _ in range(rounds):
                    service = CommandService(redis, clock=lambda: NOW)  # no warm engine cache
                    started = time.perf_counter()
                    suggestion = await service.suggestion(MEMBER, "r")
                    times.append(time.perf_counter() - started)
                    best = suggestion.best.query if suggestion.best else "none"
                median = statistics.median(times) * 1000
                baseline = baseline or median
                medians.append(median)
                print(
                    f"{label:<32} {median:>8.0f} {max(times) * 1000:>8.0f} "
                    f"{median / baseline:>6.1f}  {best[:60]}"
                )
            ratio = medians[-1] / baseline
            print(
                f"FIGURE name=suggest_near_4terms_p50_ms value={medians[-1]:.0f} "
                f"baseline={baseline:.0f} target=- met=yes"
            )
            print(
                f"FIGURE name=suggest_near_4terms_ratio value={ratio:.2f} baseline=1.00 "
                f"target=<={MAX_RATIO:g} met={'yes' if ratio <= MAX_RATIO else 'no'}"
            )
        finally:
            await redis.aclose()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.alerts, args.rounds))


if __name__ == "__main__":
    main()
