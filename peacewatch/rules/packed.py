"""Lists of integers per integer key packed into numpy arrays and read for many keys at once.

The matcher looks up, per article, the lists of hundreds of keys (the terms of every pattern
found, the rules filed under every term present): one numpy gather instead of a Python step per
entry keeps that cost flat as rules grow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.intp]
Bools = npt.NDArray[np.bool_]

EMPTY: Ints = np.zeros(0, dtype=np.intp)


class Packed:
    """Per key ``0 … size - 1``, a list of integers (empty for a key never given)."""

    __slots__ = ("lengths", "starts", "values")

    def __init__(self, lists: Mapping[int, Sequence[int]] | Sequence[Sequence[int]], size: int):
        """``lists``: per key, its integers; ``size``: one more than the largest key read."""
        lengths = np.zeros(size, dtype=np.intp)
        if not isinstance(lists, Mapping):  # the keys in order: laid out by C loops
            lengths[: len(lists)] = list(map(len, lists))
            self.lengths: Ints = lengths
            self.starts: Ints = np.cumsum(lengths) - lengths
            self.values: Ints = np.array(list(chain.from_iterable(lists)), dtype=np.intp)
            return
        keys: list[int] = []
        flat: list[int] = []
        chunks: list[int] = []
        for key, values in sorted(lists.items()):
            if values:
                keys.append(key)
                chunks.append(len(values))
                flat.extend(values)
        if keys:
            lengths[np.array(keys, dtype=np.intp)] = chunks
        self.lengths = lengths
        self.starts = np.cumsum(lengths) - lengths
        self.values = np.array(flat, dtype=np.intp)

    @classmethod
    def runs(cls, keys: Sequence[int], starts: Sequence[int], total: int, size: int) -> Packed:
        """Keys whose lists are runs of ``0 … total - 1``: key ``keys[i]`` holds the numbers from
        ``starts[i]`` to the next start (``keys`` in increasing order, runs in the same order)."""
        packed = cls((), size)
        if keys:
            at = np.array(keys, dtype=np.intp)
            begin = np.array(starts, dtype=np.intp)
            packed.starts[at] = begin
            packed.lengths[at] = np.diff(begin, append=total)
        packed.values = np.arange(total, dtype=np.intp)
        return packed

    def positions(self, keys: Ints) -> Ints:
        """Where the entries of ``keys`` lie in ``values``, key after key (for reading other
        arrays laid out like ``values``)."""
        # the arrays' own methods, not numpy's functions: those add a Python layer to each call,
        # which costs more than the work on arrays this short
        lengths = self.lengths[keys]
        ends = lengths.cumsum()
        total = int(ends[-1]) if len(ends) else 0
        if not total:
            return EMPTY
        # each entry's position: its rank among all entries, shifted to its key's own start
        shifts: Ints = (self.starts[keys] - ends + lengths).repeat(lengths)
        return np.arange(total, dtype=np.intp) + shifts

    def gather(self, keys: Ints) -> Ints:
        """The lists of ``keys`` one after the other."""
        return self.values[self.positions(keys)]


def unique(values: Ints) -> Ints:
    """The distinct ``values``, sorted (``np.unique`` is several times slower on short arrays)."""
    if len(values) < 2:
        return values
    ordered = values.copy()
    ordered.sort()
    keep = np.empty(len(ordered), dtype=np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
