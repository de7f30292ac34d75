"""Scores that decide whether an article reports the story of a set of members."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from difflib import SequenceMatcher
from typing import TypeVar

from rapidfuzz import fuzz

from peacewatch.stories.bounds import story_probability
from peacewatch.stories.features import Compared, Features, word_token
from peacewatch.stories.model import StoryModel, builtin_model
from peacewatch.stories.signals import (
    BODY_WEIGHT,
    BURST_HOURS,
    ENTITY_WEIGHT,
    EVIDENCE,
    NAMED_EVIDENCE,
    WORD_FLOOR,
    headline_score,
    member_score,
    probe_of,
    signals_of,
    story_lexical,
    story_view,
    word_score,
)

M = TypeVar("M", bound=Compared)
"""A member as a story keeps it, or features read afresh."""

__all__ = [
    "BODY_WEIGHT",
    "BURST_HOURS",
    "ENTITY_WEIGHT",
    "EVIDENCE",
    "NAMED_EVIDENCE",
    "WORD_FLOOR",
    "best_story",
    "check_threshold",
    "headline_similarity",
    "is_copy",
    "is_sibling",
    "lexical_score",
    "near_members",
    "similarity",
    "story_score",
    "story_signals",
]


def lexical_score(
    article: Features, members: Sequence[Compared], idf: Mapping[str, float]
) -> float:
    """How well the words, names and figures of ``article`` fit a story of ``members``, 0 to 1.

    Two shares, each token counted by the share of members that carry it: how much of the
    article's weight the story carries, and how much of the story's weighted vocabulary the
    article carries; their geometric mean is damped until the shared tokens carry enough rare
    weight (``EVIDENCE``). Reports with almost no word in common are also scored on their
    entities and numbers alone.
    """
    if not members:
        return 0.0
    probe = probe_of(article, idf)
    if len(members) == 1:
        return member_score(probe, members[0], idf)
    return story_lexical(probe, members, idf)


def similarity(a: Features, b: Compared, idf: Mapping[str, float]) -> float:
    """The word score of ``a`` against a story of ``b`` alone, from 0 to 1."""
    return member_score(probe_of(a, idf), b, idf)


def headline_similarity(a: Features, b: Compared, idf: Mapping[str, float]) -> float:
    """How much of their weight two headlines share (weighted Dice, 0 to 1): two outlets'
    headlines of one development often share most of their rare words while their summaries
    open with different background."""
    return headline_score(probe_of(a, idf), b, idf)


def story_signals(
    article: Features, members: Sequence[Compared], idf: Mapping[str, float]
) -> dict[str, float]:
    """The signals of :mod:`peacewatch.pipeline.story_model` for ``article`` and a story of
    ``members`` (at least one)."""
    probe = probe_of(article, idf)
    return signals_of(probe, story_view(probe, members, idf), idf)


def story_score(
    article: Features,
    members: Sequence[Compared],
    idf: Mapping[str, float],
    model: StoryModel | None = None,
) -> float:
    """The probability (0-1) that ``article`` reports the story of ``members``."""
    if not members:
        return 0.0
    signals = story_signals(article, members, idf)
    if word_score(signals) < WORD_FLOOR:
        return 0.0  # time and language alone never make two reports one story
    return (model or builtin_model()).probability(signals)


def is_copy(a: Compared, b: Compared) -> bool:
    """``a`` is a syndicated copy or a re-headline of ``b``: same headline or the same text."""
    # fuzz.ratio is 100 * (1 - d / (len(a) + len(b))), d the insertions and deletions from one
    # to the other, at least the difference in length: strings whose lengths differ by more
    # than a tenth of their sum cannot reach 90, and are not compared.
    x, y = len(a.title), len(b.title)
    if x and y and 10 * abs(x - y) <= x + y and fuzz.ratio(a.title, b.title) >= 90:
        return True
    x, y = len(a.summary), len(b.summary)
    return (
        x >= 40
        and y >= 40
        and 10 * abs(x - y) <= x + y
        and fuzz.ratio(a.summary, b.summary) >= 90
        and fuzz.token_set_ratio(a.title, b.title) >= 60
    )


@functools.lru_cache(maxsize=16_384)
def _title_tokens(title: str) -> tuple[tuple[str, ...], Mapping[str, int]]:
    """The tokens of a normalised headline in the order of its words (function words left
    out), and how often each comes; kept computed, as an article meets the same members
    again and again."""
    tokens = tuple(t for w in title.split() if (t := word_token(w)))
    return tokens, Counter(tokens)


def _common(a: Mapping[str, int], b: Mapping[str, int]) -> int:
    """How many tokens two headlines have in common, counted with their repeats."""
    if len(b) < len(a):
        a, b = b, a
    get = b.get
    return sum([min(n, get(t, 0)) for t, n in a.items()])


def is_sibling(a: Features, b: Compared) -> bool:
    """``a`` and ``b`` are two issues of one outlet's templated series, not one report: the
    same outlet, and headlines of the same words in the same order but for parts replaced
    (nothing added or dropped), each with a figure on both sides or a code of three letters
    ("Kurs DKK/PLN 6 stycznia" and "Kurs HUF/PLN 6 stycznia"; "Pistons 121-90 Knicks" and
    "Hornets 124-97 Thunder"). A re-headline rewords or adds; a syndicated copy is another
    outlet's."""
    if not a.outlet or a.outlet != b.outlet:
        return False
    x, y = a.title_tokens, b.title_tokens
    # A token on one side only is a slot by itself (see _slot) if it is a figure or short.
    if (
        x.issubset(y)
        or x.issuperset(y)
        or not any(t[:2] == "n:" or len(t) <= 5 for t in x.symmetric_difference(y))
    ):
        return False
    (ta, ca), (tb, cb) = _title_tokens(a.title), _title_tokens(b.title)
    # The equal parts below hold at most the words both headlines carry (counted with their
    # repeats): most look-alike headlines of one outlet fail on that count alone, which costs
    # a small fraction of aligning them.
    if 2 * _common(ca, cb) < max(len(ta), len(tb)):
        return False
    ops = SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes()
    if any(op in ("insert", "delete") for op, *_ in ops):
        return False
    same = sum(i2 - i1 for op, i1, i2, _, _ in ops if op == "equal")
    return 2 * same >= max(len(ta), len(tb)) and all(
        _slot(ta[i1:i2]) and _slot(tb[j1:j2]) for op, i1, i2, j1, j2 in ops if op == "replace"
    )


