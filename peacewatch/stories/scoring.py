"""Scores that decide whether an article reports the story of a set of members."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from rapidfuzz import fuzz

from peacewatch.stories.features import Features
from peacewatch.stories.model import StoryModel, builtin_model

BODY_WEIGHT = 0.5
"""Weight of a summary token against a headline token."""
ENTITY_WEIGHT = 1.0
"""Weight of an entity id against a word (its rarity already speaks for it)."""
EVIDENCE = 8.0
"""Shared IDF weight (three or four uncommon tokens) below which a score is scaled down."""
NAMED_EVIDENCE = 4
"""Shared entities and numbers that let two reports with almost no word in common meet."""
WORD_FLOOR = 0.1
"""The word score (story, best single member or headline) below which an article never joins
a story, whatever the model says."""
BURST_HOURS = 12.0
"""Time scale of a news burst: the word score counts in full at once, by 1/e twelve hours on."""


def _weights(feats: Features, idf: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in feats.tokens:
        w = idf.get(t, 0.0) * (1.0 if t in feats.title_tokens else BODY_WEIGHT)
        out[t] = w * ENTITY_WEIGHT if t.startswith("e:") else w
    return out


def lexical_score(
    article: Features, members: Sequence[Features], idf: Mapping[str, float]
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
    carried: Counter[str] = Counter(t for m in members for t in m.tokens)
    shared = [t for t in article.tokens if t in carried]
    score = _shares(_weights(article, idf), carried, shared, len(members), idf)
    named = [t for t in shared if not t.startswith("s:")]
    if len(named) >= NAMED_EVIDENCE and len(shared) == len(named):
        # No word in common but the same actors, places and figures: one event told in
        # two languages. Within one language the words already speak.
        weights = {t: w for t, w in _weights(article, idf).items() if not t.startswith("s:")}
        story = {t: c for t, c in carried.items() if not t.startswith("s:")}
        score = max(score, _shares(weights, story, named, len(members), idf))
    return score


def _shares(
    weights: Mapping[str, float],
    carried: Mapping[str, int],
    shared: Sequence[str],
    n: int,
    idf: Mapping[str, float],
) -> float:
    if not shared:
        return 0.0
    cover = sum(weights[t] * carried[t] / n for t in shared) / (sum(weights.values()) or 1.0)
    vocabulary = {t: idf.get(t, 0.0) * c / n for t, c in carried.items()}
    back = sum(vocabulary[t] for t in shared) / (sum(vocabulary.values()) or 1.0)
    evidence = min(1.0, sum(idf.get(t, 0.0) for t in shared) / EVIDENCE)
    return math.sqrt(cover * back) * evidence


def similarity(a: Features, b: Features, idf: Mapping[str, float]) -> float:
    """The word score of ``a`` against a story of ``b`` alone, from 0 to 1."""
    return lexical_score(a, [b], idf)


def headline_similarity(a: Features, b: Features, idf: Mapping[str, float]) -> float:
    """How much of their weight two headlines share (weighted Dice, 0 to 1): two outlets'
    headlines of one development often share most of their rare words while their summaries
    open with different background."""
    total = sum(idf.get(t, 0.0) for t in a.title_tokens) + sum(
        idf.get(t, 0.0) for t in b.title_tokens
    )
    shared = sum(idf.get(t, 0.0) for t in a.title_tokens & b.title_tokens)
    return 2 * shared / total if total else 0.0


def story_signals(
    article: Features, members: Sequence[Features], idf: Mapping[str, float]
) -> dict[str, float]:
    """The signals of :mod:`peacewatch.pipeline.story_model` for ``article`` and a story of
    ``members`` (at least one)."""
    carried = {t for m in members for t in m.tokens}
    shared = article.tokens & carried
    hours = min(abs(article.published - m.published) for m in members) / 3600
    # An unknown language counts as the same: most reports a feed carries share its language.
    same = sum(1 for m in members if not (article.lang and m.lang) or m.lang == article.lang)
    lexical = lexical_score(article, members, idf)
    closest = max(similarity(article, m, idf) for m in members)
    headline = max(headline_similarity(article, m, idf) for m in members)
    return {
        "lexical": lexical,
        "closest": closest,
        "headline": headline,
        "burst": max(lexical, closest, headline) * math.exp(-hours / BURST_HOURS),
        "shared_weight": math.log1p(sum(idf.get(t, 0.0) for t in shared)),
        "same_language": same / len(members),
        "shared_numbers": float(min(3, sum(1 for t in shared if t.startswith("n:")))),
        "members": math.log1p(len(members)),
    }


def _words(signals: Mapping[str, float]) -> float:
    return max(signals["lexical"], signals["closest"], signals["headline"])


def story_score(
    article: Features,
    members: Sequence[Features],
    idf: Mapping[str, float],
    model: StoryModel | None = None,
) -> float:
    """The probability (0-1) that ``article`` reports the story of ``members``."""
    if not members:
        return 0.0
    signals = story_signals(article, members, idf)
    if _words(signals) < WORD_FLOOR:
        return 0.0  # time and language alone never make two reports one story
    return (model or builtin_model()).probability(signals)


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


def _window_ok(a: Features, b: Features, window: timedelta) -> bool:
    return abs(a.published - b.published) <= window.total_seconds()


def near_members(
    article: Features, members: Iterable[Features], window: timedelta
) -> list[Features]:
    """The members of a story that ``article`` may join it through."""
    return [
        m for m in members if m.article_id != article.article_id and _window_ok(article, m, window)
    ]


def check_threshold(threshold: float) -> float:
    """``threshold`` if it is a probability strictly between 0 and 1; else ValueError."""
    if not 0.0 < threshold < 1.0:  # also refuses NaN
        raise ValueError(f"a story threshold is a probability between 0 and 1, not {threshold}")
    return threshold


def best_story(
    article: Features,
    stories: Mapping[str, Sequence[Features]],
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
    best: tuple[float, str, str | None] | None = None
    for story_id, members in stories.items():
        near = near_members(article, members, window)
        copied = next((m.article_id for m in near if is_copy(article, m)), None)
        # A copy of a member's headline or text is that story, however late it comes.
        score = 1.0 if copied else story_score(article, near, idf, model)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, story_id, copied)
    if best is None:
        return None, None
    return best[1], best[2]
