"""Merging stories: an article close to two stories joins the better one, and the two become
one story; the older id survives.

Online clustering splits a development when its first reports share too little: two threads
grow side by side, and a later report that fits both shows they were one. Placing that
report in one of them would leave the split for good, so both stories merge. The merge
probability (``merge_threshold``, at least the join threshold) is fitted on the labelled
stories beside the join model (``python bench/clusters.py`` prints the sweep).

A merged story is what the index would hold had the absorbed story's articles joined the
survivor when they came: its first article, outlets, kept members and recent articles follow
the order of placement, so a successor that loads the merged story from Redis decides as this
index does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from peacewatch.stories.features import Features
from peacewatch.stories.model import StoryModel
from peacewatch.stories.scoring import is_copy, near_members
from peacewatch.stories.signals import probe_of, story_probability

if TYPE_CHECKING:
    from peacewatch.stories.memory import WindowIndex

DEFAULT_MERGE: float | None = None
"""The merge probability used unless one is configured (None: stories never merge).

Measured on bench/data/stories_labelled.yaml (pairwise precision / recall held out on D-F, then
all periods; merges judged by the labelled story of each side): no merges 0.981 / 0.353 and
0.897 / 0.148; 0.5: 0.948 / 0.363 and 0.768 / 0.203, 7 merges right and 5 wrong; 0.6: 0.964 /
0.357 and 0.821 / 0.153, 1 right and 3 wrong; 0.7: 0.981 / 0.353 and 0.890 / 0.149, 1 wrong.
An article's fit to a second story does not tell a split development from a neighbouring one
well enough to merge by default: a wrong merge hides a new development in an old thread."""
Scored = tuple[float, str, str | None]
"""(probability, story id, the member the article copies or None)."""


def scored_stories(
    article: Features,
    stories: Mapping[str, Sequence[Features]],
    idf: Mapping[str, float],
    window: timedelta,
    threshold: float,
    model: StoryModel,
) -> list[Scored]:
    """Every candidate story ``article`` may join (probability at least ``threshold``), in the
    order given; the best is the first with the highest probability, as ``best_story``."""
    probe = probe_of(article, idf)
    out: list[Scored] = []
    for story_id, members in stories.items():
        near = near_members(article, members, window)
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


def best_of(scored: Sequence[Scored]) -> Scored | None:
    best: Scored | None = None
    for item in scored:
        if best is None or item[0] > best[0]:
            best = item
    return best


def absorb(index: WindowIndex, survivor_id: str, absorbed_id: str) -> None:
    """Merge the story ``absorbed_id`` into ``survivor_id`` (the older of the two)."""
    from peacewatch.stories.memory import RECENT  # the index module imports this one

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
    survivor.members, survivor.by_time, survivor.times = [], [], []
    for article_id in sorted(kept, key=lambda a: (seq[a], a)):
        survivor.keep(kept[article_id])
    survivor.recent = articles[-RECENT:]
    for article_id in absorbed.articles:
        index.relabel(article_id, survivor_id)


def older(index: WindowIndex, one: str, other: str) -> tuple[str, str]:
    """(survivor, absorbed): the story whose first article was placed first survives."""
    seq = index.seq_of
    a, b = index.stories[one], index.stories[other]
    if (seq[a.first], a.first) <= (seq[b.first], b.first):
        return one, other
    return other, one
