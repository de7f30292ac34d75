"""Bounds that rule a candidate story out early, and a story's probability where they do not.

The members of a story are scored, and the IDF of their tokens looked up, only when the bounds
leave it a chance; the signals themselves are those of ``peacewatch.stories.signals``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import chain

from peacewatch.stories.features import Compared
from peacewatch.stories.model import StoryModel
from peacewatch.stories.rarity import WindowIdf
from peacewatch.stories.signals import (
    BURST_HOURS,
    EVIDENCE,
    NAMED_EVIDENCE,
    STORY_SIGNALS,
    WORD_FLOOR,
    Probe,
    StoryView,
    _story_values,
    headline_of,
    signals_of,
    story_view,
    word_score,
)

MARGIN = 1e-9
"""Slack for rounding when a bound rules a story out (scores differ in the 15th digit)."""


def may_reach(
    probe: Probe,
    story: StoryView,
    idf: Mapping[str, float],
    model: StoryModel,
    threshold: float,
    headline: float | None = None,
    base: float | None = None,
) -> bool:
    """False when the story cannot score ``threshold``, judged from bounds on its word scores
    that cost a few sums over what the article shares with the story as a whole (most
    candidate stories of most articles are far from it, and then no member is scored).

    Every word score of a member or of the story is at most ``sqrt(cover) * evidence`` (the
    share of coverage it can reach is at most 1): ``cover`` is at most the article's weight
    in tokens the story carries (1 when the entities and numbers alone may score), and the
    evidence at most that of every shared token. A headline score ``2 S / (T_a + T_m)`` is
    at most ``2 S / (T_a + S)`` with ``S`` the rarity of the headline tokens the story carries.
    Signals with a positive weight take their bound, the others their least value (0).
    ``headline``: the headline score itself, once computed (a second, closer look).
    ``base``: :func:`_story_z` of the story, once computed.
    """
    shared = story.shared
    if story.named >= NAMED_EVIDENCE:
        cover = 1.0
    else:
        cover = min(1.0, math.fsum([probe.weights[t] for t in shared]) / probe.weight)
    words = math.sqrt(cover) * min(1.0, story.rarity / EVIDENCE)
    if headline is None:
        rare_title = math.fsum([idf.get(t, 0.0) for t in probe.article.title_tokens & shared])
        total = probe.title_rarity + rare_title
        headline = 2 * rare_title / total if total else 0.0
    if max(words, headline) < WORD_FLOOR - MARGIN:
        return False
    bounds = (
        words,
        words,
        headline,
        max(words, headline) * math.exp(-story.hours / BURST_HOURS),
        1.0 if probe.kinds else 0.0,
    )
    z = _story_z(story, model) if base is None else base
    z += sum([w * v for w, v in zip(_model_weights(model)[1], bounds, strict=True) if w > 0])
    # The model's probability is the logistic function of z, which reaches the threshold
    # where z reaches its logit.
    return z >= math.log(threshold / (1.0 - threshold)) - MARGIN


def _story_z(story: StoryView, model: StoryModel) -> float:
    """The model's intercept plus its weighted signals of the story as a whole."""
    weights = _model_weights(model)[0]
    return model.intercept + sum(
        [w * v for w, v in zip(weights, _story_values(story), strict=True)]
    )


BOUND_SIGNALS = ("lexical", "closest", "headline", "burst", "event")
"""The signals :func:`may_reach` bounds, in the order it sums them."""
_MODEL_WEIGHTS: dict[int, tuple[StoryModel, tuple[float, ...], tuple[float, ...]]] = {}


def _model_weights(model: StoryModel) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The model's weights of :data:`peacewatch.stories.signals.STORY_SIGNALS` and of
    :data:`BOUND_SIGNALS`, in their orders (0.0 for a signal it does not weigh), kept per model:
    each candidate story of each decision reads them, and looking them up by name cost more than
    the sums."""
    entry = _MODEL_WEIGHTS.get(id(model))
    if entry is None or entry[0] is not model:
        if len(_MODEL_WEIGHTS) >= 64:  # models made one after another (a fit): the last few
            _MODEL_WEIGHTS.clear()
        get = model.weights.get
        story = tuple(get(k, 0.0) for k in STORY_SIGNALS)
        entry = (model, story, tuple(get(k, 0.0) for k in BOUND_SIGNALS))
        _MODEL_WEIGHTS[id(model)] = entry
    return entry[1], entry[2]


def story_probability(
    probe: Probe,
    members: Sequence[Compared],
    idf: Mapping[str, float],
    model: StoryModel,
    threshold: float,
) -> float:
    """:func:`story_score` of the probe's article and a story of ``members``, or 0 where
    bounds show that it stays below ``threshold``: first on what the article shares with the
    story as a whole, then with the headline score itself; the members' words are scored
    only after both (and only then is the IDF of their tokens looked up)."""
    story = story_view(probe, members, idf)
    base = _story_z(story, model)
    if not may_reach(probe, story, idf, model, threshold, base=base):
        return 0.0
    if isinstance(idf, WindowIdf):
        idf.cover(chain.from_iterable(m.title_tokens for m in members))
    headline = headline_of(probe, members, idf)
    if not may_reach(probe, story, idf, model, threshold, headline, base):
        return 0.0
    if isinstance(idf, WindowIdf):
        idf.cover(chain.from_iterable(m.tokens for m in members))
    signals = signals_of(probe, story, idf, headline)
    if word_score(signals) < WORD_FLOOR:  # time and language alone never make one story
        return 0.0
    return model.probability(signals)
