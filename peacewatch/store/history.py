"""The searchable history of articles: an inverted word index in Redis, verified by the matcher.

How a search runs
-----------------
Every stored article is indexed under each distinct word of its normalised headline and body
(the same normalisation the rule matcher uses), under ``src:`` tokens for its domain and outlet
and a ``lang:`` token (:mod:`peacewatch.store.historytokens`): one Redis sorted set per token,
article ids scored by publication time.

A query is parsed, and its tree is turned into a plan over those sets
(:mod:`peacewatch.store.searchplan`): a term is the union of the strings it stands for (an
entity's every name, a Cyrillic name's inflected forms), a phrase the intersection of its words,
``prefix*`` the union of the vocabulary's words with that prefix, AND an intersection, OR a
union. NOT and anything the index cannot narrow are left unconstrained, so the plan only ever
over-approximates. Redis combines the sets (``ZINTERSTORE``/``ZUNIONSTORE`` in one pipeline) and
returns the candidates of the time range, newest first; each candidate is then matched by the
real :class:`~peacewatch.rules.engine.RuleEngine` compiled for the query alone, so a result is
exactly what the rule language means.

Why a word of a matched pattern is always a token of the article: a hit starts and ends on word
boundaries, so every maximal run of word characters inside the pattern is also a maximal run in
the text; only a ``prefix*`` pattern's last run may be the start of a longer word.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from peacewatch.errors import InputError
from peacewatch.models import Article, Match
from peacewatch.rules import query as q
from peacewatch.rules.engine import RuleEngine, TeamRuleSet, validate_query
from peacewatch.rules.entities import Entity, builtin_dictionary
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.store import keys
from peacewatch.store.codec import article_from_json
from peacewatch.store.historytokens import tokens_of
from peacewatch.store.searchplan import Plan, Planner

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["Found", "HistoryIndex", "SearchResult"]

MAX_PREFIX_WORDS = 500
"""A ``prefix*`` that starts more indexed words than this does not narrow a search."""
MAX_VERIFY = 500
"""Newest candidates matched per search by default; their matches are returned."""
SAMPLE = 500
"""Older candidates, evenly spread, matched to estimate the total beyond ``MAX_VERIFY``: a
search's cost stays bounded however many articles the range holds."""
_BATCH = 500
_ENGINE_CACHE = 64
_TMP_TTL = 60
_SEARCH_TEAM = "search"
# KEYS: all, vocab, one set per token; ARGV: score, article id, the tokens (same order).
_INDEX_SCRIPT = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
for i = 3, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], 0, ARGV[i])
end
return #KEYS - 2
"""
_SEARCH_RULE = "q"


@dataclass(frozen=True, slots=True)
class Found:
    """One article a query matched, with the terms that fired."""

    article: Article
    match: Match


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[tuple[str, float], ...]
    """(article id, published epoch seconds) of the matches among the verified (newest)
    candidates, newest first: exactly the newest matches of the range."""
    found: tuple[Found, ...]
    """The newest ``keep`` matches in full."""
    candidates: int
    """Articles of the time range the index could not rule out."""
    verified: int
    """The newest candidates matched by the engine."""
    estimate: int
    """Matches in the whole range: counted when every candidate was verified, else the verified
    matches plus an evenly spread sample's share of the rest."""

    @property
    def exact(self) -> bool:
        """Every candidate was verified, so ``total`` is a count, not an estimate."""
        return self.verified >= self.candidates

    @property
    def total(self) -> int:
        return len(self.hits) if self.exact else max(len(self.hits), self.estimate)


