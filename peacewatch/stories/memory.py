"""The window's story index in memory: candidates by rare tokens, the decision, the stories.

One :class:`WindowIndex` is the whole state story assignment needs: the articles of each
token in publication order, and for each story its first article, its outlets, its size and
the features of its first members. The single story assigner keeps one (rebuilt from Redis
when it takes over), and offline grouping (``peacewatch stories``, the benchmarks) uses the
same class, so both make the same decisions for the same articles in the same order.

Determinism: a decision depends only on the articles placed before it and on the horizon
given with the article (articles published before it are ignored). The assigner derives the
horizon from the stream alone (the newest publication time seen so far, capped by each
entry's own time, less twice the window), never from the wall clock, so a rebuilt index
(which loads every story with a member after the horizon) decides exactly as the index it
replaces would have.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import chain

from peacewatch.models import Article
from peacewatch.rules.engine import RuleEngine
from peacewatch.stories.counts import SpanCounts
from peacewatch.stories.features import Features, features
from peacewatch.stories.merge import (
    BRIDGE_FLOOR,
    DEFAULT_MERGE,
    MergeModel,
    Scored,
    absorb,
    best_of,
    builtin_merge_model,
    merge_signals,
    older,
    scored_stories,
)
from peacewatch.stories.model import StoryModel, builtin_model
from peacewatch.stories.rarity import Background, WindowIdf, builtin_background, idf_table
from peacewatch.stories.scoring import best_story, check_threshold

MAX_INDEX_TOKENS = 64
"""Tokens of an article that find candidates (entities, numbers and headline words first)."""
MAX_CANDIDATES = 40
"""Articles read from the index per assignment (the most rare tokens shared first)."""
MAX_STORIES = 8
"""Stories of those candidates that are scored as a whole."""
RARE_SHARE = 0.2
"""Tokens carried by more than this share of the window's articles do not find candidates."""
MAX_MEMBER_FEATURES = 64
"""Members whose features a story keeps for comparison (the first ones); later members still
join it and still find it through the token index."""
RECENT = 21
"""Articles of a story an assignment names (the article and the twenty placed before it)."""
NO_HORIZON = -math.inf


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
    recent: tuple[str, ...] = ()
    """The story's last ``RECENT`` articles placed up to this one, in the order placed (what a
    follow-up compares itself with; the same after a restart)."""


@dataclass(frozen=True, slots=True)
class Member:
    """One placed article as the index keeps it (and as Redis stores it for a rebuild)."""

    story_id: str
    features: Features
    outlet: str
    duplicate_of: str | None
    seq: tuple[int, int]
    """Place in the order of assignment (the ingest stream's entry id)."""

    def to_json(self) -> str:
        return json.dumps(
            [self.features.to_json(), self.outlet, self.duplicate_of or "", list(self.seq)],
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, story_id: str, text: str) -> Member:
        feats, outlet, duplicate_of, seq = json.loads(text)
        return cls(
            story_id,
            dataclasses.replace(Features.from_json(feats), outlet=str(outlet)),
            str(outlet),
            str(duplicate_of) or None,
            (int(seq[0]), int(seq[1])),
        )


@dataclass(slots=True)
class Story:
    """A story as the index holds it."""

    story_id: str
    first: str
    outlets: list[str] = field(default_factory=list)
    size: int = 0
    latest: float = NO_HORIZON
    """Publication time of its newest member (epoch seconds)."""
    members: list[Features] = field(default_factory=list)
    """The first ``MAX_MEMBER_FEATURES`` members in the order they were placed."""
    recent: list[str] = field(default_factory=list)
    """Ids of the last ``RECENT`` members placed."""
    by_time: list[Features] = field(default_factory=list)
    """``members`` by publication time (ties in the order placed), kept so on each addition."""
    times: list[float] = field(default_factory=list)
    """The publication times of ``by_time``."""
    articles: list[str] = field(default_factory=list)
    """Every member's id, in the order placed."""

    def keep(self, feats: Features) -> None:
        """Keep ``feats`` for comparison (while the story keeps fewer than it may)."""
        if len(self.members) < MAX_MEMBER_FEATURES:
            self.members.append(feats)
            at = bisect.bisect_right(self.times, feats.published)
            self.times.insert(at, feats.published)
            self.by_time.insert(at, feats)

    def members_since(self, horizon: float) -> list[Features]:
        """The kept members published at or after ``horizon``, oldest first."""
        return self.by_time[bisect.bisect_left(self.times, horizon) :]


