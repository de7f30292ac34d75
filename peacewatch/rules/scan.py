"""One scan of one article: the automaton's hits at word starts, and where each one lies.

The automaton reads the normalised text with every word wrapped in two markers (``marked``):
``START`` before it and ``END`` after it, where words are ``WHOLE_WORD``. A pattern is marked
the same way, so ``START ukraine END`` is found only as a whole word and ``START ukrain`` only
at the start of a word: the automaton itself keeps to word boundaries, and hits inside words
(``war`` in ``toward``) are never reported at all. A hit is placed back in the unmarked text
only when a caller asks where a term was found.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator, Sequence
from itertools import accumulate
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from peacewatch.rules.packed import unique

_WORD_SPLIT = re.compile(r"(\w+)")
Span = tuple[int, int]

# A word as readers see it: letters, digits and combining marks, with inner apostrophes
# (o'brien, перемир'я) but not the English possessive, which ends the word (Zelensky's).
_W = r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489])"
WHOLE_WORD = re.compile(rf"{_W}+(?:'(?!s(?!{_W})){_W}+)*")
# The same words where the text has no underscore and none of those marks (nearly always): one
# character class instead of an alternation per character, four times faster.
_PLAIN_WORD = re.compile(r"\w+(?:'(?!s(?!\w))\w+)*")
_NOT_PLAIN = re.compile(r"[_\u0300-\u036f\u0483-\u0489]")
_SPLIT_WHOLE = re.compile(f"({WHOLE_WORD.pattern})")

_FIRST = itemgetter(0)
START = "\x01"
END = "\x02"
NEVER = END + END
"""A pattern that never occurs in marked text (an end marker always follows a word)."""
_NO_MARKERS = str.maketrans({START: " ", END: " "})
"""The text's own marker characters become spaces, which are no word characters either."""


def word_bounds(text: str) -> tuple[set[int], set[int]]:
    """Where the words of ``text`` (``WHOLE_WORD``) start, and where they end."""
    finder = WHOLE_WORD if _NOT_PLAIN.search(text) else _PLAIN_WORD
    starts: set[int] = set()
    ends: set[int] = set()
    for found in finder.finditer(text):
        start, end = found.span()
        starts.add(start)
        ends.add(end)
    return starts, ends


def mark(text: str, plain: bool = True) -> str:
    """``text`` with ``START`` before and ``END`` after each word (``WHOLE_WORD``); with
    ``plain`` the faster equivalent finder is used when the text allows it."""
    return mark_runs(text, plain)[0]


def mark_runs(text: str, plain: bool = True) -> tuple[str, list[str] | None, bool]:
    """``mark(text)``, the split of ``text`` into runs of ``\\w`` (non-word, run, …, run,
    non-word) when marking found them on the way (None when it did not), and whether the
    marked words are exactly those runs (no apostrophe joined two)."""
    if START in text or END in text:
        text = text.translate(_NO_MARKERS)
    runs = None
    if plain and not _NOT_PLAIN.search(text):
        parts, runs = _words(text)
    else:
        parts = _SPLIT_WHOLE.split(text)  # non-word, word, non-word, …, word, non-word
    words = len(parts) // 2
    if not words:
        return text, runs, parts is runs
    # non-word, START, word, END, non-word, …: the pieces laid out by slices, joined once
    pieces = [START] * (4 * words + 1)
    pieces[0::4] = parts[0::2]
    pieces[2::4] = parts[1::2]
    pieces[3::4] = [END] * words
    return "".join(pieces), runs, parts is runs


_APOSTROPHE = ord("'")
_S = ord("s")
_BMP = 0x10000


@functools.cache
def _char_kinds() -> npt.NDArray[np.uint8]:
    """Per code point below 0x10000: ``_WORD`` for a word character (``\\w``, which the
    underscore is too but the plain texts hold none), ``_ODD`` for one that makes a text not
    plain (``_NOT_PLAIN``: an underscore, a combining mark; or half of a surrogate pair, that
    is a character past 0xFFFF), 0 for the others."""
    kinds = np.array([chr(c).isalnum() for c in range(_BMP)], dtype=np.uint8)
    kinds[[ord("_"), *range(0x300, 0x370), *range(0x483, 0x48A)]] = _ODD
    kinds[0xD800:0xE000] = _ODD
    return kinds


