"""Whether a team receives a feed that carried an article (a personal follow reads only those).

A team receives the operator's config feeds and the feeds on its own list (those it added from
chat and those it subscribed to); a feed another team added from chat is that team's alone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from peacewatch.services.teamfeeds import from_config
from peacewatch.store import keys
from peacewatch.store.feeds import FeedSpec

if TYPE_CHECKING:
    import redis.asyncio as aioredis


class FeedScope:
    """Answers ``receives(team, feed)`` for the articles of one batch (feed specs cached)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._shared: dict[str, bool] = {}

    async def _config_feed(self, feed_id: str) -> bool:
        shared = self._shared.get(feed_id)
        if shared is None:
            raw = await self._redis.get(keys.feed(feed_id))
            # a feed removed since the article came in counts as nobody's but its listers'
            shared = bool(raw) and from_config(FeedSpec(**json.loads(raw)))
            self._shared[feed_id] = shared
        return shared

    async def receives(self, team_id: str, feed_id: str) -> bool:
        """Whether ``team_id`` receives feed ``feed_id``; an article of no feed (a file, a
        test) is everyone's."""
        if not feed_id or await self._config_feed(feed_id):
            return True
        return bool(await self._redis.sismember(keys.team_feeds(team_id), feed_id))

    async def receives_any(self, team_id: str, feed_ids: list[str]) -> bool:
        """Whether ``team_id`` receives any of the feeds that carried an article (an article
        first seen in another team's own feed is in scope once a feed of this team carries
        it)."""
        for feed_id in feed_ids:
            if await self.receives(team_id, feed_id):
                return True
        return False
