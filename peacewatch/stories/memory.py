"""The window's story index in memory: the decision, the stories, merges and eviction.

One :class:`WindowIndex` is the whole state story assignment needs: the articles of each
token in publication order (:mod:`peacewatch.stories.retrieval`), and for each story its first
article, its outlets, its size and the features of its first members
(:mod:`peacewatch.stories.records`). The single story assigner keeps one (rebuilt from Redis
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

import sys
from collections.abc import Iterable
from datetime import timedelta
from itertools import chain

from peacewatch.models import Article
from peacewatch.rules.engine import RuleEngine
from peacewatch.stories.features import Compared, Features, Kept, features
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
from peacewatch.stories.rarity import Background, WindowIdf, builtin_background
from peacewatch.stories.records import (
    MAX_MEMBER_FEATURES,
    NO_HORIZON,
    RECENT,
    Member,
    Story,
    StoryAssignment,
    outlet_of,
    story_id_for,
)
from peacewatch.stories.retrieval import TokenIndex, index_tokens
from peacewatch.stories.scoring import best_story, check_threshold

__all__ = [
    "MAX_MEMBER_FEATURES",
    "NO_HORIZON",
    "RECENT",
    "Member",
    "Story",
    "StoryAssignment",
    "WindowIndex",
    "index_tokens",
    "load",
    "outlet_of",
    "story_id_for",
]


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
        self._tokens = TokenIndex()
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
        self.last_merges: tuple[tuple[str, str], ...] = ()
        """(survivor, absorbed) of each merge the last :meth:`place` made."""

    # Reading ------------------------------------------------------------------------------------
    def candidates(
        self, feats: Features, horizon: float = NO_HORIZON
    ) -> tuple[dict[str, list[Kept]], dict[str, float]]:
        """The candidate stories of ``feats`` (their members published after ``horizon``,
        oldest first) and the IDF of every token they and the article carry."""
        chosen, idf = self._candidates(feats, horizon)
        idf.cover(chain.from_iterable(f.tokens for fs in chosen.values() for f in fs))
        return chosen, dict(idf)

    def _candidates(
        self, feats: Features, horizon: float
    ) -> tuple[dict[str, list[Kept]], WindowIdf]:
        """:meth:`candidates` with the IDF of the article's tokens only (the rest as needed)."""
        span = self.window.total_seconds()
        low, high = max(feats.published - span, horizon), feats.published + span
        if low > high:  # published before the horizon: nothing to compare with
            idf = WindowIdf({}, 0, self.prior)
            idf.cover(feats.tokens)
            return {}, idf
        ranked, in_span, total = self._tokens.stories(feats, low, high, self.prior)
        chosen = {s: self.stories[s].members_since(horizon) for s in ranked}
        idf = WindowIdf(in_span, total, self.prior)
        idf.cover(feats.tokens)
        return chosen, idf

    def idf_of(self, feats: Features, *others: Compared) -> dict[str, float]:
        """The IDF a decision on ``feats`` uses, of its tokens and those of ``others``."""
        span = self.window.total_seconds()
        low, high = feats.published - span, feats.published + span
        total, in_span = self._tokens.span.span(low, high)
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
        outlet = sys.intern(outlet_of(article))  # one copy per outlet, not one per article
        member = Member(story_id or story_id_for(article.id), feats, outlet, duplicate_of, seq)
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
        self._tokens.relabel(article_id, story_id)

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
        story.keep(feats, self._tokens.tokens(feats))  # one tuple for the story and the index
        story.articles.append(feats.article_id)
        self.placed[feats.article_id] = (member.story_id, member.duplicate_of)
        self.seq_of[feats.article_id] = member.seq
        self.outlet_of[feats.article_id] = member.outlet
        self._tokens.add(feats, member.story_id)

    def evict(self, horizon: float) -> int:
        """Forget stories whose newest member was published before ``horizon`` and index
        entries before it (decisions ignore them already); returns the stories dropped."""
        gone = [s for s in self.stories.values() if s.latest < horizon]
        for story in gone:
            del self.stories[story.story_id]
        if gone:
            alive = set(self.stories)
            self.placed = {a: p for a, p in self.placed.items() if p[0] in alive}
            self.seq_of = {a: q for a, q in self.seq_of.items() if a in self.placed}
            self.outlet_of = {a: o for a, o in self.outlet_of.items() if a in self.placed}
            self._tokens.keep_only(alive, self.placed.keys())
        self._tokens.drop_before(horizon)
        return len(gone)

    def __len__(self) -> int:
        return len(self.placed)


def placement_order(member: Member) -> tuple[tuple[int, int], str]:
    """The order in which stored members were first placed."""
    return member.seq, member.features.article_id


def load(index: WindowIndex, members: Iterable[Member]) -> None:
    """Fill ``index`` with stored members, in the order they were first placed."""
    for member in sorted(members, key=placement_order):
        index.add(member)
