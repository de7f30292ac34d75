"""How many articles of a time span carry each token: the document frequencies of the window.

Every decision needs the document frequency of a few hundred tokens in the span around its
article (the publication time plus or minus the story window). Counting each token in its
posting list would cost two binary searches per token per decision; instead,
:class:`SpanCounts` keeps the counts of one span and moves it to the next article's span,
counting in the articles that enter it and out those that leave it. The stream comes in nearly
in publication order, so consecutive spans differ by a few articles.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence


class SpanCounts:
    """Articles (publication time and tokens) in time order, and how many articles of the
    current span ``[low, high]`` (both ends included) carry each token."""

    def __init__(self) -> None:
        self.times: list[float] = []
        """Publication times of every article, in order."""
        self._tokens: list[Sequence[str]] = []
        """The tokens of each article, in the order of ``times``."""
        self._low, self._high = 0.0, -1.0
        self._start = self._end = 0
        """The articles of the span are ``times[start:end]``."""
        self._counts: dict[str, int] = {}

    def add(self, published: float, tokens: Sequence[str]) -> None:
        """Add an article (in any order of time)."""
        at = bisect.bisect_right(self.times, published)
        self.times.insert(at, published)
        self._tokens.insert(at, tokens)
        if published < self._low:  # lands before the span
            self._start += 1
            self._end += 1
        elif published <= self._high:  # lands in it
            self._end += 1
            self._tally(at, at + 1, 1)

    def span(self, low: float, high: float) -> tuple[int, Mapping[str, int]]:
        """The number of articles published from ``low`` to ``high``, and how many of them
        carry each token (a token none carries is absent). The mapping is only read until the
        next call or change."""
        start = bisect.bisect_left(self.times, low)
        end = max(start, bisect.bisect_right(self.times, high))
        was_start, was_end = self._start, self._end
        if start >= was_end or end <= was_start:  # no article in common
            self._tally(was_start, was_end, -1)
            self._tally(start, end, 1)
        else:
            self._tally(was_start, start, -1)  # left the span at its start
            self._tally(start, was_start, 1)  # entered at its start
            self._tally(end, was_end, -1)
            self._tally(was_end, end, 1)
        self._low, self._high, self._start, self._end = low, high, start, end
        return end - start, self._counts

    def drop_before(self, horizon: float) -> int:
        """Forget the articles published before ``horizon``; returns how many there were."""
        cut = bisect.bisect_left(self.times, horizon)
        self._tally(self._start, min(cut, self._end), -1)
        del self.times[:cut], self._tokens[:cut]
        self._start, self._end = max(0, self._start - cut), max(0, self._end - cut)
        return cut

    def _tally(self, start: int, end: int, step: int) -> None:
        """Count the tokens of the articles ``start`` to ``end`` (excluded) in (``step`` 1) or
        out (-1); nothing when ``end`` is not after ``start``."""
        counts = self._counts
        for tokens in self._tokens[start:end] if start < end else ():
            for token in tokens:
                n = counts.get(token, 0) + step
                if n:
                    counts[token] = n
                else:
                    del counts[token]
