"""Which rules to evaluate for an article, from the terms it holds.

A rule needs groups of terms, at least one term of each (a required term, the terms of a
required OR, the terms of either side of a NEAR). It is filed under each term of its rarest
group and, before it is looked at, checks its next rarest group: for most articles a rule costs
nothing but a look-up in the lists of its terms (gathered as arrays for all the terms an article
holds). A flat rule of at most two groups and no NOT holds as soon as it is listed; the other
flat rules listed are decided together over arrays (``termgroups``); the rest are evaluated.

Rarity is guessed from the text of a term's patterns until articles are seen, then counted on
the news itself (one article in ``SAMPLE_EVERY``); at 64, 256, 1,024, … articles the rules
filed under a term found in more than ``HOT_SHARE`` of them are filed again by what was counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import TypeVar

import numpy as np

from peacewatch.rules import compiled as c
from peacewatch.rules import fastpath as fp
from peacewatch.rules.packed import EMPTY, Bools, Ints, Packed, unique
from peacewatch.rules.termgroups import FlatRules, TermGroups

_T = TypeVar("_T")
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)

SAMPLE_EVERY = 4
"""One article in this many is counted."""
HOT_SHARE = 0.02
"""A term found in more than this share of the counted articles makes the rules filed under it
worth filing again."""
FIRST_REFILE = 64
"""Articles seen at the first filing again; each later one comes ``REFILE_FACTOR`` times as
many articles after the start."""
REFILE_FACTOR = 4


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

    def __init__(
        self,
        nodes: Sequence[c.Node],
        flats: Sequence[fp.Flat | None],
        guesses: Sequence[float],
        shared: dict[frozenset[int], frozenset[int]] | None = None,
    ) -> None:
        """``guesses``: per term id, how often it is guessed to be found before any article;
        ``shared``: term-id sets already made, used again for equal groups."""
        shared = {} if shared is None else shared
        self._groups = [tuple(shared.setdefault(g, g) for g in required(node)) for node in nodes]
        self._guesses = list(guesses)
        # a flat rule without NOT holds when its (at most two) groups meet the article; other
        # flat rules are decided for all the listed ones at once (``FlatRules``)
        by_listing = [
            flat is not None and len(groups) <= 2 and not flat[2]
            for groups, flat in zip(self._groups, flats, strict=True)
        ]
        self._term_groups = TermGroups()
        self._flat = FlatRules(
            self._term_groups,
            [
                (groups, flat[2]) if flat is not None and not listed else ((), frozenset())
                for groups, flat, listed in zip(self._groups, flats, by_listing, strict=True)
            ],
        )
        self._checked: Bools = np.array(
            [
                flat is not None and not listed
                for flat, listed in zip(flats, by_listing, strict=True)
            ],
            dtype=np.bool_,
        )
        self._open: Bools = np.array([flat is None for flat in flats], dtype=np.bool_)
        """Per rule, whether being listed for an article (``candidates``) leaves it to be
        evaluated (else it holds)."""
        self._counts = np.zeros(len(self._guesses), dtype=np.int64)
        self._seen = 0
        self._next_refile = FIRST_REFILE
        self._by_term: dict[int, list[tuple[int, int]]] = {}
        self._by_set: dict[int, list[tuple[frozenset[int], int]]] = {}
        self._always: list[int] = []
        self._trigger: list[frozenset[int]] = []
        """Per rule, the group of terms it is filed under."""
        self._entries = Packed((), 0)
        self._singles: dict[int, int] = {}
        """Group number of each single term that a rule checks."""
        self._entry_rule: Ints = EMPTY
        self._entry_group: Ints = EMPTY
        self._always_ids: Ints = EMPTY
        self._file(self._guesses)

    def _file(self, costs: Sequence[float]) -> None:
        """File every rule under its rarest group, checking its next rarest (by ``costs``,
        per term id)."""
        self._by_term, self._by_set, self._always = {}, {}, []
        self._trigger = [frozenset[int]()] * len(self._groups)
        cost = _group_cost(costs)
        for index in range(len(self._groups)):
            self._place(index, cost)
        self._pack()

    def _place(self, index: int, cost: Callable[[frozenset[int]], float]) -> None:
        groups = self._groups[index]
        if not groups:
            self._always.append(index)
            return
        if len(groups) > 1:
            groups = tuple(sorted(groups, key=cost))
        trigger = self._trigger[index] = groups[0]
        second = groups[1] if len(groups) > 1 else None
        by_term, by_set = self._by_term, self._by_set
        for tid in trigger:
            if second is None:  # the trigger term itself stands in for a second
                by_term.setdefault(tid, []).append((tid, index))
            elif len(second) == 1:
                by_term.setdefault(tid, []).append((next(iter(second)), index))
            else:
                by_set.setdefault(tid, []).append((second, index))

    def _refile(self, costs: Sequence[float], hot: set[int]) -> None:
        """File again, by ``costs``, the rules of more than one group that are filed under a
        term of ``hot``: those looked at for many articles. The others cost little as they are."""
        by_term, by_set = self._by_term, self._by_set
        moving = {i for t in hot & by_term.keys() for _, i in by_term[t]}
        moving.update(i for t in hot & by_set.keys() for _, i in by_set[t])
        groups = self._groups
        moving = {i for i in moving if len(groups[i]) > 1}
        filed_under = set(chain.from_iterable(self._trigger[i] for i in moving))
        _drop(by_term, filed_under, moving)
        _drop(by_set, filed_under, moving)
        cost = _group_cost(costs)
        for index in sorted(moving):
            self._place(index, cost)
        self._pack()

    def _pack(self) -> None:
        """The filing as arrays (``candidates``): per term the run of its entries, per entry its
        rule and the group of terms it checks (``TermGroups``)."""
        group_id, singles = self._term_groups.id, self._singles
        by_term, by_set = self._by_term, self._by_set
        keys = sorted(by_term.keys() | by_set.keys())
        # per term its entries checking one term, then those checking a set: gathered by C
        # loops over all the terms at once, then laid out in place with arrays
        term_lists = list(map(by_term.get, keys, repeat(())))
        set_lists = list(map(by_set.get, keys, repeat(())))
        term_entries = list(chain.from_iterable(term_lists))
        set_entries = list(chain.from_iterable(set_lists))
        seconds = list(map(_FIRST, term_entries))
        for second in set(seconds).difference(singles):
            singles[second] = group_id(frozenset((second,)))
        term_counts = np.array(list(map(len, term_lists)), dtype=np.intp)
        set_counts = np.array(list(map(len, set_lists)), dtype=np.intp)
        per_term = term_counts + set_counts
        starts = per_term.cumsum() - per_term
        total = int(per_term.sum())
        at_terms = _placed(starts, term_counts)
        at_sets = _placed(starts + term_counts, set_counts)
        rules = np.empty(total, dtype=np.intp)
        rules[at_terms] = list(map(_SECOND, term_entries))
        rules[at_sets] = list(map(_SECOND, set_entries))
        checks = np.empty(total, dtype=np.intp)
        checks[at_terms] = list(map(singles.__getitem__, seconds))
        checks[at_sets] = list(map(group_id, map(_FIRST, set_entries)))
        self._term_groups.pack()
        self._entries = Packed.runs(keys, starts.tolist(), total, len(self._guesses))
        self._entry_rule = rules
        self._entry_group = checks
        self._always_ids = np.array(self._always, dtype=np.intp)

    def undecided(self, listed: Ints) -> list[int]:
        """Those of ``listed`` (``candidates``) that being listed does not decide, in order."""
        return listed[self._open[listed]].tolist()  # type: ignore[no-any-return]

    def mask(self, present: Ints) -> Bools:
        """The terms ``present`` (distinct term ids) as a mask over every term id, with one
        entry more (never set) for "no term"."""
        mask = np.zeros(len(self._guesses) + 1, dtype=np.bool_)
        mask[present] = True
        return mask

    def candidates(self, present: Ints, mask: Bools | None = None) -> Ints:
        """Indexes of the rules worth evaluating for an article holding the terms ``present``
        (distinct term ids), in order; ``mask``: ``mask(present)`` if made already."""
        if mask is None:
            mask = self.mask(present)
        entries = self._entries.positions(present)
        found = EMPTY
        if len(entries):
            holds = self._term_groups.meets(self._entry_group[entries], mask)
            found = self._entry_rule[entries[holds]]
        if len(self._always_ids):
            found = np.concatenate((found, self._always_ids))
        self._learn(present)
        listed = unique(found)
        checked = self._checked[listed].nonzero()[0]
        if len(checked):
            keep = np.ones(len(listed), dtype=np.bool_)
            keep[checked] = self._flat.holds(listed[checked], mask)
            listed = listed[keep]
        return listed

    def _learn(self, present: Ints) -> None:
        self._seen += 1
        seen = self._seen
        if seen % SAMPLE_EVERY == 0:
            self._counts[present] += 1
        if seen < self._next_refile:
            return
        self._next_refile *= REFILE_FACTOR
        counts = self._counts
        counted = seen // SAMPLE_EVERY
        hot = set(np.flatnonzero(counts > HOT_SHARE * counted).tolist())
        # what was seen decides; the guess only orders terms never seen
        guesses = np.array(self._guesses, dtype=np.float64)
        self._refile((counts + 0.01 * guesses).tolist(), hot)


def _placed(starts: Ints, counts: Ints) -> Ints:
    """Positions ``starts[k]``, ``starts[k] + 1``, … (``counts[k]`` of them) for each ``k``, one
    run after the other."""
    total = int(counts.sum())
    if not total:
        return EMPTY
    firsts = counts.cumsum() - counts  # where each run begins among all the positions
    shifts: Ints = (starts - firsts).repeat(counts)
    return np.arange(total, dtype=np.intp) + shifts


def _drop(table: dict[int, list[tuple[_T, int]]], tids: set[int], rules: set[int]) -> None:
    """Remove the entries of ``rules`` from the lists of ``tids`` in ``table``."""
    for tid in tids & table.keys():
        kept = [entry for entry in table[tid] if entry[1] not in rules]
        if kept:
            table[tid] = kept
        else:
            del table[tid]


def _group_cost(costs: Sequence[float]) -> Callable[[frozenset[int]], float]:
    look = costs.__getitem__
    known: dict[frozenset[int], float] = {}  # rules share groups: each summed once

    def cost(group: frozenset[int]) -> float:
        found = known.get(group)
        if found is None:
            found = known[group] = sum(map(look, group))
        return found

    return cost
