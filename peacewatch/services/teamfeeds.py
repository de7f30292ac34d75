"""Which feeds a team receives (the config's, its own, those it subscribed to), and sharing them.

A feed is polled once however many teams want it: ``feeds add`` of a URL already watched (by
the config or another team) subscribes the team to the existing feed instead of adding a second
poll. A feed added from chat is recorded with the id ``chat_feed_id(team, url)`` of the team that
added it; any other feed came from the operator's config (``peacewatch run --config``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from peacewatch.store import keys
from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.store.teams import TeamStore

if TYPE_CHECKING:
    import redis.asyncio as aioredis

Origin = Literal["config", "team", "subscribed"]
LABELS: dict[Origin, str] = {
    "config": "config feed",
    "team": "added by this team",
    "subscribed": "shared with another team",
}


def chat_feed_id(team_id: str, url: str) -> str:
    """The id of a feed that team ``team_id`` added from chat."""
    return "f" + hashlib.sha256(f"{team_id}\x00{url}".encode()).hexdigest()[:11]


def from_config(feed: FeedSpec) -> bool:
    """Whether the feed came from the operator's config rather than a team's ``feeds add``."""
    return not feed.team_id or feed.id != chat_feed_id(feed.team_id, feed.url)


@dataclass(frozen=True, slots=True)
class TeamFeed:
    spec: FeedSpec
    origin: Origin

    @property
    def label(self) -> str:
        return LABELS[self.origin]


def same_url(a: str, b: str) -> bool:
    """Two spellings of one feed URL: case of scheme and host, a trailing slash."""

    def norm(url: str) -> str:
        scheme, sep, rest = url.strip().partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}".rstrip("/")

    return norm(a) == norm(b)


class TeamFeeds:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._feeds = FeedStore(redis)
        self._teams = TeamStore(redis)

    async def of(self, team_id: str) -> list[TeamFeed]:
        """Every feed the team receives: the config's, its own and those it subscribed to;
        its own and subscribed first, then the config's, each by outlet."""
        own = set(await self._teams.feed_ids(team_id))
        found: list[TeamFeed] = []
        for feed in await self._feeds.all():
            if feed.id in own:
                mine = feed.team_id == team_id and not from_config(feed)
                found.append(TeamFeed(feed, "team" if mine else "subscribed"))
            elif from_config(feed):
                found.append(TeamFeed(feed, "config"))
        order = {"team": 0, "subscribed": 0, "config": 1}
        found.sort(key=lambda f: (order[f.origin], f.spec.outlet.lower(), f.spec.id))
        return found

    async def watched(self, url: str) -> FeedSpec | None:
        """The feed already polled at ``url`` (by the config or any team), if there is one."""
        for feed in await self._feeds.all():
            if same_url(feed.url, url):
                return feed
        return None

    async def subscribers(self, feed_id: str) -> list[str]:
        """The teams whose feed lists hold ``feed_id``."""
        teams = []
        async for key in self._redis.scan_iter(match=keys.team_feeds("*"), count=500):
            if await self._redis.sismember(key, feed_id):
                teams.append(key)
        return teams

    async def leave(self, team_id: str, feed_id: str) -> bool | None:
        """Take ``feed_id`` off the team's list; None if it was not on it. Returns whether the
        feed itself was removed: only a chat feed that no team receives any more is; a config
        feed or one another team still receives keeps being polled."""
        if not await self._teams.remove_feed(team_id, feed_id):
            return None
        feed = next((f for f in await self._feeds.all() if f.id == feed_id), None)
        if feed is None or from_config(feed) or await self.subscribers(feed_id):
            return False
        await self._feeds.remove(feed_id)
        return True
