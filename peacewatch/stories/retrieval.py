"""Candidate retrieval: the window's articles by rare token, and which stories to compare.

A decision compares an article with a few stories only: those of the articles that share the
most rare weight with it (tokens carried by more than ``RARE_SHARE`` of the window's articles
find nothing). :class:`TokenIndex` keeps, per token, the articles that carry it in publication
order, and the document frequencies of the span around each decision
(:mod:`peacewatch.stories.counts`).
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

from peacewatch.stories.counts import SpanCounts
from peacewatch.stories.features import Features
from peacewatch.stories.rarity import Background, idf_table

MAX_INDEX_TOKENS = 64
"""Tokens of an article that find candidates (entities, numbers and headline words first)."""
MAX_CANDIDATES = 40
"""Articles read from the index per assignment (the most rare tokens shared first)."""
MAX_STORIES = 8
"""Stories of those candidates that are scored as a whole."""
RARE_SHARE = 0.2
"""Tokens carried by more than this share of the window's articles do not find candidates."""


def _since(keys: list[int], published: Mapping[int, float], low: float, count: int) -> list[int]:
    """The first ``count`` of ``keys`` (article numbers by publication time) published at or
    after ``low``, oldest first (``count``: how many of them are published from ``low`` to the
    span's end, so when that is all of them, no search is needed)."""
    if count == len(keys):  # most rare tokens: every article that carries them is in the span
        return keys
    start = bisect.bisect_left(keys, low, key=published.__getitem__)
    return keys[start : start + count]


def index_tokens(feats: Features) -> tuple[str, ...]:
    """The tokens of ``feats`` kept in the token index, the most telling first."""
    # Entities, numbers and headline words say most about the event; summary words come last.
    ranked = sorted(
        feats.tokens, key=lambda t: (t[0] != "e", t not in feats.title_tokens, t[0] != "n", t)
    )
    return tuple(ranked[:MAX_INDEX_TOKENS])


def _rare_limit(total: int) -> float:
    return max(3.0, RARE_SHARE * total)


def _stories_of(
    found: Sequence[list[int]], weights: Sequence[float], story_of: Mapping[int, str]
) -> list[str]:
    """Story ids of the ``MAX_CANDIDATES`` candidate articles with the most rare weight in
    common with the article (ties by story id), best first, at most
    ``MAX_STORIES`` of them. ``found``: per rare token, the numbers of the articles it finds;
    ``weights``: the token's IDF; ``story_of``: the story id of each article's number.

    An article's weight is the sum of its tokens' weights added in the order of the tokens,
    from 0.0 (``numpy.bincount`` adds each bin's weights in the order of its input), so it is
    the same to the last bit as a sum in Python; the pass runs in C, not once per article."""
    sizes = [len(f) for f in found]
    n = sum(sizes)
    if not n:
        return []
    numbers: npt.NDArray[np.int64] = np.fromiter(chain.from_iterable(found), np.int64, n)
    # Each distinct article a bin of its own (by its place among them, not by its number:
    # numbers are never given twice, and those of one window lie far apart in a long run).
    hit, bins = np.unique(numbers, return_inverse=True)
    sums = np.bincount(bins, np.repeat(np.asarray(weights, np.float64), sizes))
    values: npt.NDArray[np.float64] = sums.astype(np.float64, copy=False)
    if len(hit) > MAX_CANDIDATES:
        # Only the articles with at least the MAX_CANDIDATES-th most weight count. Fewer than
        # MAX_CANDIDATES weigh more, and are ranked; the rest of the places go to articles of
        # exactly that weight by story id: the first of their story ids sorted.
        cut = np.partition(values, len(hit) - MAX_CANDIDATES)[len(hit) - MAX_CANDIDATES]
        above = values > cut
        ranked = _by_weight(values[above], hit[above], story_of)
        tied = sorted(_stories(hit[values == cut], story_of))
        ranked += tied[: MAX_CANDIDATES - len(ranked)]
    else:
        # Articles of one weight and one story are next to each other in any order.
        ranked = _by_weight(values, hit, story_of)
    out: list[str] = []
    for story_id in ranked:
        if story_id not in out:
            out.append(story_id)
            if len(out) == MAX_STORIES:
                break
    return out


