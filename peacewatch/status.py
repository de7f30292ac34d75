"""Health figures of a running deployment, for `peacewatch status`, /metrics and chat."""

from __future__ import annotations

from dataclasses import dataclass

from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.feeds import FeedStore
from peacewatch.store.teams import TeamStore


@dataclass(frozen=True, slots=True)
class FeedHealth:
    feed_id: str
    url: str
    last_poll: str
    last_ok: str
    last_error: str
    items_seen: int
    failures: int


@dataclass(frozen=True, slots=True)
class Status:
    feeds: list[FeedHealth]
    queue: dict[str, int]
    delivery_failures: dict[str, str]
    rules: int
    teams: int
    articles: int

    def metrics(self) -> dict[str, float]:
        failing = sum(1 for f in self.feeds if f.last_error)
        return {
            "feeds": len(self.feeds),
            "feeds_failing": failing,
            "queue_stream": self.queue.get("stream", 0),
            "queue_pending": self.queue.get("pending", 0),
            "queue_dead": self.queue.get("dead", 0),
            "delivery_failures": len(self.delivery_failures),
            "rules": self.rules,
            "teams": self.teams,
            "articles": self.articles,
        }


async def collect(
    feeds: FeedStore, teams: TeamStore, queue: AlertQueue, articles: ArticleStore
) -> Status:
    out = []
    for feed in await feeds.all():
        health = await feeds.health(feed.id)
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
            )
        )
    team_ids = await teams.teams()
    rules = sum([len(await teams.rules(t)) for t in team_ids])
    return Status(
        feeds=out,
        queue=await queue.depth(),
        delivery_failures=await queue.failures(),
        rules=rules,
        teams=len(team_ids),
        articles=await articles.count(),
    )
