"""`peacewatch demo`: the whole pipeline on the shipped sample feeds, offline, ending by itself."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import yaml

from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.demo.server import LocalFeedServer
from peacewatch.errors import ConfigError
from peacewatch.models import AlertKind
from peacewatch.rules.rulefile import parse_rules
from peacewatch.settings import Settings
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.poller import PollPolicy, PollResult

DEMO_TEAM = "demo"
CONTENT_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    feeds: int
    items: int
    alerts: int
    followups: int
    not_modified: int
    stories_with_followups: int
    widest_story: int
    """Most outlets carrying one story that got follow-ups."""


def _package_file(name: str) -> bytes:
    return (resources.files("peacewatch.demo") / name).read_bytes()


def _manifest() -> list[dict[str, Any]]:
    data = yaml.safe_load(_package_file("feeds/manifest.yaml"))
    feeds: list[dict[str, Any]] = data["feeds"]
    return feeds


async def _poll_round(app: App, feed_ids: list[str], wait: float) -> list[PollResult]:
    """Bring each feed's job forward in turn and wait for its poll (one at a time, so the demo
    tells the same story on every run)."""
    results: list[PollResult] = []
    for feed_id in feed_ids:
        done = asyncio.Event()

        async def on_result(result: PollResult, done: asyncio.Event = done) -> None:
            results.append(result)
            done.set()

        app.scheduler.on_result = on_result
        await app.scheduler.run_now(feed_id)
        await asyncio.wait_for(done.wait(), wait)
    app.scheduler.on_result = None
    return results


async def run_demo(data_dir: Path, out: TextIO | None = None, wait: float = 50.0) -> DemoSummary:
    """Run the demo with its data under ``data_dir/demo`` (wiped first, so it always alerts)."""
    out = out or sys.stdout
    demo_dir = data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    rules, errors = parse_rules(_package_file("rules.yaml").decode(), "demo/rules.yaml")
    if errors:
        raise ConfigError("\n".join(str(e) for e in errors))

    server = LocalFeedServer()
    await server.start()
    manifest = _manifest()
    for feed in manifest:
        server.set(
            feed["id"], _package_file(f"feeds/{feed['phase1']}"), CONTENT_TYPES[feed["format"]]
        )

    settings = Settings(PEACEWATCH_DATA_DIR=demo_dir)
    sink = ConsoleSink(out)
    app = await App.open(
        settings.model_copy(update={"redis_url": None}),
        poll_policy=PollPolicy(backfill=None, max_age=None),  # sample news is old: alert on all
        sinks=[sink],
        guard=GuardPolicy(allow_networks=("127.0.0.1/32",)),
    )
    try:
        await app.teams.replace(DEMO_TEAM, rules.rules, rules.entities)
        feed_ids = []
        for feed in manifest:
            spec = FeedSpec(feed["id"], server.url(feed["id"]), 3600, feed["outlet"], DEMO_TEAM)
            await app.feeds.put(spec)
            # first run far ahead: each round brings the jobs forward explicitly
            app.scheduler.schedule(spec, first_run=datetime.now(UTC) + timedelta(days=1))
            feed_ids.append(spec.id)
        out.write(
            f"peacewatch demo: {len(manifest)} sample feeds on 127.0.0.1:{server.port}, "
            f"{len(rules.rules)} rules, embedded Redis in {demo_dir}\n\n"
        )
        app.scheduler.start()

        out.write("== Poll 1: what the feeds carry now\n\n")
        first = await _poll_round(app, feed_ids, wait)
        await app.assigner.drain()
        await app.dispatcher.drain()

        for feed in manifest:
            server.set(
                feed["id"], _package_file(f"feeds/{feed['phase2']}"), CONTENT_TYPES[feed["format"]]
            )
        out.write("== Poll 2: the feeds gained newer items\n\n")
        second = await _poll_round(app, feed_ids, wait)
        await app.assigner.drain()
        await app.dispatcher.drain()

        out.write("== Poll 3: nothing changed (conditional GET)\n\n")
        third = await _poll_round(app, feed_ids, wait)
        await app.assigner.drain()
        await app.dispatcher.drain()

        alerts = [a for a in await _team_alerts(app)]
        followups = [a for a in alerts if a.kind is AlertKind.FOLLOWUP]
        per_story = Counter(a.story_id for a in followups)
        summary = DemoSummary(
            feeds=len(manifest),
            items=sum(r.items for r in first) + sum(r.new for r in second),
            alerts=app.dispatcher.stats.delivered,
            followups=len(followups),
            not_modified=sum(1 for r in third if r.status == "not_modified"),
            stories_with_followups=len(per_story),
            widest_story=max(
                (a.outlet_count for a in alerts if a.story_id in per_story), default=0
            ),
        )
        errors_seen = [r for r in (*first, *second, *third) if r.status == "error"]
        for result in errors_seen:
            out.write(f"feed {result.feed_id} failed: {result.error}\n")
        out.write(
            f"== Done: {summary.items} items from {summary.feeds} feeds, "
            f"{summary.alerts} alerts delivered ({summary.followups} follow-ups in "
            f"{summary.stories_with_followups} story threads, the widest story carried by "
            f"{summary.widest_story} outlets); poll 3 answered 304 for "
            f"{summary.not_modified} of {summary.feeds} feeds.\n"
        )
        return summary
    finally:
        await app.close()
        await server.stop()


async def _team_alerts(app: App) -> list[Any]:
    from peacewatch.store.codec import alert_from_json

    texts = await app.teams.recent_alerts(DEMO_TEAM, limit=1000)
    return [alert_from_json(t) for t in texts]
