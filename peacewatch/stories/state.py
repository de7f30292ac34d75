"""Story state in Redis: what the assigner writes per batch, what a successor loads, what
alerts and commands read (a story's members)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from peacewatch.errors import StoreError
from peacewatch.store import keys
from peacewatch.stories.memory import Member, WindowIndex

RETENTION = timedelta(days=14)
"""How long story state stays in Redis after its last write."""
LOAD_CHUNK = 200
"""Stories read per round trip when an assigner loads the state."""


def queue_members(pipe: Any, index: WindowIndex, members: Sequence[Member], ttl: timedelta) -> None:
    """Queue on ``pipe`` the writes that record ``members`` (already added to ``index``)."""
    seconds = int(ttl.total_seconds())
    touched: list[str] = []
    for member in members:
        feats = member.features
        story_key = keys.story(member.story_id)
        pipe.hset(story_key, "m:" + feats.article_id, member.to_json())
        pipe.zadd(keys.story_members(member.story_id), {feats.article_id: feats.published})
        pipe.set(
            keys.article_story(feats.article_id),
            f"{member.story_id} {member.duplicate_of or ''}",
            ex=seconds,
        )
        if member.story_id not in touched:
            touched.append(member.story_id)
    for story_id in touched:
        story = index.stories[story_id]
        fields = {"first": story.first, "outlets": json.dumps(story.outlets, ensure_ascii=False)}
        pipe.hset(keys.story(story_id), mapping=fields)
        pipe.zadd(keys.stories_active(), {story_id: story.latest}, gt=True)
        for key in (keys.story(story_id), keys.story_members(story_id)):
            pipe.expire(key, seconds)
    pipe.expire(keys.stories_active(), seconds)


async def load_members(redis: aioredis.Redis, horizon: float) -> list[Member]:
    """Every member of every story with a member published at or after ``horizon``."""
    try:
        found = await redis.zrangebyscore(keys.stories_active(), horizon, "+inf")
        story_ids = [str(s) for s in found]
        out: list[Member] = []
        for start in range(0, len(story_ids), LOAD_CHUNK):
            chunk = story_ids[start : start + LOAD_CHUNK]
            async with redis.pipeline(transaction=False) as pipe:
                for story_id in chunk:
                    pipe.hgetall(keys.story(story_id))
                replies = await pipe.execute()
            for story_id, fields in zip(chunk, replies, strict=True):
                out.extend(
                    Member.from_json(story_id, str(v))
                    for k, v in fields.items()
                    if str(k).startswith("m:")
                )
        return out
    except RedisError as exc:
        raise StoreError(f"could not load the story state: {exc}") from exc


async def prune_stories(redis: aioredis.Redis, before: float) -> int:
    """Forget stories whose newest member is older than ``before`` (their keys expire)."""
    return int(await redis.zremrangebyscore(keys.stories_active(), "-inf", f"({before}"))


class StoryReader:
    """What the rest of the bot reads of the stories."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def members(self, story_id: str) -> list[str]:
        """Article ids of a story, oldest publication first (empty for an unknown story)."""
        try:
            return list(await self._redis.zrange(keys.story_members(story_id), 0, -1))
        except RedisError as exc:
            raise StoreError(f"could not read story {story_id}: {exc}") from exc

    async def story_of(self, article_id: str) -> str | None:
        """The story an article was placed in, None if it was not (yet)."""
        value = await self._redis.get(keys.article_story(article_id))
        return str(value).partition(" ")[0] if value else None
