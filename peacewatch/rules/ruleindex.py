"""Which rules to evaluate for an article, from the terms it holds.

A rule is filed under the terms one of which it needs (the rarest such choice: a required
term, or every term of a required OR) and, when it needs two terms or more, also checks the
next rarest required one before it is looked at: for most articles a rule costs nothing but a
set look-up in the lists of its two rarest terms. A rule that those two terms decide alone (an
AND of at most two terms, an OR of terms) holds as soon as it is listed; others are evaluated.

Rarity is guessed from the text of a term's patterns until articles are seen, then counted on
the news itself (one article in ``SAMPLE_EVERY``) and the rules filed again at 256, 1,024,
4,096, … articles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain

from peacewatch.rules import compiled as c

SAMPLE_EVERY = 4
_FIRST_REFILE = 256

Cost = Callable[[frozenset[int]], float]


def _trigger(node: c.Node) -> frozenset[int] | None:
    """Term ids of which a match must hold at least one, or None when the query can hold
    without any (field conditions, negations)."""
    if isinstance(node, c.TermRef):
        return frozenset({node.tid})
    if isinstance(node, c.AnyOf):
        parts = [_trigger(item) for item in node.items]
        if any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    if isinstance(node, c.AllOf | c.Near):
        return min(required(node), key=len, default=None)
    return None


def required(node: c.Node) -> list[frozenset[int]]:
    """Sets of term ids of each of which a match holds at least one: a required term, a
    required OR, each side of a NEAR. Empty when the query can hold without any term."""
    if isinstance(node, c.AllOf):
        return [group for item in node.items for group in required(item)]
    if isinstance(node, c.Near):
        return [frozenset(r.tid for r in node.left), frozenset(r.tid for r in node.right)]
    found = _trigger(node)
    return [] if found is None else [found]


class RuleIndex:
    """Rules filed by their rarest terms; ``candidates`` lists those worth evaluating."""

    def __init__(self, nodes: Sequence[c.Node], flats: Sequence[c.Flat | None], guess: Cost):
        self._nodes = nodes
        self._flats = flats
        self._guess = guess
        self._counts: Counter[int] = Counter()
        self._seen = 0
        self._next_refile = _FIRST_REFILE
        self._by_term: dict[int, list[tuple[int, int]]] = {}
        self._by_set: dict[int, list[tuple[frozenset[int], int]]] = {}
        self._always: list[int] = []
        self.decided = bytearray(len(nodes))
        """Per rule, 1 when being listed for an article means that it holds."""
        self._file(guess)

    def _file(self, cost: Cost) -> None:
        by_term: dict[int, list[tuple[int, int]]] = {}
        by_set: dict[int, list[tuple[frozenset[int], int]]] = {}
        always: list[int] = []
        decided = bytearray(len(self._nodes))
        for index, (node, flat) in enumerate(zip(self._nodes, self._flats, strict=True)):
            groups = sorted(required(node), key=cost)
            if not groups:
                always.append(index)
                continue
            trigger = groups[0]
            second = groups[1] if len(groups) > 1 else None
            if flat is not None and len(groups) <= 2 and not flat[2]:
                decided[index] = 1  # holds when both groups meet the article's terms
            for tid in trigger:
                if second is None:  # the trigger term itself stands in for a second
                    by_term.setdefault(tid, []).append((tid, index))
                elif len(second) == 1:
                    by_term.setdefault(tid, []).append((next(iter(second)), index))
                else:
                    by_set.setdefault(tid, []).append((second, index))
        self._by_term, self._by_set, self._always = by_term, by_set, always
        self.decided = decided

    def candidates(self, present: set[int]) -> list[int]:
        """Indexes of the rules worth evaluating for an article holding ``present``, in order."""
        by_term = self._by_term
        lists = chain.from_iterable(map(by_term.__getitem__, present & by_term.keys()))
        found = {index for second, index in lists if second in present}
        by_set = self._by_set
        if by_set:
            sets = chain.from_iterable(map(by_set.__getitem__, present & by_set.keys()))
            found.update([index for second, index in sets if not present.isdisjoint(second)])
        if self._always:
            found.update(self._always)
        self._learn(present)
        return sorted(found)

    def _learn(self, present: set[int]) -> None:
        self._seen += 1
        if self._seen % SAMPLE_EVERY == 0:
            self._counts.update(present)
        if self._seen < self._next_refile:
            return
        self._next_refile *= 4
        counts, guess = self._counts, self._guess

        def cost(tids: frozenset[int]) -> float:
            return sum(counts[t] for t in tids) + 0.01 * guess(tids)

        self._file(cost)
