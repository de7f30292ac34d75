"""How likely an article belongs to a story: a logistic model over a few measured signals.

The signals (computed by :func:`peacewatch.stories.scoring.story_signals`):

``lexical``
    The story-level word score: how much of the article's rare vocabulary the story carries and
    how much of the story's vocabulary the article carries (0-1).
``closest``
    The best word score against a single member (a re-headline or a copy of one report).
``headline``
    The best weighted overlap of the headlines alone (weighted Dice): two outlets' headlines of
    one development often share most of their rare words while their summaries open with
    different background.
``shared_weight``
    ``log(1 + the rarity of the tokens the article shares with the story)``: evidence in bulk.
``burst``
    The largest of the three word scores, times ``exp(-hours / 12)`` for the hours to the nearest
    member. News of one development arrives in a burst; the same words a day later more often
    report the next development. Time only ever weighs words: two reports with nothing in
    common are not one story for being published in the same minute.
``same_language``
    Share of the members in the article's language. Reports in two languages that still share
    words share names and figures, which is the stronger evidence.
``shared_numbers``
    Figures both carry (at most three).
``members``
    ``log(1 + the members it is compared with)``: a large story offers more chance likenesses.
``entities``
    Who and where: the share of the article's dictionary entities (actors, places, topics, in
    any language and script; weighted by rarity, halved in the summary) that the story names.
``entity_burst``
    ``entities`` times ``exp(-hours / 12)``: the same people in the same hours are one
    development more often than the same people a day later (a new meeting, talks resumed).
``event``
    What happened: the share of the members whose headline reports a kind of development the
    article's headline reports (agreed, signed, rejected, met, proposed, ... in every feed
    language; :mod:`peacewatch.stories.events`). A denial reports the same kind ("did not
    reject" and "rejects"), so framing does not split one development.
``same_outlet``
    Share of the members from the article's own outlet: an outlet seldom reports one
    development twice, but often runs a series of look-alike headlines.

An article whose three word scores are all below ``WORD_FLOOR`` (0.1) never joins a story,
whatever the model says; a copy of a member's headline or text always joins, unless it is
another issue of its outlet's templated series (:func:`peacewatch.stories.scoring.is_sibling`:
exchange rates, game results, one word or figure apart), which never joins.

The weights are fitted on the hand-labelled stories of ``bench/data/stories_labelled.yaml`` by
``python bench/clusters.py --fit`` (scikit-learn's logistic regression on the decisions an
online clustering faces: each article against each candidate story), which writes
``peacewatch/stories/data/story_model.json``. The benchmark scores the shipped model and, in
the same run, models fitted without the period they are scored on; ``bench/stream_joins.py``
scores its joins on whole days of unrelated news against judged pairs. The threshold, 0.55, was
chosen on judged samples of the joins on the whole streams of 2026-01-06 and 2026-01-08: lower
thresholds join more of the labelled talks stories but, on the stream, more reports that are
not one story (see ``THRESHOLD`` in bench/clusters.py).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

__all__ = ["SIGNALS", "StoryModel", "builtin_model"]

SIGNALS = (
    "lexical",
    "closest",
    "headline",
    "shared_weight",
    "burst",
    "same_language",
    "shared_numbers",
    "members",
    "entities",
    "entity_burst",
    "event",
    "same_outlet",
)

# Used when the shipped file is missing or unreadable: the fitted weights, rounded.
_FALLBACK = {
    "weights": {
        "lexical": 1.61,
        "closest": 1.52,
        "headline": 2.85,
        "shared_weight": 0.15,
        "burst": 3.13,
        "same_language": -1.29,
        "shared_numbers": 0.3,
        "members": -0.52,
        "entities": -0.73,
        "entity_burst": 2.42,
        "event": 0.63,
        "same_outlet": -0.84,
    },
    "intercept": -2.61,
    "threshold": 0.55,
}


@dataclass(frozen=True)
class StoryModel:
    """Weights of the signals, the intercept and the probability an article needs to join."""

    weights: Mapping[str, float]
    intercept: float
    threshold: float = 0.5
    meta: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(SIGNALS)
        if unknown:
            raise ValueError(f"unknown story signals: {sorted(unknown)}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"story threshold must be between 0 and 1, got {self.threshold}")
        if not all(math.isfinite(v) for v in (self.intercept, *self.weights.values())):
            raise ValueError("story model weights and intercept must be finite numbers")

    def probability(self, signals: Mapping[str, float]) -> float:
        """The probability (0-1) that the article belongs to the story the signals describe."""
        z = self.intercept + sum(w * signals.get(name, 0.0) for name, w in self.weights.items())
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def to_json(self) -> str:
        data = {
            "weights": {k: round(float(v), 4) for k, v in self.weights.items()},
            "intercept": round(float(self.intercept), 4),
            "threshold": self.threshold,
            "meta": dict(self.meta),
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> StoryModel:
        data = json.loads(text)
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            intercept=float(data["intercept"]),
            threshold=float(data.get("threshold", 0.5)),
            meta=dict(data.get("meta", {})),
        )


@functools.cache
def builtin_model() -> StoryModel:
    """The model shipped with the package (``data/story_model.json``), or the fallback."""
    try:
        path = resources.files("peacewatch.stories") / "data" / "story_model.json"
        return StoryModel.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return StoryModel.from_json(json.dumps(_FALLBACK))
