"""Story clustering: reports of one event from several outlets become one story, kept in Redis.

How an article finds its story
------------------------------
Each article is reduced to :class:`Features`: its headline without the ``- Outlet`` suffix that
news aggregators append, the salient word stems of headline and summary (function words of
English, Swedish, German, Polish, Russian and Ukrainian dropped, words cut to six letters so that
``guarantee``/``guarantees`` and ``Zelensky``/``Zelenskyy`` meet), the numbers it quotes, and the
ids of the dictionary entities it names (``Witkoff`` and ``Уиткофф`` both give ``witkoff``),
which is what lets reports in different languages meet.

Candidates come from an inverted index of those tokens in Redis (one sorted set per token,
scored by publication time), read only for tokens that are rare in the window: a token carried
by every article of the day (``ukraine``) finds nothing useful. The candidates are then scored
with rapidfuzz's ``token_set_ratio`` on the headlines and an IDF-weighted overlap of the
tokens (the IDF comes from the same index), and the article joins the story of its best match
if the score reaches ``threshold``.

Time window: an article joins a story only through a member published within ``window`` of it
(before or after: feeds deliver out of order). A story therefore lives on while outlets keep
reporting it, and two similar events weeks apart stay two stories.

Syndicated copies (wire reprints with small edits, re-headlines of the same text) are marked
with ``duplicate_of``, the article they copy.

Every replica shares the state: assignments run under a Redis lock, so two replicas never open
two stories for one event at the same moment, and a restarted process finds its stories again.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from peacewatch.errors import StoreError
from peacewatch.models import Article
from peacewatch.store import keys

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["Features", "StoryAssignment", "StoryIndex", "features", "group", "similarity"]

DEFAULT_THRESHOLD = 0.55
RETENTION = timedelta(days=14)
"""How long story state stays in Redis after its last write."""
STEM = 6
MAX_INDEX_TOKENS = 48
MAX_CANDIDATES = 40
RARE_SHARE = 0.2
"""A token carried by more than this share of the window's articles is not used to find candidates."""
IDF_PRIOR = 50
EVIDENCE = 10.0
"""Shared IDF weight (about four rare words) below which a similarity is scaled down."""
LINKAGE = 3
"""A story's score is the mean of the article's best similarities to up to this many members."""
MAX_MEMBER_FEATURES = 64
"""Members whose features a story keeps for comparison; later members still join it."""

# Function words and newsroom filler of the languages the feeds carry. They say nothing about
# which event a report is about, and in a small window the IDF alone cannot yet tell.
_STOPWORDS = frozenset(
    ["the", "and", "for", "with", "from", "that", "this", "these", "those", "have", "has", "had", "will", "would", "could", "should", "about", "after", "before", "over", "into", "than", "then", "them", "they", "their", "there", "what", "when", "where", "which", "while", "who", "whom", "whose", "why", "how", "not", "are", "was", "were", "been", "being", "its", "it's", "his", "her", "him", "she", "our", "out", "off", "more", "most", "also", "just", "only", "very", "can", "may", "might", "must", "says", "said", "say", "new", "news", "live", "latest", "update", "updates", "video", "watch", "analysis", "opinion", "report", "reports", "here", "what's", "amid", "ahead", "against", "under", "during", "och", "att", "som", "med", "den", "det", "för", "från", "till", "inte", "har", "hade", "ska", "kan", "vill", "efter", "inför", "mot", "enligt", "eller", "också", "när", "där", "här", "vad", "hur", "men", "var", "blir", "blev", "nya", "nytt", "direkt", "uppgifter", "der", "die", "das", "und", "mit", "von", "für", "auf", "ist", "nicht", "ein", "eine", "einen", "dem", "den", "des", "zum", "zur", "sich", "auch", "nach", "bei", "aus", "wie", "als", "noch", "über", "vor", "wird", "werden", "hat", "sind", "nie", "się", "jest", "oraz", "dla", "przez", "przed", "jak", "czy", "już", "tak", "ale", "który", "która", "które", "jego", "jej", "ich", "może", "będzie", "został", "została", "po", "od", "do", "na", "za", "ze", "we", "что", "это", "как", "для", "так", "его", "она", "они", "при", "или", "уже", "еще", "был", "была", "были", "будет", "после", "перед", "также", "що", "це", "як", "для", "вже", "був", "була", "були", "буде", "після", "перед", "також", "або",]
)
_WORD = re.compile(r"\w+")
_APOSTROPHES = str.maketrans({c: "" for c in "'’‘ʼ`´"} | {"ё": "е"})


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """Where an article went: its story and what the story looks like now."""

    story_id: str
    is_new: bool
    """This article started the story (also on a repeated assignment of that same article)."""
    size: int
    """Articles in the story after this one."""
    outlets: tuple[str, ...]
    """Distinct outlets (source domains, or outlet names when the source is empty), first first."""
    first_article_id: str
    duplicate_of: str | None
    """The story member this article is a syndicated copy or a near-identical re-headline of."""


