"""One scan of one article: the normalised text, the automaton's hits that start a word, and
where words start and end (the matcher's word boundaries)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")
Span = tuple[int, int]

# A word as readers see it: letters, digits and combining marks, with inner apostrophes
# (o'brien, перемир'я) but not the English possessive, which ends the word (Zelensky's).
_W = r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489])"
WHOLE_WORD = re.compile(rf"{_W}+(?:'(?!s(?!{_W})){_W}+)*")
# The same words where the text has no underscore and none of those marks (nearly always): one
# character class instead of an alternation per character, four times faster.
_PLAIN_WORD = re.compile(r"\w+(?:'(?!s(?!\w))\w+)*")
_NOT_PLAIN = re.compile(r"[_\u0300-\u036f\u0483-\u0489]")


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


Raw = tuple[int, int, int]
"""(pattern index, start, end) of one hit of the automaton."""


class Scan:
    """What one scan of one article found: the normalised text and boundary-checked hits.

    Which patterns were found (``word_set``, ``prefix_set``) is known at once; where
    (``word_hits``, ``prefix_hits``) is worked out when first asked, for articles that match."""

    __slots__ = (
        "_ends",
        "_hits",
        "_prefix_hits",
        "_word_hits",
        "_word_starts",
        "body_start",
        "prefix_set",
        "text",
        "title_len",
        "word_set",
    )

    def __init__(
        self, text: str, title_len: int, body_start: int, hits: list[Raw], ends: set[int]
    ) -> None:
        """``hits``: the automaton's hits that start a word; ``ends``: where words end."""
        self.text = text
        self.title_len = title_len
        self.body_start = body_start
        self._hits = hits
        self._ends = ends
        self.prefix_set: set[int] = {hit[0] for hit in hits}
        """Patterns found at the start of a word."""
        self.word_set: set[int] = {hit[0] for hit in hits if hit[2] in ends}
        """Patterns found as whole words."""
        self._word_hits: dict[int, list[Span]] | None = None
        self._prefix_hits: dict[int, list[Span]] | None = None
        self._word_starts: list[int] | None = None

    @classmethod
    def of(cls, text: str, title_len: int, body_start: int, raw: Iterable[Raw]) -> Scan:
        """Keep the raw hits of an automaton over ``text`` that start a word."""
        starts, ends = word_bounds(text)
        return cls(text, title_len, body_start, [h for h in raw if h[1] in starts], ends)

    def title_sets(self) -> tuple[set[int], set[int]]:
        """Patterns found in the title: as whole words, and at the start of a word."""
        title_len, ends = self.title_len, self._ends
        in_title = [hit for hit in self._hits if hit[2] <= title_len]
        return {p for p, _, end in in_title if end in ends}, {hit[0] for hit in in_title}

    def _group(self) -> None:
        words: dict[int, list[Span]] = {}
        prefixes: dict[int, list[Span]] = {}
        ends = self._ends
        for pattern, start, end in self._hits:
            span = (start, end)
            found = prefixes.get(pattern)
            if found is None:
                prefixes[pattern] = [span]
            else:
                found.append(span)
            if end in ends:
                found = words.get(pattern)
                if found is None:
                    words[pattern] = [span]
                else:
                    found.append(span)
        self._word_hits, self._prefix_hits = words, prefixes

    @property
    def word_hits(self) -> dict[int, list[Span]]:
        """Per pattern found as a whole word, its spans in text order."""
        if self._word_hits is None:
            self._group()
        assert self._word_hits is not None
        return self._word_hits

    @property
    def prefix_hits(self) -> dict[int, list[Span]]:
        """Per pattern found at the start of a word, its spans in text order."""
        if self._prefix_hits is None:
            self._group()
        assert self._prefix_hits is not None
        return self._prefix_hits

    def word_index(self, pos: int) -> int:
        if self._word_starts is None:
            self._word_starts = [m.start() for m in _WORD.finditer(self.text)]
        return bisect.bisect_right(self._word_starts, pos) - 1

    def place(self, pos: int) -> tuple[str, int]:
        """The field (``title`` or ``body``) of text position ``pos`` and the 1-based number,
        within that field, of the word there."""
        index = self.word_index(pos)
        if pos < self.body_start:
            return "title", index + 1
        assert self._word_starts is not None  # filled by word_index
        return "body", index - bisect.bisect_left(self._word_starts, self.body_start) + 1
