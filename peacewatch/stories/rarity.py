"""Rarity of story tokens: IDF in the window, with a background news corpus as the prior."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

PRIOR_WEIGHT = 10.0
"""Pseudo-articles of background frequency added to the window's counts."""
UNSEEN_SHARE = 0.5
"""A token the background never saw counts as seen in this share of one background article."""
IDF_CAP = 3.0
"""Rarity beyond this (one article in 20) says no more: past it, it is mostly a word's oddity,
and one odd word in a headline must not outweigh the three common ones it shares with a story."""


@dataclass(frozen=True, slots=True)
class Background:
    """Document frequencies of tokens in a general news corpus: the prior of every IDF."""

    documents: int
    frequency: Mapping[str, int]

    def share(self, token: str) -> float:
        if self.documents <= 0:
            return 0.01
        return (self.frequency.get(token, 0) + UNSEEN_SHARE) / (self.documents + 1)

    @classmethod
    def from_json(cls, text: str) -> Background:
        data = json.loads(text)
        return cls(int(data["documents"]), {str(k): int(v) for k, v in data["df"].items()})


@functools.cache
def builtin_background() -> Background:
    """The background shipped with the package, or an empty one if it is missing."""
    try:
        path = resources.files("peacewatch.stories") / "data" / "idf.json"
        return Background.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return Background(0, {})


def idf_table(
    tokens: Iterable[str], counts: Mapping[str, int], total: int, background: Background
) -> dict[str, float]:
    """Inverse document frequency of ``tokens`` in a window of ``total`` articles.

    ``PRIOR_WEIGHT`` pseudo-articles with the background's frequencies are added to the
    window's counts, so that an index with few articles (after a fresh start) still knows
    common words from rare ones, and a large window speaks for itself.
    """
    out: dict[str, float] = {}
    for t in tokens:
        share = (counts.get(t, 0) + PRIOR_WEIGHT * background.share(t)) / (total + PRIOR_WEIGHT)
        out[t] = min(IDF_CAP, max(0.0, -math.log(min(share, 1.0))))
    return out
