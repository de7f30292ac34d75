"""Groups of terms (of which an article must hold one) and flat queries, decided as arrays.

A flat query (``fastpath.flat``) holds when each of its groups meets the terms the article
holds and none of its NOT terms is there. The matcher decides it for every listed rule of an
article at once, over a mask of the present terms, instead of set operations rule by rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from peacewatch.rules.packed import Bools, Ints, Packed


class TermGroups:
    """Numbered groups of term ids; ``meets`` says which of some groups an article meets."""

    def __init__(self) -> None:
        self._ids: dict[frozenset[int], int] = {}
        self._groups: list[tuple[int, ...]] = []
        self._first: Ints = np.zeros(0, dtype=np.intp)
        self._multi: Bools = np.zeros(0, dtype=np.bool_)
        self._terms = Packed((), 0)

    def id(self, group: frozenset[int]) -> int:
        """The number of ``group`` (a new one for a group not seen); call ``pack`` after."""
        found = self._ids.get(group)
        if found is None:
            found = self._ids[group] = len(self._groups)
            self._groups.append(tuple(sorted(group)))
        return found

    def terms(self, group: int) -> tuple[int, ...]:
        """The term ids of group number ``group``, sorted."""
        return self._groups[group]

    def pack(self) -> None:
        """The groups as arrays, for ``meets``."""
        groups = self._groups
        if len(groups) == len(self._first):
            return  # no group added since
        self._first = np.array([g[0] if g else -1 for g in groups], dtype=np.intp)
        self._multi = np.array([len(g) != 1 for g in groups], dtype=np.bool_)
        self._terms = Packed(groups, len(groups))

    def meets(self, groups: Ints, mask: Bools) -> Bools:
        """Per group of ``groups``, whether a term of it is set in ``mask`` (the present
        terms, with one more entry, never set, after the last term id)."""
        holds: Bools = mask[self._first[groups]]
        # a group of several terms whose first is absent: any other present will do
        open_ = (self._multi[groups] & ~holds).nonzero()[0]
        if len(open_):
            listed = groups[open_]
            lengths = self._terms.lengths[listed]
            holds[open_] = counts(mask[self._terms.gather(listed)], lengths) > 0
        return holds


def counts(flags: Bools, lengths: Ints) -> Ints:
    """How many of ``flags`` are set in each run of ``lengths`` (runs may be empty)."""
    ends = lengths.cumsum()  # the arrays' methods: numpy's functions add a Python layer
    total = np.zeros(len(flags) + 1, dtype=np.intp)
    flags.cumsum(out=total[1:])
    result: Ints = total[ends] - total[ends - lengths]
    return result


FEW = 16
"""Up to this many rules are decided one by one: a few array operations cost more than that
many rules' look-ups."""


class FlatRules:
    """The flat rules of a rule set (``fastpath.Flat``: groups that must each meet the
    article, terms that must all be absent), decided for many rules at once."""

    def __init__(
        self, groups: TermGroups, rules: Sequence[tuple[Sequence[frozenset[int]], frozenset[int]]]
    ) -> None:
        """``rules``: per rule, its required groups and its NOT terms."""
        self._groups = groups
        self._required = Packed(
            [[groups.id(g) for g in required] for required, _ in rules], len(rules)
        )
        self._absent = Packed([sorted(nones) for _, nones in rules], len(rules))
        self._plain: dict[int, tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]] = {}
        """Per rule decided one by one, its groups' terms and its NOT terms (made when first
        decided so)."""

    def holds(self, rules: Ints, mask: Bools) -> Bools:
        """Per rule of ``rules``, whether it holds for an article whose present terms are set
        in ``mask`` (``TermGroups.meets``)."""
        if len(rules) <= FEW:
            flags = mask.tobytes()
            return np.array([self._holds(rule, flags) for rule in rules.tolist()], dtype=np.bool_)
        required = self._required
        met = self._groups.meets(required.gather(rules), mask)
        ok: Bools = counts(~met, required.lengths[rules]) == 0
        absent = self._absent
        if absent.values.size:
            ok &= counts(mask[absent.gather(rules)], absent.lengths[rules]) == 0
        return ok

    def _holds(self, rule: int, flags: bytes) -> bool:
        """``holds`` of one rule, the present terms' flags as bytes."""
        found = self._plain.get(rule)
        if found is None:
            found = self._plain[rule] = self._terms_of(rule)
        groups, nones = found
        for group in groups:
            for tid in group:
                if flags[tid]:
                    break
            else:
                return False
        for tid in nones:  # noqa: SIM110 - a plain loop is faster than any() of a generator
            if flags[tid]:
                return False
        return True

    def _terms_of(self, rule: int) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
        required, absent = self._required, self._absent
        start, length = int(required.starts[rule]), int(required.lengths[rule])
        ids = required.values[start : start + length].tolist()
        groups = tuple(self._groups.terms(group) for group in ids)
        start, length = int(absent.starts[rule]), int(absent.lengths[rule])
        return groups, tuple(absent.values[start : start + length].tolist())
