"""Candidate retrieval: the window's articles by rare token, and which stories to compare.

A decision compares an article with a few stories only: those of the articles that share the
most rare weight with it (tokens carried by more than ``RARE_SHARE`` of the window's articles
find nothing). :class:`TokenIndex` keeps, per token, the articles that carry it in publication
order, and the document frequencies of the span around each decision
(:mod:`peacewatch.stories.counts`).
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping
from itertools import repeat
from operator import add

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
    after ``low``, oldest first."""
    start = bisect.bisect_left(keys, low, key=published.__getitem__)
    return keys[start : start + count]


def index_tokens(feats: Features) -> tuple[str, ...]:
    """The tokens of ``feats`` kept in the token index, the most telling first."""
    # Entities, numbers and headline words say most about the event; summary words come last.
    ranked = sorted(
        feats.tokens, key=lambda t: (t[0] != "e", t not in feats.title_tokens, t[0] != "n", t)
    )
    return tuple(ranked[:MAX_INDEX_TOKENS])


_ZEROS = repeat(0.0)


def _rare_limit(total: int) -> float:
    return max(3.0, RARE_SHARE * total)


def _stories_of(evidence: Mapping[int, float], keys: Mapping[int, tuple[str, str]]) -> list[str]:
    """Story ids of the ``MAX_CANDIDATES`` candidate articles with the most rare weight in
    common with the article (ties by story id, then article id), best first, at most
    ``MAX_STORIES`` of them. ``keys``: (story id, article id) of each article's number."""
    if len(evidence) > MAX_CANDIDATES:
        # Only the articles with at least the MAX_CANDIDATES-th most weight count (a sort of
        # the bare weights finds it). Fewer than MAX_CANDIDATES weigh more, and are ranked; the
        # rest of the places go to articles of exactly that weight, by story id then article
        # id, so their story ids in order are the first of those ids sorted.
        cut = sorted(evidence.values())[-MAX_CANDIDATES]
        above: list[tuple[float, str]] = []
        tied: list[str] = []
        for n, w in evidence.items():
            if w > cut:
                above.append((-w, keys[n][0]))
            elif w == cut:
                tied.append(keys[n][0])
        above.sort()
        tied.sort()
        ranked = [story_id for _, story_id in above] + tied[: MAX_CANDIDATES - len(above)]
    else:
        # Articles of one weight and one story are next to each other in any order.
        ranked = [
            story_id for _, story_id in sorted([(-w, keys[n][0]) for n, w in evidence.items()])
        ]
    out: list[str] = []
    for story_id in ranked:
        if story_id not in out:
            out.append(story_id)
            if len(out) == MAX_STORIES:
                break
    return out


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
        self._keys: dict[int, tuple[str, str]] = {}
        """(story id, article id) of each article in the postings, by its number."""
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
        evidence: dict[int, float] = {}  # article number -> IDF of the rare tokens in common
        weigh = evidence.get
        for token in rare:
            # Each article the token finds gains its weight, in the order of the tokens (a token
            # finds an article once); the pass runs in C, not once per article in Python.
            found = _since(self._postings[token], self._published, low, counts[token])
            weight = repeat(idf_rare[token])
            evidence.update(zip(found, map(add, map(weigh, found, _ZEROS), weight), strict=True))
        return _stories_of(evidence, self._keys), in_span, total

    def add(self, feats: Features, story_id: str) -> None:
        """Index a placed article of ``story_id`` (each article once)."""
        tokens = self.tokens(feats)
        self.span.add(feats.published, tokens)
        key = self._numbered
        self._numbered += 1
        self._keys[key] = (story_id, feats.article_id)
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
        if number is not None and number in self._keys:
            self._keys[number] = (story_id, article_id)

    def keep_only(self, stories: Collection[str], articles: Collection[str]) -> None:
        """Forget the articles of stories not in ``stories`` (``articles``: those left)."""
        self._keys = {n: k for n, k in self._keys.items() if k[0] in stories}
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
