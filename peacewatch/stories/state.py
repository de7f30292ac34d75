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
from peacewatch.store.historytokens import tokens_of
from peacewatch.stories.memory import Member, WindowIndex

RETENTION = timedelta(days=14)
"""How long story state stays in Redis after its last write."""
LOAD_CHUNK = 200
"""Stories read per round trip when an assigner loads the state."""
CHUNK = 1000
"""Members per ZADD of the batch's shared sorted sets (the articles by time, the vocabulary):
Lua's ``unpack`` has a bounded stack."""
_FIRST_RECORD = 2
"""``ARGV`` of :data:`_WRITE_BATCH` before the first stored record (the token, the JSON)."""


_WRITE_BATCH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local active, pending, by_time, hist_all, hist_vocab = KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local batch = cjson.decode(ARGV[2])
local shapes, ttl, chunk = batch.keys, batch.ttl, batch.chunk

local function key(shape, id)
  local parts = shapes[shape]
  return parts[1] .. id .. parts[2]
end

-- ZADD (GT: only raising scores) of (score, member) pairs, at most ``chunk`` pairs per call.
local function zadd_all(target, gt, scored)
  for i = 1, #scored, 2 * chunk do
    local last = math.min(i + 2 * chunk - 1, #scored)
    if gt then
      redis.call('ZADD', target, 'GT', unpack(scored, i, last))
    else
      redis.call('ZADD', target, unpack(scored, i, last))
    end
  end
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

local events, i = batch.events, 1
while i <= #events do
  if events[i] == 'm' then
    local story, article = events[i + 1], events[i + 2]
    redis.call('HSET', key('story', story), 'm:' .. article, ARGV[events[i + 3]])
    redis.call('ZADD', key('members', story), events[i + 4], article)
    redis.call('SET', key('placed', article), story .. ' ' .. events[i + 5], 'EX', ttl)
    i = i + 6
  else
    merge(events[i + 1], events[i + 2])
    i = i + 3
  end
end
local stories, latest = batch.stories, {}
for j = 1, #stories, 4 do
  local id = stories[j]
  redis.call('HSET', key('story', id), 'first', stories[j + 1], 'outlets', stories[j + 2])
  redis.call('EXPIRE', key('story', id), ttl)
  redis.call('EXPIRE', key('members', id), ttl)
  latest[#latest + 1] = stories[j + 3]
  latest[#latest + 1] = id
end
zadd_all(active, true, latest)
redis.call('EXPIRE', active, ttl)
local articles, times = batch.articles, {}
for j = 1, #articles, 3 do
  local id, score = articles[j], articles[j + 2]
  redis.call('SET', key('article', id), ARGV[articles[j + 1]], 'EX', batch.article_ttl)
  times[#times + 1] = score
  times[#times + 1] = id
end
zadd_all(by_time, false, times)
zadd_all(hist_all, false, times)
local postings, words = batch.postings, {}
for j = 1, #postings, 2 do
  local token, args = postings[j], {}
  for n in string.gmatch(postings[j + 1], '%d+') do
    local at = 3 * tonumber(n)
    args[#args + 1] = articles[at]
    args[#args + 1] = articles[at - 2]
  end
  zadd_all(key('token', token), false, args)
  words[#words + 1] = 0
  words[#words + 1] = token
end
zadd_all(hist_vocab, false, words)
return 1
"""
"""One batch of the assigner, applied atomically if ``KEYS[1]`` (the lease) still holds this
assigner's token (``ARGV[1]``). ``ARGV[2]`` is the batch as JSON (:func:`batch_payload`): every
placed article and the merges it caused, in order; then the stories they touched; then the
articles themselves and their history index postings. The JSON texts stored as they are (each
member's record, each article's) follow as ``ARGV[3]`` on, named in the batch by their place in
``ARGV``: passed beside the JSON rather than inside it, they are neither escaped by the client
nor decoded by the script. One command per batch: the client's cost of packing a command per
write (about ten per article) dominated the write path. The sets every article of the batch
goes into (the articles by time, the history's articles and its vocabulary, the active
stories) take one ZADD per batch, not one per article. Keys are built from the shapes of
:mod:`peacewatch.store.keys` (prefix, id, suffix); scores are passed as strings so that no time
loses precision in Lua's numbers.

The batch's lists are flat (an event, a story or an article is a run of fields, not a list of
its own) and each token's postings one string of article numbers: a batch builds a handful of
lists, not one per article and per token, which kept the client's garbage collector busy."""

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without building an encoder per call."""


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


ArticleRow = tuple[str, str, str, tuple[str, ...]]
"""An article as a batch stores it: id, JSON record, publication time, history index tokens."""


def article_row(article: Article, record: str = "") -> ArticleRow:
    """What a batch stores of ``article`` (computed while placing, so that building the batch
    does not hold the event loop for a whole batch's tokenising). ``record``: the article's
    JSON as the ingest stream carries it (:func:`article_to_json` of the same article), which
    need not be encoded again."""
    score = repr(article.published.timestamp())
    # The tokens in any order: each goes into a sorted set of its own, and the words into one.
    return (article.id, record or article_to_json(article), score, tuple(tokens_of(article)))


def batch_payload(
    index: WindowIndex,
    events: Sequence[tuple[Member, Sequence[tuple[str, str]]]],
    articles: Sequence[ArticleRow],
    ttl: timedelta,
    article_ttl: int,
) -> list[str]:
    """The arguments after the lease token that :data:`_WRITE_BATCH` applies: the batch as JSON
    (each placed article (``m``: story, article, its record's place in ``ARGV``, time,
    duplicate of) then the merges it caused (``g``: survivor, absorbed) in the order they
    happened; the stories touched (id, first article, outlets, newest member) that are still
    in ``index``; the articles (id, its record's place in ``ARGV``, time) and, per history
    token, the articles that carry it), then the records it stores as they are, each named in
    the JSON by its place in the script's ``ARGV``."""
    records: list[str] = []
    out: list[str | int] = []
    touched: list[str] = []
    for member, merges in events:
        feats = member.features
        records.append(member.to_json())
        out += (
            "m",
            member.story_id,
            feats.article_id,
            len(records) + _FIRST_RECORD,
            repr(feats.published),
            member.duplicate_of or "",
        )
        touched.append(member.story_id)
        for survivor, absorbed in merges:
            out += ("g", survivor, absorbed)
            touched.append(survivor)
    stories: list[str] = []
    for story_id in dict.fromkeys(touched):
        story = index.stories.get(story_id)
        if story is None:
            continue  # merged into another story in the same batch
        stories += (story_id, story.first, _ENCODE(story.outlets), repr(story.latest))
    # The history index grouped by token: one ZADD per distinct token of the batch (with every
    # article that carries it) rather than one per article and token, which was most of the
    # server's work. An article is named by its place in ``articles`` (counted from 1, as Lua
    # does): its id and time are encoded once, not once per token.
    postings: dict[str, str] = {}
    known = postings.get
    rows: list[str | int] = []
    for number, (article_id, _, score, tokens) in enumerate(articles, 1):
        rows += (article_id, len(records) + number + _FIRST_RECORD, score)
        mark = f" {number}"
        for token in tokens:
            postings[token] = known(token, "") + mark
    batch = {
        "keys": _shapes(),
        "ttl": int(ttl.total_seconds()),
        "article_ttl": article_ttl,
        "chunk": CHUNK,
        "events": out,
        "stories": stories,
        "articles": rows,
        # (token, numbers) runs: a dict would be encoded through a list of its items.
        "postings": [part for item in postings.items() for part in item],
    }
    return [_ENCODE(batch), *records, *(row[1] for row in articles)]


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
