"""Rarity of story tokens: IDF in the window, with a background news corpus as the prior."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    _priors: dict[str, float] = field(init=False, repr=False, compare=False)
    """``PRIOR_WEIGHT * share(token)`` of each token the background knows, computed once (every
    IDF needs it). Not a memo of every token asked: the window's tokens never seen by the
    background (most of them, and without end in a long run) share one prior."""
    _unseen: float = field(init=False, repr=False, compare=False)
    """The prior of a token the background does not know."""

    def __post_init__(self) -> None:
        known = {t: PRIOR_WEIGHT * self.share(t) for t in self.frequency}
        unseen = 0.01 if self.documents <= 0 else UNSEEN_SHARE / (self.documents + 1)
        object.__setattr__(self, "_priors", known)
        object.__setattr__(self, "_unseen", PRIOR_WEIGHT * unseen)

    def share(self, token: str) -> float:
        if self.documents <= 0:
            return 0.01
        return (self.frequency.get(token, 0) + UNSEEN_SHARE) / (self.documents + 1)

    def prior(self, token: str) -> float:
        """``PRIOR_WEIGHT * share(token)``: the pseudo-count the background adds to a token."""
        return self._priors.get(token, self._unseen)

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
    _fill(out, tokens, counts, total, background)
    return out


def _fill(
    out: dict[str, float],
    tokens: Iterable[str],
    counts: Mapping[str, int],
    total: int,
    background: Background,
) -> None:
    """Put into ``out`` the IDF of each of ``tokens`` that it does not hold yet."""
    known, unseen, count, log = background._priors.get, background._unseen, counts.get, math.log
    window = total + PRIOR_WEIGHT
    for t in tokens:
        if t in out:
            continue
        prior = known(t, unseen)
        share = (count(t, 0) + prior) / window
        # min(IDF_CAP, max(0.0, -log(min(share, 1.0)))), without three calls per token
        idf = -log(share) if share < 1.0 else 0.0
        out[t] = IDF_CAP if idf > IDF_CAP else idf


class WindowIdf(dict[str, float]):
    """:func:`idf_table` of one window, filled as a decision needs it: the tokens of a
    candidate story's members are only looked up once the story is worth scoring in full
    (:meth:`cover`). ``counts`` must stay as they are while it is in use."""

    def __init__(self, counts: Mapping[str, int], total: int, background: Background) -> None:
        super().__init__()
        self._counts, self._total, self._background = counts, total, background

    def cover(self, tokens: Iterable[str]) -> None:
        """Add the IDF of the ``tokens`` it does not hold yet."""
        _fill(self, tokens, self._counts, self._total, self._background)
