"""Health figures of a running deployment, for `peacewatch status`, /metrics and chat."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.feeds import FeedStore
from peacewatch.store.teams import TeamStore


def garbled_warning(health: Mapping[str, str]) -> str:
    """The warning for a feed whose last read had items with garbled text (mojibake, see
    watchers/encoding.py), e.g. "text looks garbled (mojibake) in 12 of 40 items, last seen
    2026-01-06 12:00 UTC"; "" when it had none."""
    garbled = int(health.get("garbled") or 0)
    if not garbled:
        return ""
    checked = int(health.get("garbled_checked") or 0)
    seen = health.get("garbled_at", "")
    try:
        seen = datetime.fromisoformat(seen).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        seen = seen[:16] or "unknown"
    return f"text looks garbled (mojibake) in {garbled} of {checked} items, last seen {seen}"


@dataclass(frozen=True, slots=True)
class FeedHealth:
    feed_id: str
    url: str
    last_poll: str
    last_ok: str
    last_error: str
    items_seen: int
    failures: int
    warning: str = ""
    """Something wrong with what the feed says though it is read (garbled text), or ""."""


@dataclass(frozen=True, slots=True)
class DestinationHealth:
    """One destination: ok, or failing since ``since`` (epoch seconds; 0 when unknown) with
    its last error; and how many alerts wait for it."""

    destination: str
    failing: bool
    since: float
    last_error: str
    failures: int
    waiting: int

    def since_text(self) -> str:
        if not self.since:
            return "unknown"
        return datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def as_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "since": self.since_text() if self.failing else None,
            "last_error": self.last_error,
            "failures": self.failures,
            "waiting": self.waiting,
        }


@dataclass(frozen=True, slots=True)
class Status:
    feeds: list[FeedHealth]
    queue: dict[str, int]
    delivery_failures: dict[str, str]
    rules: int
    teams: int
    articles: int
    destinations: tuple[DestinationHealth, ...] = ()

    @property
    def failing(self) -> list[DestinationHealth]:
        return [d for d in self.destinations if d.failing]

    def health(self) -> dict[str, Any]:
        """The delivery part of /healthz: ``ok`` or ``degraded`` with the failing ones."""
        return delivery_health(self.destinations)

    def metrics(self) -> dict[str, float]:
        failing = sum(1 for f in self.feeds if f.last_error)
        return {
            "feeds": len(self.feeds),
            "feeds_failing": failing,
            "feeds_garbled": sum(1 for f in self.feeds if f.warning),
            "queue_stream": self.queue.get("stream", 0),
            "queue_pending": self.queue.get("pending", 0),
            "queue_dead": self.queue.get("dead", 0),
            "queue_undelivered": self.queue.get("undelivered", 0),
            "delivery_failures": len(self.delivery_failures),
            "rules": self.rules,
            "teams": self.teams,
            "articles": self.articles,
        }


async def collect(
    feeds: FeedStore, teams: TeamStore, queue: AlertQueue, articles: ArticleStore
) -> Status:
    out = []
    specs = await feeds.all()
    for feed, health in zip(specs, await feeds.healths([f.id for f in specs]), strict=True):
        out.append(
            FeedHealth(
                feed_id=feed.id,
                url=feed.url,
                last_poll=health.get("last_poll", ""),
                last_ok=health.get("last_ok", ""),
                last_error=health.get("last_error", "")
                if health.get("last_error_at", "") >= health.get("last_ok", "")
                else "",
                items_seen=int(health.get("items_seen", 0)),
                failures=int(health.get("failures", 0)),
                warning=garbled_warning(health),
            )
        )
    rules = await delivery(teams, queue)
    known = rules.destinations
    return Status(
        feeds=out,
        queue=await queue.depth(),
        delivery_failures={d.destination: d.last_error for d in known if d.failing},
        rules=rules.rules,
        teams=rules.teams,
        articles=await articles.count(),
        destinations=known,
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """The rules and the destinations they post to, with each destination's health."""

    rules: int
    teams: int
    destinations: tuple[DestinationHealth, ...]


async def delivery(teams: TeamStore, queue: AlertQueue) -> Delivery:
    """What /healthz reports, without the feeds' health that ``collect`` reads as well."""
    team_ids = await teams.teams()
    rules = 0
    channels: set[str] = set()
    for team_id in team_ids:
        count, posted_to = await teams.rule_channels(team_id)
        rules += count
        channels |= posted_to
    return Delivery(rules, len(team_ids), await destinations(queue, channels))


def delivery_health(known: Sequence[DestinationHealth]) -> dict[str, Any]:
    """``ok`` or ``degraded`` with the failing destinations, as /healthz says it."""
    failing = [d for d in known if d.failing]
    return {
        "delivery": "degraded" if failing else "ok",
        "failing": [d.as_json() for d in failing],
    }


async def destinations(queue: AlertQueue, known: set[str]) -> tuple[DestinationHealth, ...]:
    """Every destination in ``known``, failing or with alerts waiting, sorted by name. A user
    whose direct messages are paused (gone, or blocking the bot) is not a delivery outage."""
    outages = {d: o for d, o in (await queue.outages()).items() if not o.paused}
    waiting = await queue.waiting_by_destination()
    out = []
    for name in sorted((known | set(outages) | set(waiting)) - {""}):
        outage = outages.get(name)
        out.append(
            DestinationHealth(
                destination=name,
                failing=outage is not None,
                since=outage.since if outage else 0.0,
                last_error=outage.error if outage else "",
                failures=outage.failures if outage else 0,
                waiting=waiting.get(name, 0),
            )
        )
    return tuple(out)