_WORD = 1
_ODD = 2

Words = tuple["npt.NDArray[np.intp]", list[int]]
"""Where each run of ``\\w`` of a text starts, and per apostrophe joining two runs into one
marked word the index of that word among the marked words, in order."""
Marked = tuple[str, int, "npt.NDArray[np.intp]", list[int]]
"""``mark_words``: the marked text, the place in it of a position of the text, where each run of
``\\w`` starts, and per apostrophe joining two runs the index of its marked word."""


def mark_words(text: str, split: int) -> Marked | None:
    """``mark(text)`` worked out over arrays of code points (three times as fast as splitting
    the text on a regex), with what ``Scan`` counts words by: see ``Marked`` (``split``: the
    position placed). None for a text that is not plain (``_NOT_PLAIN``) or holds a character
    past 0xFFFF: ``mark_runs`` then marks it."""
    if START in text or END in text:
        text = text.translate(_NO_MARKERS)
    kinds_of = _char_kinds()
    codes: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]
    if text.isascii():
        if "_" in text:
            return None
        encoding = "ascii"
        codes = np.frombuffer(text.encode(encoding), dtype=np.uint8)
        kinds = kinds_of[codes]
    else:
        # a lone surrogate is kept as it is, and found odd as a pair's halves are
        encoding = "utf-16-le"
        codes = np.frombuffer(text.encode(encoding, "surrogatepass"), dtype=np.uint16)
        kinds = kinds_of[codes]
        if (kinds == _ODD).any():
            return None
    size = len(codes)
    edges = np.zeros(size + 2, dtype=np.int8)
    edges[1:-1] = kinds
    steps = edges[1:] - edges[:-1]
    starts = (steps == 1).nonzero()[0]  # where each run of \\w starts
    ends = (steps == -1).nonzero()[0]
    joins: npt.NDArray[np.intp] = starts[:0]
    if "'" in text and len(starts) > 1:
        # a lone apostrophe between two runs joins them, unless the second is a possessive s
        after = ends[:-1]
        lone = (starts[1:] - after == 1) & (codes[after] == _APOSTROPHE)
        joins = lone.nonzero()[0]
        if len(joins):
            nxt = joins + 1
            possessive = (ends[nxt] - starts[nxt] == 1) & (codes[starts[nxt]] == _S)
            joins = joins[~possessive]
    if len(joins):
        keep = np.ones(len(starts), dtype=np.bool_)
        keep[joins + 1] = False
        word_starts = starts[keep]
        keep[joins + 1] = True
        keep[joins] = False
        word_ends = ends[keep]
    else:
        word_starts, word_ends = starts, ends
    words = len(word_starts)
    if not words:
        return text, split, starts, []
    # each character moves right by two markers per word before it, START by those before
    # it and its own
    at_start = word_starts + np.arange(0, 2 * words, 2)
    at_end = word_ends + at_start
    at_end -= word_starts
    at_end += 1
    out = np.empty(size + 2 * words, dtype=codes.dtype)
    plain = np.ones(len(out), dtype=np.bool_)
    plain[at_start] = False
    plain[at_end] = False
    out[plain] = codes
    out[at_start] = ord(START)
    out[at_end] = ord(END)
    marked = out.tobytes().decode(encoding, "surrogatepass")
    before = int(word_starts.searchsorted(split))
    joined = (joins - np.arange(len(joins))).tolist()
    return marked, split + 2 * before, starts, joined