def _slot(tokens: Sequence[str]) -> bool:
    """A replaced part of a series' headline: it carries a figure, or it is a short code."""
    return any(t[:2] == "n:" for t in tokens) or (len(tokens) == 1 and len(tokens[0]) <= 5)


def near_members(article: Compared, members: Iterable[M], window: timedelta) -> list[M]:
    """The members of a story that ``article`` may join it through."""
    span, published, article_id = window.total_seconds(), article.published, article.article_id
    return [
        m for m in members if m.article_id != article_id and abs(published - m.published) <= span
    ]


def check_threshold(threshold: float) -> float:
    """``threshold`` if it is a probability strictly between 0 and 1; else ValueError."""
    if not 0.0 < threshold < 1.0:  # also refuses NaN
        raise ValueError(f"a story threshold is a probability between 0 and 1, not {threshold}")
    return threshold


def best_story(
    article: Features,
    stories: Mapping[str, Sequence[Compared]],
    idf: Mapping[str, float],
    window: timedelta,
    threshold: float | None = None,
    model: StoryModel | None = None,
) -> tuple[str | None, str | None]:
    """(story id, duplicate-of article id) of the best-fitting story, or (None, None).

    Only members within ``window`` of the article count. ``threshold``: the probability a
    story needs; by default the model's.
    """
    model = model or builtin_model()
    threshold = model.threshold if threshold is None else check_threshold(threshold)
    probe = probe_of(article, idf)
    outlet = article.outlet
    best: tuple[float, str, str | None] | None = None
    for story_id, members in stories.items():
        near = near_members(article, members, window)
        # another issue of a series (only ever of the article's own outlet)
        if outlet and any(is_sibling(article, m) for m in near if m.outlet == outlet):
            continue
        copied = next((m.article_id for m in near if is_copy(article, m)), None)
        if copied:  # a copy of a member's headline or text is that story, however late
            score = 1.0
        elif not near:
            score = 0.0
        else:
            score = story_probability(probe, near, idf, model, threshold)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, story_id, copied)
    if best is None:
        return None, None
    return best[1], best[2]
