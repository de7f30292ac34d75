"""Story state in Redis: what the assigner writes per batch, what a successor loads, what
alerts and commands read (a story's members)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import timedelta

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from peacewatch.errors import StoreError
from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.codec import article_to_json
from peacewatch.store.history import tokens_of
from peacewatch.stories.memory import Member, WindowIndex

RETENTION = timedelta(days=14)
"""How long story state stays in Redis after its last write."""
LOAD_CHUNK = 200
"""Stories read per round trip when an assigner loads the state."""
VOCAB_CHUNK = 1000
"""Index words added per ZADD of a batch (Lua's ``unpack`` has a bounded stack)."""
_FIRST_RECORD = 2
"""``ARGV`` of :data:`_WRITE_BATCH` before the first stored record (the token, the JSON)."""


_WRITE_BATCH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local active, pending, by_time, hist_all, hist_vocab = KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local batch = cjson.decode(ARGV[2])
local shapes, ttl = batch.keys, batch.ttl

local function key(shape, id)
  local parts = shapes[shape]
  return parts[1] .. id .. parts[2]
end

local function merge(survivor, absorbed)
  local fields = redis.call('HGETALL', key('story', absorbed))
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 'm:' then
      redis.call('HSET', key('story', survivor), fields[i], fields[i + 1])
    end
  end
  local members = redis.call('ZRANGE', key('members', absorbed), 0, -1, 'WITHSCORES')
  for i = 1, #members, 2 do
    redis.call('ZADD', key('members', survivor), members[i + 1], members[i])
    local place = key('placed', members[i])
    local value = redis.call('GET', place)
    local copied = ''
    if value then
      local space = string.find(value, ' ', 1, true)
      if space then copied = string.sub(value, space + 1) end
    end
    redis.call('SET', place, survivor .. ' ' .. copied, 'EX', ttl)
  end
  redis.call('DEL', key('story', absorbed), key('members', absorbed))
  redis.call('ZREM', active, absorbed)
  redis.call('SET', key('alias', absorbed), survivor, 'EX', ttl)
  redis.call('SADD', pending, survivor .. ' ' .. absorbed)
end

for _, event in ipairs(batch.events) do
  if event[1] == 'm' then
    local story, article = event[2], event[3]
    redis.call('HSET', key('story', story), 'm:' .. article, ARGV[event[4]])
    redis.call('ZADD', key('members', story), event[5], article)
    redis.call('SET', key('placed', article), story .. ' ' .. event[6], 'EX', ttl)
  else
    merge(event[2], event[3])
  end
end
for _, story in ipairs(batch.stories) do
  local id = story[1]
  redis.call('HSET', key('story', id), 'first', story[2], 'outlets', story[3])
  redis.call('ZADD', active, 'GT', story[4], id)
  redis.call('EXPIRE', key('story', id), ttl)
  redis.call('EXPIRE', key('members', id), ttl)
end
redis.call('EXPIRE', active, ttl)
local articles = batch.articles
for _, article in ipairs(articles) do
  local id, score = article[1], article[3]
  redis.call('SET', key('article', id), ARGV[article[2]], 'EX', batch.article_ttl)
  redis.call('ZADD', by_time, score, id)
  redis.call('ZADD', hist_all, score, id)
end
for _, posting in ipairs(batch.postings) do
  local args = {}
  for i = 2, #posting do
    local article = articles[posting[i]]
    args[2 * i - 3] = article[3]
    args[2 * i - 2] = article[1]
  end
  redis.call('ZADD', key('token', posting[1]), unpack(args))
end
for _, words in ipairs(batch.vocab) do
  redis.call('ZADD', hist_vocab, unpack(words))
end
return 1
"""
"""One batch of the assigner, applied atomically if ``KEYS[1]`` (the lease) still holds this
assigner's token (``ARGV[1]``). ``ARGV[2]`` is the batch as JSON (:func:`batch_payload`): every
placed article and the merges it caused, in order; then the stories they touched; then the
articles themselves and their history index tokens. The JSON texts stored as they are (each
member's record, each article's) follow as ``ARGV[3]`` on, named in the batch by their place in
``ARGV``: passed beside the JSON rather than inside it, they are neither escaped by the client
nor decoded by the script. One command per batch: the client's cost of packing a command per
write (about ten per article) dominated the write path. Keys are built
from the shapes of :mod:`peacewatch.store.keys` (prefix, id, suffix); scores are passed as
strings so that no time loses precision in Lua's numbers."""


def _shape(make_key: Callable[[str], str]) -> list[str]:
    prefix, _, suffix = make_key("\0").partition("\0")
    return [prefix, suffix]


@functools.cache
def _shapes() -> dict[str, list[str]]:
    return {
        "story": _shape(keys.story),
        "members": _shape(keys.story_members),
        "placed": _shape(keys.article_story),
        "alias": _shape(keys.story_alias),
        "article": _shape(keys.article),
        "token": _shape(keys.history_token),
    }


def batch_keys(lease: str) -> list[str]:
    """The keys :data:`_WRITE_BATCH` declares (every other key it writes shares their shape)."""
    return [
        lease,
        keys.stories_active(),
        keys.story_merges_pending(),
        keys.articles_by_time(),
        keys.history_all(),
        keys.history_vocab(),
    ]


ArticleRow = tuple[str, str, str, list[str]]
"""An article as a batch stores it: id, JSON record, publication time, history index tokens."""


def article_row(article: Article, record: str = "") -> ArticleRow:
    """What a batch stores of ``article`` (computed while placing, so that building the batch
    does not hold the event loop for a whole batch's tokenising). ``record``: the article's
    JSON as the ingest stream carries it (:func:`article_to_json` of the same article), which
    need not be encoded again."""
    score = repr(article.published.timestamp())
    # The tokens in any order: each goes into a sorted set of its own, and the words into one.
    return (article.id, record or article_to_json(article), score, list(tokens_of(article)))


def batch_payload(
    index: WindowIndex,
    events: Sequence[tuple[Member, Sequence[tuple[str, str]]]],
    articles: Sequence[ArticleRow],
    ttl: timedelta,
    article_ttl: int,
) -> list[str]:
    """The arguments after the lease token that :data:`_WRITE_BATCH` applies: the batch as JSON
    (each placed article (``m``) then the merges it caused (``g``: survivor, absorbed) in the
    order they happened; the stories touched (first article, outlets, newest member) that are
    still in ``index``; the articles and their tokens), then the records it stores as they are,
    each named in the JSON by its place in the script's ``ARGV``."""
    records: list[str] = []
    out: list[list[str | int]] = []
    touched: list[str] = []
    for member, merges in events:
        feats = member.features
        records.append(member.to_json())
        out.append(
            [
                "m",
                member.story_id,
                feats.article_id,
                len(records) + _FIRST_RECORD,
                repr(feats.published),
                member.duplicate_of or "",
            ]
        )
        touched.append(member.story_id)
        for survivor, absorbed in merges:
            out.append(["g", survivor, absorbed])
            touched.append(survivor)
    stories: list[list[str]] = []
    for story_id in dict.fromkeys(touched):
        story = index.stories.get(story_id)
        if story is None:
            continue  # merged into another story in the same batch
        outlets = json.dumps(story.outlets, ensure_ascii=False)
        stories.append([story_id, story.first, outlets, repr(story.latest)])
    # The history index grouped by token: one ZADD per distinct token of the batch (with every
    # article that carries it) rather than one per article and token, which was most of the
    # server's work. An article is named by its place in ``articles`` (counted from 1, as Lua
    # does): its id and time are encoded once, not once per token.
    postings: dict[str, list[str | int]] = {}
    for number, (_, _, _, tokens) in enumerate(articles, 1):
        for token in tokens:
            members = postings.get(token)
            if members is None:
                postings[token] = [token, number]
            else:
                members.append(number)
    words = list(postings)
    vocab = [
        [part for word in words[i : i + VOCAB_CHUNK] for part in ("0", word)]
        for i in range(0, len(words), VOCAB_CHUNK)
    ]
    batch = {
        "keys": _shapes(),
        "ttl": int(ttl.total_seconds()),
        "article_ttl": article_ttl,
        "events": out,
        "stories": stories,
        "articles": [
            [article_id, len(records) + n + _FIRST_RECORD, score]
            for n, (article_id, _, score, _) in enumerate(articles, 1)
        ],
        "postings": list(postings.values()),
        "vocab": vocab,
    }
    return [json.dumps(batch, ensure_ascii=False), *records, *(row[1] for row in articles)]


class BatchWriter:
    """Writes an assigner's batches (:data:`_WRITE_BATCH`), fenced by its lease."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._script = redis.register_script(_WRITE_BATCH)

    async def write(self, lease: str, token: str, payload: Sequence[str]) -> bool:
        """Apply ``payload`` (:func:`batch_payload`); False (and nothing written) when ``token``
        no longer holds the lease."""
        return bool(await self._script(keys=batch_keys(lease), args=[token, *payload]))


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