@dataclass(slots=True)
class Postings:
    """The articles that carry one token, by publication time."""

    times: list[float] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    """The number of each article in the index (see ``WindowIndex.add``), in the order of
    ``times``."""

    def add(self, published: float, key: int) -> None:
        times = self.times
        if times and published < times[-1]:  # an article later than a newer one
            at = bisect.bisect_right(times, published)
            times.insert(at, published)
            self.keys.insert(at, key)
        else:
            times.append(published)
            self.keys.append(key)

    def since(self, low: float, count: int) -> list[int]:
        """The keys of the ``count`` articles published at or after ``low``, oldest first."""
        start = bisect.bisect_left(self.times, low)
        return self.keys[start : start + count]

    def drop_before(self, horizon: float) -> bool:
        """Forget the articles published before ``horizon``; True if none is left."""
        cut = bisect.bisect_left(self.times, horizon)
        del self.times[:cut], self.keys[:cut]
        return not self.times


def story_id_for(article_id: str) -> str:
    """A story's id, derived from the article that started it."""
    return hashlib.sha1(article_id.encode()).hexdigest()[:16]  # noqa: S324 - a name, not a secret


def outlet_of(article: Article) -> str:
    return article.source or article.outlet


def index_tokens(feats: Features) -> list[str]:
    """The tokens of ``feats`` kept in the token index, the most telling first."""
    # Entities, numbers and headline words say most about the event; summary words come last.
    ranked = sorted(
        feats.tokens, key=lambda t: (t[0] != "e", t not in feats.title_tokens, t[0] != "n", t)
    )
    return ranked[:MAX_INDEX_TOKENS]


def _rare_limit(total: int) -> float:
    return max(3.0, RARE_SHARE * total)


_WEIGHT = operator.itemgetter(1)


def _stories_of(evidence: Mapping[int, float], keys: Mapping[int, tuple[str, str]]) -> list[str]:
    """Story ids of the ``MAX_CANDIDATES`` candidate articles with the most rare weight in
    common with the article (ties by story id, then article id), best first, at most
    ``MAX_STORIES`` of them. ``keys``: (story id, article id) of each article's number."""
    best = list(evidence.items())
    if len(best) > MAX_CANDIDATES:
        # Only the articles with at least the MAX_CANDIDATES-th most weight need ranking.
        best.sort(key=_WEIGHT)
        best = best[bisect.bisect_left(best, best[-MAX_CANDIDATES][1], key=_WEIGHT) :]
    ranked = sorted((-w, keys[n]) for n, w in best)
    out: list[str] = []
    for _, (story_id, _) in ranked[:MAX_CANDIDATES]:
        if story_id not in out:
            out.append(story_id)
    return out[:MAX_STORIES]


