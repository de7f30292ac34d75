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


_MERGE = """
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 2) == 'm:' then
    redis.call('HSET', KEYS[2], fields[i], fields[i + 1])
  end
end
local members = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  redis.call('ZADD', KEYS[4], members[i + 1], members[i])
  local key = ARGV[4] .. members[i]
  local value = redis.call('GET', key)
  local copied = ''
  if value then
    local space = string.find(value, ' ', 1, true)
    if space then copied = string.sub(value, space + 1) end
  end
  redis.call('SET', key, ARGV[2] .. ' ' .. copied, 'EX', ARGV[3])
end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SET', KEYS[6], ARGV[2], 'EX', ARGV[3])
redis.call('SADD', KEYS[7], ARGV[2] .. ' ' .. ARGV[1])
return 1
"""


def queue_member(pipe: Any, member: Member, ttl: timedelta) -> None:
    """Queue on ``pipe`` the writes that record one placed article."""
    feats = member.features
    pipe.hset(keys.story(member.story_id), "m:" + feats.article_id, member.to_json())
    pipe.zadd(keys.story_members(member.story_id), {feats.article_id: feats.published})
    pipe.set(
        keys.article_story(feats.article_id),
        f"{member.story_id} {member.duplicate_of or ''}",
        ex=int(ttl.total_seconds()),
    )


def queue_merge(pipe: Any, survivor: str, absorbed: str, ttl: timedelta) -> None:
    """Queue on ``pipe`` the move of a merged story's members into the surviving story, the
    note that one points to the other, and a pending merge for the chat side to carry over."""
    pipe.eval(
        _MERGE,
        7,
        keys.story(absorbed),
        keys.story(survivor),
        keys.story_members(absorbed),
        keys.story_members(survivor),
        keys.stories_active(),
        keys.story_alias(absorbed),
        keys.story_merges_pending(),
        absorbed,
        survivor,
        int(ttl.total_seconds()),
        keys.article_story(""),
    )


def queue_stories(pipe: Any, index: WindowIndex, story_ids: Sequence[str], ttl: timedelta) -> None:
    """Queue on ``pipe`` what a story holds besides its members (first article, outlets, the
    time of its newest member), for the stories of ``story_ids`` still in the index."""
    seconds = int(ttl.total_seconds())
    for story_id in dict.fromkeys(story_ids):
        story = index.stories.get(story_id)
        if story is None:
            continue  # merged into another story in the same batch
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