class HistoryIndex:
    """Indexes stored articles and answers queries over them.

    ``retention``: how long index entries are kept: ``prune`` (run daily by the app) drops the
    entries of articles published longer ago than that."""

    def __init__(
        self,
        redis: aioredis.Redis,
        retention: timedelta = timedelta(days=90),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._redis = redis
        self._retention = retention
        self._clock = clock
        self._engines: OrderedDict[tuple[str, tuple[Entity, ...]], RuleEngine] = OrderedDict()

    async def index(self, article: Article) -> None:
        """Add an article (already saved by the ArticleStore) to the index. Idempotent."""
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_index(pipe, article)
            await pipe.execute()

    @staticmethod
    def queue_index(pipe: Any, article: Article) -> None:
        """Queue on ``pipe`` the write that adds ``article`` to the index (for batches)."""
        tokens = sorted(tokens_of(article))
        # One script call instead of a ZADD per token: the client's per-command cost dominated.
        pipe.eval(
            _INDEX_SCRIPT,
            2 + len(tokens),
            keys.history_all(),
            keys.history_vocab(),
            *(keys.history_token(t) for t in tokens),
            repr(article.published.timestamp()),
            article.id,
            *tokens,
        )

    async def prune(self) -> int:
        """Drop index entries older than the retention; returns how many tokens emptied."""
        cutoff = (self._clock() - self._retention).timestamp()
        emptied = 0
        cursor = 0
        for _ in range(1_000_000):  # bounded: one round per 1,000 vocabulary words
            cursor, entries = await self._redis.zscan(keys.history_vocab(), cursor, count=1000)
            words = [w for w, _ in entries]
            async with self._redis.pipeline(transaction=False) as pipe:
                for word in words:
                    pipe.zremrangebyscore(keys.history_token(word), "-inf", f"({cutoff}")
                    pipe.exists(keys.history_token(word))
                replies = await pipe.execute()
            gone = [w for w, alive in zip(words, replies[1::2], strict=True) if not alive]
            if gone:
                await self._redis.zrem(keys.history_vocab(), *gone)
                emptied += len(gone)
            if int(cursor) == 0:
                break
        await self._redis.zremrangebyscore(keys.history_all(), "-inf", f"({cutoff}")
        return emptied

    async def engine_for(self, query: str, entities: Sequence[Entity] = ()) -> RuleEngine:
        """The query compiled as a one-rule engine (cached). Raises QuerySyntaxError."""
        key = (query, tuple(entities))
        engine = self._engines.get(key)
        if engine is not None:
            self._engines.move_to_end(key)
            return engine
        validate_query(query, builtin_dictionary().extended(entities))
        spec = RuleSpec(id=_SEARCH_RULE, query=query)
        engine = await asyncio.to_thread(
            RuleEngine.compile, [TeamRuleSet(_SEARCH_TEAM, [spec], tuple(entities))]
        )
        if engine.errors or engine.rule_count != 1:
            raise InputError(engine.errors[0].message if engine.errors else "query not compiled")
        self._engines[key] = engine
        while len(self._engines) > _ENGINE_CACHE:
            self._engines.popitem(last=False)
        return engine

    async def search(
        self,
        query: str,
        since: datetime,
        until: datetime | None = None,
        *,
        keep: int = 10,
        entities: Sequence[Entity] = (),
        max_verify: int = MAX_VERIFY,
    ) -> SearchResult:
        """Articles published in [since, until] that ``query`` matches, newest first.

        At most ``max_verify`` candidates (the newest) are matched; ``SearchResult.exact``
        says whether that was all of them.

        Raises QuerySyntaxError (with the column) or InputError when the query is not valid."""
        engine = await self.engine_for(query, entities)
        planner = Planner(q.parse(query), builtin_dictionary().extended(entities))
        expansions = await self._expand(planner.prefixes())
        plan = planner.plan(expansions)
        until = until or self._clock()
        if plan is None:
            ids = await self._range(keys.history_all(), since, until)
        else:
            ids = await self._run(plan, since, until)
        return await self._verify(engine, ids, keep, max_verify)

    async def scan(
        self,
        query: str,
        since: datetime,
        until: datetime | None = None,
        *,
        keep: int = 10,
        entities: Sequence[Entity] = (),
        max_verify: int | None = None,
    ) -> SearchResult:
        """The answer of ``search`` by matching every article of the range, without the index
        (the baseline it is measured and tested against)."""
        engine = await self.engine_for(query, entities)
        ids = await self._range(keys.history_all(), since, until or self._clock())
        return await self._verify(engine, ids, keep, max_verify or len(ids))

    async def _expand(self, prefixes: set[str]) -> dict[str, list[str] | None]:
        if not prefixes:
            return {}
        ordered = sorted(prefixes)
        async with self._redis.pipeline(transaction=False) as pipe:
            for prefix in ordered:
                pipe.zrangebylex(
                    keys.history_vocab(),
                    "[" + prefix,
                    "[" + prefix + chr(sys.maxunicode),
                    start=0,
                    num=MAX_PREFIX_WORDS + 1,
                )
            replies = await pipe.execute()
        return {
            prefix: (list(words) if len(words) <= MAX_PREFIX_WORDS else None)
            for prefix, words in zip(ordered, replies, strict=True)
        }

    async def _range(self, key: str, since: datetime, until: datetime) -> list[tuple[str, float]]:
        pairs = await self._redis.zrevrangebyscore(
            key, until.timestamp(), since.timestamp(), withscores=True
        )
        return [(str(a), float(s)) for a, s in pairs]

    async def _run(self, plan: Plan, since: datetime, until: datetime) -> list[tuple[str, float]]:
        query_id = uuid.uuid4().hex
        temps: list[str] = []
        async with self._redis.pipeline(transaction=False) as pipe:

            def emit(part: Plan) -> str:
                kind, body = part
                if kind == "k":
                    assert isinstance(body, str)
                    return body
                assert isinstance(body, tuple)
                sources = [emit(p) for p in body]
                target = keys.history_tmp(query_id, len(temps))
                temps.append(target)
                if not sources:
                    return target  # never written: the empty set
                if kind == "and":
                    pipe.zinterstore(target, sources, aggregate="MAX")
                else:
                    pipe.zunionstore(target, sources, aggregate="MAX")
                pipe.expire(target, _TMP_TTL)
                return target

            final = emit(plan)
            pipe.zrevrangebyscore(final, until.timestamp(), since.timestamp(), withscores=True)
            if temps:
                pipe.delete(*temps)
            replies = await pipe.execute()
        pairs = replies[-2] if temps else replies[-1]
        return [(str(a), float(s)) for a, s in pairs]

    async def _verify(
        self, engine: RuleEngine, ids: list[tuple[str, float]], keep: int, max_verify: int
    ) -> SearchResult:
        head = ids[: max(1, max_verify)]
        rest = ids[len(head) :]
        hits: list[tuple[str, float]] = []
        found: list[Found] = []
        for article_id, score, article, matches in await self._matched(engine, head):
            if matches:
                hits.append((article_id, score))
                if len(found) < keep:
                    found.append(Found(article, matches[0]))
        estimate = len(hits)
        if rest:
            step = max(1, len(rest) // SAMPLE)
            sample = rest[::step][:SAMPLE]
            matched = [m for *_, m in await self._matched(engine, sample)]
            if matched:
                estimate += round(len(rest) * sum(1 for m in matched if m) / len(matched))
        return SearchResult(tuple(hits), tuple(found), len(ids), len(head), estimate)

    async def _matched(
        self, engine: RuleEngine, ids: list[tuple[str, float]]
    ) -> list[tuple[str, float, Article, list[Match]]]:
        """Each stored article of ``ids`` with the engine's matches (expired ones left out)."""
        out = []
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            texts = await self._redis.mget([keys.article(a) for a, _ in batch])
            for (article_id, score), text in zip(batch, texts, strict=True):
                if text:
                    article = article_from_json(text)
                    out.append((article_id, score, article, engine.match(article)))
        return out