def _stories(numbers: npt.NDArray[np.int64], story_of: Mapping[int, str]) -> list[str]:
    """The story id of each of ``numbers``, in their order."""
    return [story_of[n] for n in numbers.tolist()]


def _by_weight(
    weights: npt.NDArray[np.float64], numbers: npt.NDArray[np.int64], story_of: Mapping[int, str]
) -> list[str]:
    """The story ids of articles ``numbers`` of ``weights``, the heaviest first (ties by story
    id)."""
    pairs = sorted(zip((-weights).tolist(), _stories(numbers, story_of), strict=True))
    return [story_id for _, story_id in pairs]


class TokenIndex:
    """The placed articles of the window by index token, each with its story."""

    def __init__(self) -> None:
        self.span = SpanCounts()
        """Every article's publication time and index tokens; counts of the span decided on."""
        self._postings: dict[str, list[int]] = {}
        """Per token, the numbers of the articles that carry it, by publication time (ties in
        the order added). A bare list: most tokens are carried by one article or a few."""
        self._published: dict[int, float] = {}
        """The publication time of each article number in the postings."""
        self._story: dict[int, str] = {}
        """The story id of each article in the postings, by its number."""
        self._numbered = 0
        """Articles numbered so far (a number is never given twice)."""
        self._number_of: dict[str, int] = {}
        self._indexed: tuple[Features | None, tuple[str, ...]] = (None, ())
        """The index tokens last computed, with their features (a placement needs them twice)."""

    def tokens(self, feats: Features) -> tuple[str, ...]:
        """:func:`index_tokens` of ``feats`` (kept from the last call for the same features)."""
        known, tokens = self._indexed
        if known is not feats:
            tokens = index_tokens(feats)
            self._indexed = (feats, tokens)
        return tokens

    def stories(
        self, feats: Features, low: float, high: float, prior: Background
    ) -> tuple[list[str], Mapping[str, int], int]:
        """The candidate story ids of ``feats`` among the articles published in ``[low,
        high]`` (best first), with the document frequencies of that span and its size."""
        total, in_span = self.span.span(low, high)
        counts = {t: in_span.get(t, 0) for t in self.tokens(feats)}
        limit = _rare_limit(total)
        rare = [t for t, c in counts.items() if 0 < c <= limit]
        idf_rare = idf_table(rare, counts, total, prior)
        # Each article a token finds gains the token's weight (a token finds an article once).
        postings, published = self._postings, self._published
        found = [_since(postings[t], published, low, counts[t]) for t in rare]
        weights = [idf_rare[t] for t in rare]
        return _stories_of(found, weights, self._story), in_span, total

    def add(self, feats: Features, story_id: str) -> None:
        """Index a placed article of ``story_id`` (each article once)."""
        tokens = self.tokens(feats)
        self.span.add(feats.published, tokens)
        key = self._numbered
        self._numbered += 1
        self._story[key] = story_id
        self._number_of[feats.article_id] = key
        published = feats.published
        self._published[key] = published
        when = self._published.__getitem__
        for token in tokens:
            keys = self._postings.get(token)
            if keys is None:
                self._postings[token] = [key]
            elif published < when(keys[-1]):  # an article later than a newer one
                keys.insert(bisect.bisect_right(keys, published, key=when), key)
            else:
                keys.append(key)

    def relabel(self, article_id: str, story_id: str) -> None:
        """Say that an indexed article now belongs to ``story_id`` (after a merge)."""
        number = self._number_of.get(article_id)
        if number is not None and number in self._story:
            self._story[number] = story_id

    def keep_only(self, stories: Collection[str], articles: Collection[str]) -> None:
        """Forget the articles of stories not in ``stories`` (``articles``: those left)."""
        self._story = {n: s for n, s in self._story.items() if s in stories}
        self._number_of = {a: n for a, n in self._number_of.items() if a in articles}

    def drop_before(self, horizon: float) -> None:
        """Forget the index entries of articles published before ``horizon``."""
        if not self.span.drop_before(horizon):
            return
        when = self._published.__getitem__
        for token in list(self._postings):
            keys = self._postings[token]
            cut = bisect.bisect_left(keys, horizon, key=when)
            if cut == len(keys):
                del self._postings[token]
            elif cut:
                del keys[:cut]
        self._published = {n: t for n, t in self._published.items() if t >= horizon}
