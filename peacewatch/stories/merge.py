"""Merging stories: an article that joins one story and fits a second may show the two are
one development; a fitted merge model decides, and the older story survives.

Online clustering splits a development when its first reports share too little: two threads
grow side by side, and a later report that fits both shows they were one. But a report also
fits a neighbouring development of the same people (the summit's preview and its outcome), so
fitting both is not enough. The decision is a logistic model over what the two stories and
the bridging report say (:data:`MERGE_SIGNALS`), fitted as the join model is, on the labelled
stories (``python bench/clusters.py --fit`` writes ``data/merge_model.json``): the online
clustering of the labelled articles meets every story the article fits at least at
``BRIDGE_FLOOR`` besides the one it joins, and each such pair is labelled one story or two by
the labelled stories of their first articles. ``merge_threshold`` is the merge model's
probability a pair needs.

A merged story is what the index would hold had the absorbed story's articles joined the
survivor when they came: its first article, outlets, kept members and recent articles follow
the order of placement, so a successor that loads the merged story from Redis decides as this
index does.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from itertools import chain
from typing import TYPE_CHECKING

from peacewatch.stories.bounds import story_probability
from peacewatch.stories.features import Compared, Features
from peacewatch.stories.model import StoryModel
from peacewatch.stories.rarity import WindowIdf
from peacewatch.stories.scoring import is_copy, is_sibling, near_members
from peacewatch.stories.signals import BURST_HOURS, probe_of

if TYPE_CHECKING:
    from peacewatch.stories.memory import WindowIndex

DEFAULT_MERGE: float | None = None
"""The merge model's probability used unless one is configured (None: stories never merge).