class WindowIndex:
    """Stories of the window in memory; see the module's docstring.

    ``window``: an article joins a story only through members published within ``window`` of
    it, earlier or later. ``entities``: the matcher of dictionary names (the cross-language
    signal); optional. ``threshold``: the probability an article needs to join a story
    (default: the model's).
    """

    def __init__(
        self,
        window: timedelta = timedelta(hours=48),
        entities: RuleEngine | None = None,
        threshold: float | None = None,
        model: StoryModel | None = None,
        background: Background | None = None,
        merge_threshold: float | None = DEFAULT_MERGE,
        merge_model: MergeModel | None = None,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("the story window must be positive")
        self.window = window
        self.entities = entities
        self.model = model or builtin_model()
        self.threshold = self.model.threshold if threshold is None else check_threshold(threshold)
        self.prior = builtin_background() if background is None else background
        self._span = SpanCounts()
        """Every article's publication time and index tokens; counts of the span decided on."""
        self._postings: dict[str, Postings] = {}
        self._keys: dict[int, tuple[str, str]] = {}
        """(story id, article id) of each article in the postings, by its number."""
        self._numbered = 0
        """Articles numbered so far (a number is never given twice)."""
        self._indexed: tuple[Features | None, list[str]] = (None, [])
        """The index tokens last computed, with their features (a placement needs them twice)."""
        self.stories: dict[str, Story] = {}
        self.placed: dict[str, tuple[str, str | None]] = {}
        """Article id -> (story id, duplicate of) for every article in the index."""
        self.merge_threshold = merge_threshold
        """The merge model's probability at which a second story the article fits merges with
        the one it joins (None: stories never merge)."""
        self.merge_model = merge_model or builtin_merge_model()
        self.seq_of: dict[str, tuple[int, int]] = {}
        """Article id -> its place in the order of placement."""
        self.outlet_of: dict[str, str] = {}
        self._number_of: dict[str, int] = {}
        self.last_merges: tuple[tuple[str, str], ...] = ()
        """(survivor, absorbed) of each merge the last :meth:`place` made."""

    # Reading ------------------------------------------------------------------------------------
    def _index_tokens(self, feats: Features) -> list[str]:
        known, tokens = self._indexed
        if known is not feats:
            tokens = index_tokens(feats)
            self._indexed = (feats, tokens)
        return tokens

    def candidates(
        self, feats: Features, horizon: float = NO_HORIZON
    ) -> tuple[dict[str, list[Features]], dict[str, float]]:
        """The candidate stories of ``feats`` (their members published after ``horizon``,
        oldest first) and the IDF of every token they and the article carry."""
        chosen, idf = self._candidates(feats, horizon)
        idf.cover(chain.from_iterable(f.tokens for fs in chosen.values() for f in fs))
        return chosen, dict(idf)

    def _candidates(
        self, feats: Features, horizon: float
    ) -> tuple[dict[str, list[Features]], WindowIdf]:
        """:meth:`candidates` with the IDF of the article's tokens only (the rest as needed)."""
        span = self.window.total_seconds()
        low, high = max(feats.published - span, horizon), feats.published + span
        if low > high:  # published before the horizon: nothing to compare with
            idf = WindowIdf({}, 0, self.prior)
            idf.cover(feats.tokens)
            return {}, idf
        total, in_span = self._span.span(low, high)
        counts = {t: in_span.get(t, 0) for t in self._index_tokens(feats)}
        limit = _rare_limit(total)
        rare = [t for t, c in counts.items() if 0 < c <= limit]
        idf_rare = idf_table(rare, counts, total, self.prior)
        evidence: dict[int, float] = {}  # article number -> IDF of the rare tokens in common
        for token in rare:
            weight = idf_rare[token]
            found = dict.fromkeys(self._postings[token].since(low, counts[token]), weight)
            for key in found.keys() & evidence.keys():  # met through an earlier token too
                found[key] = evidence[key] + weight
            evidence.update(found)
        ranked = _stories_of(evidence, self._keys)
        chosen = {s: self.stories[s].members_since(horizon) for s in ranked}
        idf = WindowIdf(in_span, total, self.prior)
        idf.cover(feats.tokens)
        return chosen, idf

    def idf_of(self, feats: Features, *others: Features) -> dict[str, float]:
        """The IDF a decision on ``feats`` uses, of its tokens and those of ``others``."""
        span = self.window.total_seconds()
        low, high = feats.published - span, feats.published + span
        total, in_span = self._span.span(low, high)
        idf = WindowIdf(in_span, total, self.prior)
        idf.cover(chain(feats.tokens, *(f.tokens for f in others)))
        return dict(idf)

    def describe(self, article_id: str) -> StoryAssignment:
        """The story of an article already placed (KeyError if it is not in the index)."""
        story_id, duplicate_of = self.placed[article_id]
        story = self.stories[story_id]
        recent = story.recent
        if article_id in recent:  # asked again later: the story as it stood after the article
            recent = recent[: recent.index(article_id) + 1]
        return StoryAssignment(
            story_id=story_id,
            is_new=story.first == article_id,
            size=story.size,
            outlets=tuple(story.outlets),
            first_article_id=story.first,
            duplicate_of=duplicate_of,
            recent=tuple(recent),
        )

    # Deciding -----------------------------------------------------------------------------------
    def features_of(self, article: Article) -> Features:
        return features(article, self.entities)

    def decide(self, feats: Features, horizon: float = NO_HORIZON) -> tuple[str | None, str | None]:
        """(story id, duplicate-of article id) that ``feats`` joins, or (None, None)."""
        chosen, idf = self._candidates(feats, horizon)
        return best_story(feats, chosen, idf, self.window, self.threshold, self.model)

    def place(
        self,
        article: Article,
        seq: tuple[int, int] = (0, 0),
        horizon: float = NO_HORIZON,
        feats: Features | None = None,
    ) -> tuple[StoryAssignment, Member | None]:
        """Put ``article`` in its story (new or existing) and say where it went, with the member
        record to persist; an article already in the index gets its story and no record."""
        self.last_merges = ()
        if article.id in self.placed:
            return self.describe(article.id), None
        feats = feats or self.features_of(article)
        if self.merge_threshold is None:
            story_id, duplicate_of = self.decide(feats, horizon)
            others: list[str] = []
        else:
            story_id, duplicate_of, others = self._decide_with_merges(feats, horizon)
        member = Member(
            story_id or story_id_for(article.id), feats, outlet_of(article), duplicate_of, seq
        )
        self.add(member)
        if others and story_id is not None:
            self.last_merges = self._merge(story_id, others)
        return self.describe(article.id), member

    def _decide_with_merges(
        self, feats: Features, horizon: float
    ) -> tuple[str | None, str | None, list[str]]:
        """The story ``feats`` joins (as :meth:`decide`) and the other stories the merge model
        merges with it."""
        best, options = self.merge_options(feats, horizon)
        if best is None:
            return None, None, []
        assert self.merge_threshold is not None
        threshold, model = self.merge_threshold, self.merge_model
        others = [s for s, signals in options if model.probability(signals) >= threshold]
        return best[1], best[2], others

    def merge_options(
        self, feats: Features, horizon: float = NO_HORIZON
    ) -> tuple[Scored | None, list[tuple[str, dict[str, float]]]]:
        """The story ``feats`` joins (probability, id, copied member; as :meth:`decide`), and
        each other story it fits at least at ``BRIDGE_FLOOR`` with its merge signals."""
        chosen, idf = self._candidates(feats, horizon)
        floor = min(self.threshold, BRIDGE_FLOOR)
        scored = scored_stories(feats, chosen, idf, self.window, floor, self.model)
        best = best_of(scored)
        if best is None or best[0] < self.threshold:
            return None, []
        options = [
            (other[1], merge_signals(self, feats, best, other, idf, horizon))
            for other in scored
            if other[1] != best[1]
        ]
        return best, options

    def _merge(self, joined: str, others: list[str]) -> tuple[tuple[str, str], ...]:
        merges: list[tuple[str, str]] = []
        target = joined
        for other in others:
            survivor, absorbed = older(self, target, other)
            absorb(self, survivor, absorbed)
            merges.append((survivor, absorbed))
            target = survivor
        return tuple(merges)

    def relabel(self, article_id: str, story_id: str) -> None:
        """Say that a placed article now belongs to ``story_id`` (after a merge)."""
        _, duplicate_of = self.placed[article_id]
        self.placed[article_id] = (story_id, duplicate_of)
        number = self._number_of.get(article_id)
        if number is not None and number in self._keys:
            self._keys[number] = (story_id, article_id)

    # Changing -----------------------------------------------------------------------------------
    def add(self, member: Member) -> None:
        """Add a placed article (a live decision, or one read back from Redis in its order)."""
        feats = member.features
        if feats.article_id in self.placed:
            return
        story = self.stories.get(member.story_id)
        if story is None:
            story = self.stories[member.story_id] = Story(member.story_id, feats.article_id)
        story.size += 1
        story.latest = max(story.latest, feats.published)
        if member.outlet and member.outlet not in story.outlets:
            story.outlets.append(member.outlet)
        story.keep(feats)
        story.recent.append(feats.article_id)
        del story.recent[:-RECENT]
        story.articles.append(feats.article_id)
        self.placed[feats.article_id] = (member.story_id, member.duplicate_of)
        self.seq_of[feats.article_id] = member.seq
        self.outlet_of[feats.article_id] = member.outlet
        tokens = self._index_tokens(feats)
        self._span.add(feats.published, tokens)
        key = self._numbered
        self._numbered += 1
        self._keys[key] = (member.story_id, feats.article_id)
        self._number_of[feats.article_id] = key
        for token in tokens:
            postings = self._postings.get(token)
            if postings is None:
                postings = self._postings[token] = Postings()
            postings.add(feats.published, key)

    def evict(self, horizon: float) -> int:
        """Forget stories whose newest member was published before ``horizon`` and index
        entries before it (decisions ignore them already); returns the stories dropped."""
        gone = [s for s in self.stories.values() if s.latest < horizon]
        for story in gone:
            del self.stories[story.story_id]
        if gone:
            alive = set(self.stories)
            self.placed = {a: p for a, p in self.placed.items() if p[0] in alive}
            self._keys = {n: k for n, k in self._keys.items() if k[0] in alive}
            self.seq_of = {a: q for a, q in self.seq_of.items() if a in self.placed}
            self.outlet_of = {a: o for a, o in self.outlet_of.items() if a in self.placed}
            self._number_of = {a: n for a, n in self._number_of.items() if a in self.placed}
        self._span.drop_before(horizon)
        for token in list(self._postings):
            if self._postings[token].drop_before(horizon):
                del self._postings[token]
        return len(gone)

    def __len__(self) -> int:
        return len(self.placed)


def load(index: WindowIndex, members: Iterable[Member]) -> None:
    """Fill ``index`` with stored members, in the order they were first placed."""
    for member in sorted(members, key=lambda m: (m.seq, m.features.article_id)):
        index.add(member)