def _words(text: str) -> tuple[list[str], list[str]]:
    """``_PLAIN_WORD``'s split of ``text`` (non-word, word, …, word, non-word), from its split
    into runs of ``\\w`` (a far simpler pattern; returned too): a lone apostrophe between two
    runs joins them into one word unless the second run is a possessive ``s``."""
    runs = _WORD_SPLIT.split(text)
    if "'" not in text:
        return runs, runs
    joins = _joins(runs)
    if not joins:
        return runs, runs
    parts = list(runs)
    for at in reversed(joins):  # from the end, so that the indexes before stay put
        parts[at - 1 : at + 2] = ["".join(parts[at - 1 : at + 2])]
    return parts, runs


def _joins(runs: list[str]) -> list[int]:
    """Indexes, in a split into runs of ``\\w`` (non-word, run, …, run, non-word), of the
    lone apostrophes that join the runs either side into one word (``_words``), in order."""
    joins = []
    at = 2  # separators between two words are at the even indexes 2 … len - 3
    last = len(runs) - 3
    while at <= last:
        try:
            at = runs.index("'", at, last + 1)
        except ValueError:
            break
        if at % 2 == 0 and runs[at + 1] != "s":
            joins.append(at)
        at += 1
    return joins


def _joined_words(runs: list[str], first: int) -> list[int]:
    """Per apostrophe that joins two runs of ``runs`` into one word, the index of that word
    among the words marked (the first numbered ``first``), in order."""
    return [first + (at - 1) // 2 - n for n, at in enumerate(_joins(runs))]


def marked_forms(pattern: str) -> tuple[str | None, str | None, bool]:
    """What the automaton searches for a pattern: (its whole-word form, its word-start form,
    whether a word-start hit must be checked on the unmarked text instead).

    A form is None when the pattern can never be found that way (a whole word must start and
    end with a word character, a word start must start with one). Where a word ends depends on
    the two characters after an apostrophe (``Zelensky's`` is a possessive, ``o'sullivan`` one
    word), so a word start cut right after an apostrophe or an ``'s`` cannot be marked on its
    own; nor can a pattern holding a marker character.
    """
    if START in pattern or END in pattern:
        return None, None, True
    marked = mark(pattern, plain=False)
    if not marked.startswith(START):
        return None, None, False
    whole = marked if marked.endswith(END) else None
    if pattern.endswith(("'", "'s")):
        return whole, None, True
    return whole, marked.removesuffix(END), False


Raw = tuple[int, int, int]
"""(automaton pattern index, start, end) of one hit in the marked text's UTF-8."""
Extra = tuple[int, int, int, bool]
"""(pattern index, start, end, whole word) of a hit checked on the unmarked text."""


class Scan:
    """What one scan of one article found.

    Which automaton patterns were found (``found``) is known at once; which patterns that
    makes (``word_set``: as whole words; ``prefix_set``: at a word start, for the patterns
    searched that way) when first asked, and where (``word_spans``, ``prefix_spans``, in the
    unmarked text) too."""

    __slots__ = (
        "_hits",
        "_joined",
        "_marked",
        "_prefix_set",
        "_starts",
        "_word_set",
        "_word_starts",
        "body_start",
        "extra",
        "found",
        "layout",
        "text",
        "title_len",
    )

    def __init__(
        self,
        text: str,
        title_len: int,
        body_start: int,
        marked: str,
        title_end: int,
        hits: list[Raw],
        layout: Layout,
        extra: Sequence[Extra] = (),
        words: Words | None = None,
    ) -> None:
        """``title_end``: where the marked title ends, in the offsets of ``hits``; ``words``:
        where the runs of ``\\w`` start and which marked words apostrophes joined, if known
        (``Words``)."""
        self.text = text
        self.title_len = title_len
        self.body_start = body_start
        self._marked = marked
        # only the title's hits are read again (they come first, in the order hits end): the
        # others are let go now rather than with the scan, which spares the cyclic collector
        # hundreds of live tuples an article
        in_title = 0
        for _, _, end in hits:
            if end > title_end:
                break
            in_title += 1
        self._hits = hits[:in_title]
        self.layout = layout
        self.extra = extra
        """Hits of the patterns the markers cannot express, found on the unmarked text."""
        # an array of the hits' patterns, made unique, costs a third of a set of them
        self.found: npt.NDArray[np.intp] = unique(
            np.fromiter(map(_FIRST, hits), np.intp, len(hits))
        )
        """Automaton patterns found (``Layout``), sorted."""
        self._word_set: set[int] | None = None
        self._prefix_set: set[int] | None = None
        self._word_starts: list[int] | None = None
        self._starts: npt.NDArray[np.intp] | None = None
        self._joined: list[int] | None = None
        if words is not None:
            self._starts, self._joined = words

    @property
    def word_set(self) -> set[int]:
        """Patterns found as whole words."""
        if self._word_set is None:
            self._sets()
        assert self._word_set is not None
        return self._word_set

    @property
    def prefix_set(self) -> set[int]:
        """Patterns found at the start of a word (those searched that way: ``prefix*``)."""
        if self._prefix_set is None:
            self._sets()
        assert self._prefix_set is not None
        return self._prefix_set

    def _sets(self) -> None:
        found = self.found
        layout = self.layout
        # automaton patterns past the whole-word forms are word-start forms
        cut = int(found.searchsorted(layout.whole_count))
        words: set[int] = set(found[:cut].tolist())
        prefixes: set[int] = set()
        if cut < len(found):
            prefixes = set(map(layout.pattern_of.__getitem__, found[cut:].tolist()))
        for pattern, _, _, whole in self.extra:
            (words if whole else prefixes).add(pattern)
        self._word_set, self._prefix_set = words, prefixes

    def title_ids(self) -> list[int]:
        """Automaton patterns found in the title (``Layout``)."""
        return [index for index, _, _ in self._hits]

    def title_sets(self) -> tuple[set[int], set[int]]:
        """Patterns found in the title: as whole words, and at the start of a word."""
        count, prefix_of = self.layout.whole_count, self.layout.prefix_of
        words: set[int] = set()
        prefixes: set[int] = set()
        for index, _, _ in self._hits:
            if index < count:
                words.add(index)
            else:
                prefixes.add(prefix_of[index - count])
        for pattern, _, end, whole in self.extra:
            if end <= self.title_len:
                (words if whole else prefixes).add(pattern)
        return words, prefixes

    def word_spans(self, pattern: int) -> list[Span]:
        """Where ``pattern`` was found as a whole word, in text order."""
        return self._spans(pattern, True)

    def prefix_spans(self, pattern: int) -> list[Span]:
        """Where ``pattern`` was found at the start of a word, in text order."""
        return self._spans(pattern, False)

    def _spans(self, pattern: int, whole: bool) -> list[Span]:
        out: list[Span] = []
        form = self.layout.form(pattern, whole)
        if form is not None and pattern in (self.word_set if whole else self.prefix_set):
            # the automaton's hits of this pattern are the places of its marked form: found
            # again here rather than grouping every hit of the article by pattern
            length = self.layout.lengths[pattern]
            out = [(plain, plain + length) for _, plain in self._form_places(form)]
        if self.extra:
            out += [(s, e) for p, s, e, w in self.extra if p == pattern and w == whole]
            out.sort()
        return out

    def counts_words(self) -> bool:
        """Whether ``places`` can tell the words of a hit (the text was split into runs of
        ``\\w`` when marked, and no hit was checked on the unmarked text)."""
        return self._starts is not None and not self.extra

    def places(self, pattern: int, whole: bool) -> list[tuple[bool, int, int, Span]]:
        """Where ``pattern`` was found (as a whole word, or at the start of one), each hit as
        (in the body, index of its first word, of its last word, span), words counted from 1
        as ``word_index`` + 1 counts them; only when ``counts_words``.

        The words are counted while the hits are found: a marked word is one run of ``\\w``,
        or several that apostrophes join (``_joins``), each of which counts."""
        out: list[tuple[bool, int, int, Span]] = []
        form = self.layout.form(pattern, whole)
        if form is None or pattern not in (self.word_set if whole else self.prefix_set):
            return out
        length, body = self.layout.lengths[pattern], self.body_start
        spanned = form.count(START) - 1  # marked words after the first that a hit reaches into
        tail = form.rsplit(START, 1)[1].count("'")  # runs joined in the part of the last one
        joined = self._joins_by_word()
        for words, plain in self._form_places(form):
            first, end = words + 1, words + 1 + spanned + tail
            if joined:  # the runs joined in the marked words before
                first += bisect.bisect_left(joined, words)
                end += bisect.bisect_left(joined, words + spanned)
            out.append((plain >= body, first, end, (plain, plain + length)))
        return out

    def _form_places(self, form: str) -> Iterator[tuple[int, int]]:
        """Each place of a marked ``form`` in the marked text, as (marked words before it, its
        start in the plain text): each word before it put two markers before it."""
        marked = self._marked
        words = last = 0
        at = marked.find(form)
        while at >= 0:
            words += marked.count(START, last, at)
            last = at
            yield words, at - 2 * words
            at = marked.find(form, at + 1)

    def _joins_by_word(self) -> list[int]:
        """Per apostrophe joining two runs into one marked word, the index of that word among
        all marked words, in order (empty when the words are not known)."""
        return self._joined or []

    def word_starts(self) -> list[int]:
        """Where each word (a run of ``\\w``) starts, in text order."""
        if self._word_starts is None:
            if self._starts is not None:  # found when marking
                self._word_starts = self._starts.tolist()
            else:
                self._word_starts = _starts(_WORD_SPLIT.split(self.text))
        return self._word_starts

    def word_index(self, pos: int) -> int:
        """The index of the word (a run of ``\\w``) at text position ``pos``."""
        return bisect.bisect_right(self.word_starts(), pos) - 1

    def place(self, pos: int) -> tuple[str, int]:
        """The field (``title`` or ``body``) of text position ``pos`` and the 1-based number,
        within that field, of the word there."""
        index = self.word_index(pos)
        if pos < self.body_start:
            return "title", index + 1
        return "body", index - bisect.bisect_left(self.word_starts(), self.body_start) + 1


def _starts(runs: list[str]) -> list[int]:
    """Where each run of a split into (non-word, run, …, run, non-word) starts."""
    return list(accumulate(map(len, runs)))[0:-1:2]


def words_of_runs(title: list[str], body: list[str], body_start: int) -> Words:
    """``Words`` of a title and a body split into runs of ``\\w`` (``mark_runs``), the body
    at ``body_start`` of the text."""
    in_title = _joined_words(title, 0)
    joined = in_title + _joined_words(body, len(title) // 2 - len(in_title))
    starts = _starts(title) + [body_start + at for at in _starts(body)]
    return np.array(starts, dtype=np.intp), joined


class Layout:
    """How the automaton's patterns map to the pattern table: pattern ``i`` in its whole-word
    form is automaton pattern ``i``; word-start forms follow (``prefix_of``)."""

    __slots__ = (
        "forms",
        "lengths",
        "pattern_of",
        "prefix_forms",
        "prefix_ids",
        "prefix_of",
        "whole_count",
    )

    def __init__(
        self, forms: list[str], prefix_of: list[int], prefix_forms: list[str], lengths: list[int]
    ) -> None:
        self.forms = forms
        self.whole_count = len(forms)
        self.prefix_of = prefix_of
        self.prefix_forms = dict(zip(prefix_of, prefix_forms, strict=True))
        self.prefix_ids = frozenset(range(len(forms), len(forms) + len(prefix_of)))
        """Automaton pattern indexes of the word-start forms."""
        self.pattern_of = list(range(len(forms))) + prefix_of
        """The pattern index of each automaton pattern."""
        self.lengths = lengths

    def form(self, pattern: int, whole: bool) -> str | None:
        """The marked form the automaton searches for ``pattern`` (None if not searched)."""
        if whole:
            found = self.forms[pattern]
            return None if found == NEVER else found
        return self.prefix_forms.get(pattern)