Measured by ``python bench/clusters.py`` on the held-out periods D-F (join and merge models
fitted on A-C; pairwise precision / recall, B-cubed F1; a merge judged right when the first
articles of the two stories are labelled one story): merges off 0.967 / 0.393, 0.770; at 0.5
0.843 / 0.467, 0.791, 4 merges right and 3 wrong; at 0.7 no merge. The
merge model learns mostly that stories begun within hours of each other are one (``gap``);
with 48 merges offered on the labelled set it cannot yet tell a split development from the
next development of the same people well enough: at 0.5 pairwise precision falls below 0.95,
at 0.7 it merges almost nothing. A wrong merge hides a new development in an old thread, so
merges stay off unless configured."""
BRIDGE_FLOOR = 0.3
"""The join probability at which a second story the article fits is weighed for a merge."""
MERGE_SIGNALS = ("bridge", "joined", "pair", "gap", "smaller")
"""``bridge``: the article's join probability for the other story; ``joined``: for the story
it joins; ``pair``: the best join probability of one of the other story's first members
against the joined story (two halves of one development fit each other, not only the
bridging report); ``gap``: ``exp(-hours / 12)`` for the hours between the two stories' first
articles; ``smaller``: ``log(1 + the size of the smaller story)``."""
PAIR_MEMBERS = 8
"""Members of the other story scored against the joined one for ``pair``."""

_MERGE_FALLBACK = {"weights": {"bridge": 0.0}, "intercept": -5.0}


@dataclass(frozen=True)
class MergeModel:
    """Weights of the merge signals and the intercept."""

    weights: Mapping[str, float]
    intercept: float
    meta: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(MERGE_SIGNALS)
        if unknown:
            raise ValueError(f"unknown merge signals: {sorted(unknown)}")
        if not all(math.isfinite(v) for v in (self.intercept, *self.weights.values())):
            raise ValueError("merge model weights and intercept must be finite numbers")

    def probability(self, signals: Mapping[str, float]) -> float:
        z = self.intercept + sum(w * signals.get(k, 0.0) for k, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def to_json(self) -> str:
        data = {
            "weights": {k: round(float(v), 4) for k, v in self.weights.items()},
            "intercept": round(float(self.intercept), 4),
            "meta": dict(self.meta),
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> MergeModel:
        data = json.loads(text)
        return cls(
            {str(k): float(v) for k, v in data["weights"].items()},
            float(data["intercept"]),
            dict(data.get("meta", {})),
        )


@functools.cache
def builtin_merge_model() -> MergeModel:
    """The merge model shipped with the package (``data/merge_model.json``); without it, one
    that never merges."""
    try:
        path = resources.files("peacewatch.stories") / "data" / "merge_model.json"
        return MergeModel.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return MergeModel.from_json(json.dumps(_MERGE_FALLBACK))


def merge_signals(
    index: WindowIndex,
    article: Features,
    joined: Scored,
    other: Scored,
    idf: Mapping[str, float],
    horizon: float,
) -> dict[str, float]:
    """The signals of :data:`MERGE_SIGNALS` for merging the story ``other`` into ``joined``
    (both as :func:`scored_stories` gives them) after ``article`` joined the first."""
    story, second = index.stories[joined[1]], index.stories[other[1]]
    members = story.members_since(horizon)
    pair = 0.0
    for member in second.members_since(horizon)[:PAIR_MEMBERS]:
        near = near_members(member, members, index.window)
        if near:
            if isinstance(idf, WindowIdf):
                idf.cover(chain(member.tokens, *(m.tokens for m in near)))
            probe = probe_of(member.features(), idf)
            pair = max(pair, story_probability(probe, near, idf, index.model, 1e-9))
    hours = abs(_first_time(story.members) - _first_time(second.members)) / 3600
    return {
        "bridge": other[0],
        "joined": joined[0],
        "pair": pair,
        "gap": math.exp(-hours / BURST_HOURS),
        "smaller": math.log1p(min(story.size, second.size)),
    }


Scored = tuple[float, str, str | None]
"""(probability, story id, the member the article copies or None)."""


def scored_stories(
    article: Features,
    stories: Mapping[str, Sequence[Compared]],
    idf: Mapping[str, float],
    window: timedelta,
    threshold: float,
    model: StoryModel,
) -> list[Scored]:
    """Every candidate story ``article`` may join (probability at least ``threshold``), in the
    order given; the best is the first with the highest probability, as ``best_story``."""
    probe = probe_of(article, idf)
    outlet = article.outlet
    out: list[Scored] = []
    for story_id, members in stories.items():
        near = near_members(article, members, window)
        # another issue of a series (only ever of the article's own outlet)
        if outlet and any(is_sibling(article, m) for m in near if m.outlet == outlet):
            continue
        copied = next((m.article_id for m in near if is_copy(article, m)), None)
        if copied:  # a copy of a member's headline or text is that story, however late
            score = 1.0
        elif not near:
            continue
        else:
            score = story_probability(probe, near, idf, model, threshold)
        if score >= threshold:
            out.append((score, story_id, copied))
    return out


def _first_time(members: Sequence[Compared]) -> float:
    """Publication time of a story's first member (its members are kept in placing order)."""
    return members[0].published if members else 0.0


def best_of(scored: Sequence[Scored]) -> Scored | None:
    best: Scored | None = None
    for item in scored:
        if best is None or item[0] > best[0]:
            best = item
    return best


def absorb(index: WindowIndex, survivor_id: str, absorbed_id: str) -> None:
    """Merge the story ``absorbed_id`` into ``survivor_id`` (the older of the two)."""
    survivor = index.stories[survivor_id]
    absorbed = index.stories.pop(absorbed_id)
    seq = index.seq_of
    articles = sorted([*survivor.articles, *absorbed.articles], key=lambda a: (seq[a], a))
    survivor.articles = articles
    survivor.first = articles[0]
    survivor.size += absorbed.size
    survivor.latest = max(survivor.latest, absorbed.latest)
    outlets: list[str] = []
    for article_id in articles:
        outlet = index.outlet_of[article_id]
        if outlet and outlet not in outlets:
            outlets.append(outlet)
    survivor.outlets = outlets
    kept = {f.article_id: f for f in (*survivor.members, *absorbed.members)}
    survivor.members, survivor.by_time = [], []
    for article_id in sorted(kept, key=lambda a: (seq[a], a)):
        survivor.keep(kept[article_id])
    for article_id in absorbed.articles:
        index.relabel(article_id, survivor_id)


def older(index: WindowIndex, one: str, other: str) -> tuple[str, str]:
    """(survivor, absorbed): the story whose first article was placed first survives."""
    seq = index.seq_of
    a, b = index.stories[one], index.stories[other]
    if (seq[a.first], a.first) <= (seq[b.first], b.first):
        return one, other
    return other, one