@dataclass(frozen=True, slots=True)
class Features:
    """What story clustering compares of an article."""

    article_id: str
    published: float
    """Epoch seconds."""
    title: str
    """Normalised headline without the aggregator's ``- Outlet`` suffix."""
    summary: str
    """Normalised start of the summary (for spotting syndicated copies)."""
    title_stems: tuple[str, ...]
    tokens: frozenset[str]
    """Stems (``s:``), entity ids (``e:``) and numbers (``n:``) of headline and summary."""

    def to_json(self) -> str:
        return json.dumps(
            [
                self.article_id,
                self.published,
                self.title,
                self.summary,
                list(self.title_stems),
                sorted(self.tokens),
            ],
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Features:
        aid, published, title, summary, title_stems, tokens = json.loads(text)
        return cls(aid, float(published), title, summary, tuple(title_stems), frozenset(tokens))


# Features --------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)


def _words(text: str) -> list[str]:
    return _WORD.findall(_norm(text))


def strip_outlet_suffix(title: str, outlet: str, source: str) -> str:
    """The headline without trailing ``- Outlet`` parts that name the article's own outlet."""
    names = {_squash(outlet), _squash(source), _squash(source.rsplit(".", 1)[0])} - {""}
    for _ in range(3):  # "DN Direkt - Rubio: ... - DN.se - DN" carries two
        head, sep, tail = title.rpartition(" - ")
        if not sep or not head.strip():
            break
        squashed = _squash(tail)
        if not squashed or not any(squashed in n or n in squashed for n in names):
            break
        title = head
    return title.strip()


def _squash(text: str) -> str:
    return "".join(_WORD.findall(_norm(text)))


class _EntityMatcher:
    """Whole-word, case-folded lookup of entity names (name -> entity id)."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names: dict[tuple[str, ...], str] = {}
        for name, entity_id in names.items():
            words = tuple(_words(name))
            if words:
                self._names[words] = entity_id
        self._longest = max((len(w) for w in self._names), default=0)

    def find(self, words: Sequence[str]) -> set[str]:
        found: set[str] = set()
        if not self._names:
            return found
        for start in range(len(words)):
            for size in range(1, min(self._longest, len(words) - start) + 1):
                entity = self._names.get(tuple(words[start : start + size]))
                if entity is not None:
                    found.add(entity)
        return found


def _stems(words: Iterable[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        if word.isdigit() or word in _STOPWORDS or len(word) < 3:
            continue
        out.append(word[:STEM])
    return out


def features(article: Article, entities: _EntityMatcher | None = None) -> Features:
    """The features of ``article`` (pure; never raises)."""
    title = _norm(strip_outlet_suffix(article.title, article.outlet, article.source))
    summary = _norm(article.summary[:600])
    title_words = _WORD.findall(title)
    summary_words = _WORD.findall(summary)
    title_stems = _stems(title_words)
    tokens = {"s:" + s for s in (*title_stems, *_stems(summary_words))}
    tokens.update("n:" + w.lstrip("0") for w in (*title_words, *summary_words) if w.isdigit())
    tokens.discard("n:")
    if entities is not None:
        tokens.update("e:" + e for e in entities.find([*title_words, ".", *summary_words]))
    return Features(
        article_id=article.id,
        published=article.published.timestamp(),
        title=" ".join(title_words),
        summary=" ".join(summary_words[:60]),
        title_stems=tuple(dict.fromkeys(title_stems)),
        tokens=frozenset(tokens),
    )


# Scoring ---------------------------------------------------------------------------------------
def _weight(token: str, idf: Mapping[str, float]) -> float:
    base = idf.get(token, 1.0)
    return base * 1.5 if token.startswith("e:") else base


def similarity(a: Features, b: Features, idf: Mapping[str, float]) -> float:
    """How likely ``a`` and ``b`` report one event, from 0 to 1.

    Two signals, the stronger wins: rapidfuzz's token-set ratio of the headline stems, and the
    IDF-weighted overlap of all tokens (shared weight over the geometric mean of both weights).
    Both are damped until the shared tokens carry enough rare weight: two short headlines that
    share only "Ukraine" and "talks" are not one story.
    """
    shared = a.tokens & b.tokens
    if not shared:
        return 0.0
    w_shared = sum(_weight(t, idf) for t in shared)
    w_a = sum(_weight(t, idf) for t in a.tokens)
    w_b = sum(_weight(t, idf) for t in b.tokens)
    overlap = w_shared / max(math.sqrt(w_a * w_b), 1e-9) * min(1.0, w_shared / EVIDENCE)
    title = 0.0
    if a.title_stems and b.title_stems:
        ratio = fuzz.token_set_ratio(" ".join(a.title_stems), " ".join(b.title_stems)) / 100
        shared_title = set(a.title_stems) & set(b.title_stems)
        mass = sum(idf.get("s:" + s, 1.0) for s in shared_title)
        title = ratio * min(1.0, mass / EVIDENCE)
    return max(title, overlap)


def is_copy(a: Features, b: Features) -> bool:
    """``a`` is a syndicated copy or a re-headline of ``b``: same headline or the same text."""
    if a.title and b.title and fuzz.ratio(a.title, b.title) >= 90:
        return True
    return (
        len(a.summary) >= 40
        and len(b.summary) >= 40
        and fuzz.ratio(a.summary, b.summary) >= 90
        and fuzz.token_set_ratio(a.title, b.title) >= 60
    )


def idf_table(tokens: Iterable[str], counts: Mapping[str, int], total: int) -> dict[str, float]:
    """Smoothed inverse document frequency of ``tokens`` in a window of ``total`` articles.

    ``IDF_PRIOR`` articles that share nothing are added, so that an index with few articles
    (after a fresh start) treats an unseen word as rare rather than as common.
    """
    return {t: math.log((total + IDF_PRIOR) / (counts.get(t, 0) + 1)) for t in tokens}


def _window_ok(a: Features, b: Features, window: timedelta) -> bool:
    return abs(a.published - b.published) <= window.total_seconds()


def best_match(
    article: Features,
    candidates: Iterable[tuple[str, Features]],
    idf: Mapping[str, float],
    window: timedelta,
    threshold: float,
) -> tuple[str | None, str | None]:
    """(story id, duplicate-of article id) of the best candidate story, or (None, None).

    A story scores the mean of the article's top ``LINKAGE`` similarities to its members: one
    close member is not enough to pull an article into a story that is otherwise about
    something else (the chaining of single-link clustering).
    """
    per_story: dict[str, list[tuple[float, Features]]] = {}
    for story_id, member in candidates:
        if member.article_id == article.article_id or not _window_ok(article, member, window):
            continue
        per_story.setdefault(story_id, []).append((similarity(article, member, idf), member))
    best: tuple[float, str, Features] | None = None
    for story_id, scored in per_story.items():
        scored.sort(key=lambda sm: -sm[0])
        top = scored[:LINKAGE]
        score = sum(s for s, _ in top) / len(top)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, story_id, top[0][1])
    if best is None:
        return None, None
    _, story_id, member = best
    return story_id, member.article_id if is_copy(article, member) else None


def story_id_for(article_id: str) -> str:
    """A story's id, derived from the article that started it."""
    return hashlib.sha1(article_id.encode()).hexdigest()[:16]  # noqa: S324 - a name, not a secret


def _outlet(article: Article) -> str:
    return article.source or article.outlet


# In memory -------------------------------------------------------------------------------------
def group(
    articles: Iterable[Article],
    window: timedelta = timedelta(hours=48),
    entity_names: Mapping[str, str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, str]:
    """Article id -> story id for ``articles`` taken in the order given, without Redis.

    The same decisions as :class:`StoryIndex` (same features, candidates, scores and window).
    """
    matcher = _EntityMatcher(entity_names) if entity_names else None
    assigned: dict[str, str] = {}
    seen: list[tuple[str, Features]] = []
    for article in articles:
        if article.id in assigned:
            continue
        feats = features(article, matcher)
        near = [(s, f) for s, f in seen if _window_ok(feats, f, window)]
        counts: Counter[str] = Counter(t for _, f in near for t in f.tokens)
        idf = idf_table(feats.tokens, counts, len(near))
        rare = {t for t in feats.tokens if counts[t] <= max(3, RARE_SHARE * len(near))}
        pool = [(s, f) for s, f in near if f.tokens & rare]
        pool.sort(key=lambda sf: -sum(idf[t] for t in sf[1].tokens & rare))
        story, _ = best_match(feats, pool[:MAX_CANDIDATES], idf, window, threshold)
        story = story or story_id_for(article.id)
        assigned[article.id] = story
        seen.append((story, feats))
    return assigned


# In Redis --------------------------------------------------------------------------------------
def _article_story_key(article_id: str) -> str:
    """String: the story id an article was assigned to, and the article it copies, if any."""
    return f"{keys.PREFIX}storyof:{article_id}"


def _lock_key() -> str:
    """Lock held while one article is assigned, so that replicas do not race on one event."""
    return f"{keys.PREFIX}storylock"


def _token_key(token: str) -> str:
    """Sorted set of ``"story_id article_id"`` scored by published time, for one token."""
    return keys.story_band("tok:" + token)


def _all_key() -> str:
    """Sorted set of every indexed article id scored by published time (the IDF's total)."""
    return keys.story_band("all")


def _index_tokens(feats: Features) -> list[str]:
    # Entities, numbers and headline words say most about the event; summary words come last.
    title = {"s:" + s for s in feats.title_stems}
    ranked = sorted(feats.tokens, key=lambda t: (t[0] != "e", t[0] != "n", t not in title, t))
    return ranked[:MAX_INDEX_TOKENS]


class StoryIndex:
    """Assigns articles to stories; the state lives in Redis and is shared by every replica.

    ``window``: an article joins a story only through a member published within ``window`` of
    it, earlier or later. ``entity_names``: dictionary names -> entity id (case-folded,
    whole-word), the cross-language signal; optional. ``threshold``: the similarity (0-1) an
    article needs to join a story; lower merges more.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        window: timedelta = timedelta(hours=48),
        entity_names: Mapping[str, str] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("the story window must be positive")
        self._redis = redis
        self._window = window
        self._threshold = threshold
        self._matcher = _EntityMatcher(entity_names) if entity_names else None
        self._ttl = int((RETENTION + window).total_seconds())

    async def assign(self, article: Article) -> StoryAssignment:
        """The story of ``article``, placing it in one (new or existing) if it has none yet.

        Idempotent: a second call for the same article id returns the story it is in, with
        ``is_new`` true only if that article started the story. Raises StoreError when Redis
        cannot be reached or the assignment lock cannot be taken.
        """
        from redis.exceptions import RedisError

        try:
            async with self._redis.lock(_lock_key(), timeout=30, blocking_timeout=30):
                return await self._assign_locked(article)
        except RedisError as exc:
            raise StoreError(f"story assignment of {article.id} failed: {exc}") from exc

    async def members(self, story_id: str) -> list[str]:
        """Article ids of a story, oldest publication first (empty for an unknown story)."""
        from redis.exceptions import RedisError

        try:
            return list(await self._redis.zrange(keys.story_members(story_id), 0, -1))
        except RedisError as exc:
            raise StoreError(f"could not read story {story_id}: {exc}") from exc

    async def _assign_locked(self, article: Article) -> StoryAssignment:
        known = await self._redis.get(_article_story_key(article.id))
        if known:
            story_id, _, duplicate_of = str(known).partition(" ")
            return await self._describe(story_id, article.id, duplicate_of or None)
        feats = features(article, self._matcher)
        story_id, duplicate_of = await self._find(feats)
        is_new = story_id is None
        story_id = story_id or story_id_for(article.id)
        await self._add(story_id, feats, _outlet(article), is_new, duplicate_of)
        return await self._describe(story_id, article.id, duplicate_of)

    async def _find(self, feats: Features) -> tuple[str | None, str | None]:
        window = self._window.total_seconds()
        low, high = feats.published - window, feats.published + window
        tokens = _index_tokens(feats)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zcount(_all_key(), low, high)
        for token in tokens:
            pipe.zcount(_token_key(token), low, high)
        total, *found = await pipe.execute()
        counts = dict(zip(tokens, (int(c) for c in found), strict=True))
        idf = idf_table(feats.tokens, counts, int(total))
        rare = [t for t in tokens if 0 < counts[t] <= max(3, RARE_SHARE * int(total))]
        if not rare:
            return None, None
        pipe = self._redis.pipeline(transaction=False)
        for token in rare:
            pipe.zrangebyscore(_token_key(token), low, high)
        evidence: Counter[str] = Counter()
        for token, entries in zip(rare, await pipe.execute(), strict=True):
            for entry in entries:
                evidence[str(entry)] += idf[token]  # type: ignore[assignment]
        chosen = [entry.split(" ", 1) for entry, _ in evidence.most_common(MAX_CANDIDATES)]
        pipe = self._redis.pipeline(transaction=False)
        for story_id, article_id in chosen:
            pipe.hget(keys.story(story_id), "m:" + article_id)
        candidates = [
            (story_id, Features.from_json(raw))
            for (story_id, _), raw in zip(chosen, await pipe.execute(), strict=True)
            if raw
        ]
        return best_match(feats, candidates, idf, self._window, self._threshold)

    async def _add(
        self, story_id: str, feats: Features, outlet: str, is_new: bool, duplicate_of: str | None
    ) -> None:
        story_key, members_key = keys.story(story_id), keys.story_members(story_id)
        outlets: list[str] = []
        if not is_new:
            raw, size = await asyncio_gather_story(self._redis, story_key, members_key)
            outlets = json.loads(raw) if raw else []
        else:
            size = 0
        if outlet and outlet not in outlets:
            outlets.append(outlet)
        ts, ttl = feats.published, self._ttl
        stale = ts - RETENTION.total_seconds()
        pipe = self._redis.pipeline(transaction=True)
        fields: dict[str, Any] = {"outlets": json.dumps(outlets, ensure_ascii=False)}
        if is_new:
            fields |= {"first": feats.article_id, "first_published": ts}
        if size < MAX_MEMBER_FEATURES:
            fields["m:" + feats.article_id] = feats.to_json()
        pipe.hset(story_key, mapping=fields)
        pipe.zadd(members_key, {feats.article_id: ts})
        pipe.zadd(keys.stories_by_time(), {story_id: ts}, nx=True)
        pipe.zremrangebyscore(keys.stories_by_time(), "-inf", stale)
        for token in _index_tokens(feats):
            pipe.zadd(_token_key(token), {f"{story_id} {feats.article_id}": ts})
            pipe.zremrangebyscore(_token_key(token), "-inf", stale)
            pipe.expire(_token_key(token), ttl)
        pipe.zadd(_all_key(), {feats.article_id: ts})
        pipe.zremrangebyscore(_all_key(), "-inf", stale)
        pipe.set(_article_story_key(feats.article_id), f"{story_id} {duplicate_of or ''}", ex=ttl)
        for key in (story_key, members_key, keys.stories_by_time(), _all_key()):
            pipe.expire(key, ttl)
        await pipe.execute()

    async def _describe(
        self, story_id: str, article_id: str, duplicate_of: str | None
    ) -> StoryAssignment:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(keys.story(story_id), ["first", "outlets"])
        pipe.zcard(keys.story_members(story_id))
        (first, outlets), size = await pipe.execute()
        first = str(first or article_id)
        return StoryAssignment(
            story_id=story_id,
            is_new=first == article_id,
            size=int(size),
            outlets=tuple(json.loads(outlets) if outlets else ()),
            first_article_id=first,
            duplicate_of=duplicate_of,
        )


async def asyncio_gather_story(
    redis: aioredis.Redis, story_key: str, members_key: str
) -> tuple[str | None, int]:
    pipe = redis.pipeline(transaction=False)
    pipe.hget(story_key, "outlets")
    pipe.zcard(members_key)
    raw, size = await pipe.execute()
    return (str(raw) if raw else None), int(size)
