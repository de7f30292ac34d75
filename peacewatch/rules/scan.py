"""One scan of one article: the automaton's hits at word starts, and where each one lies.

The automaton reads the normalised text with every word wrapped in two markers (``marked``):
``START`` before it and ``END`` after it, where words are ``WHOLE_WORD``
(:mod:`peacewatch.rules.marking`). A pattern is marked
the same way, so ``START ukraine END`` is found only as a whole word and ``START ukrain`` only
at the start of a word: the automaton itself keeps to word boundaries, and hits inside words
(``war`` in ``toward``) are never reported at all. A hit is placed back in the unmarked text
only when a caller asks where a term was found.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from peacewatch.rules.marking import NEVER, START, WORD_SPLIT, Words, run_starts
from peacewatch.rules.packed import unique

Span = tuple[int, int]
_FIRST = itemgetter(0)


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
        or several that apostrophes join (``marking``), each of which counts."""
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
                self._word_starts = run_starts(WORD_SPLIT.split(self.text))
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
