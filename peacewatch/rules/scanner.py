"""The automaton of a pattern table, and the scan of one article with it (``Scan``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import ahocorasick_rs

from peacewatch.rules.marking import (
    NEVER,
    Words,
    mark_runs,
    mark_words,
    marked_forms,
    word_bounds,
    words_of_runs,
)
from peacewatch.rules.scan import Extra, Layout, Raw, Scan

FIELD_SEPARATOR = " \x00 "
"""Between title and body: no word and no pattern spans it."""


class Scanner:
    """One Aho-Corasick automaton over marked text (see ``marking``) for a table of patterns:
    every pattern as a whole word, and those of ``prefixes`` also at the start of a word."""

    def __init__(
        self,
        strings: Sequence[str],
        prefixes: Collection[int] = (),
        only: Collection[int] | None = None,
    ) -> None:
        """``only``: the patterns searched at all (every one when None)."""
        self._strings = list(strings)
        forms: list[str] = []
        prefix_of: list[int] = []
        prefix_forms: list[str] = []
        # patterns the markers cannot express: (index, string, whole word, word start)
        self._checked: list[tuple[int, str, bool, bool]] = []
        for index, string in enumerate(self._strings):
            if only is not None and index not in only:
                forms.append(NEVER)
                continue
            whole, start, check = marked_forms(string)
            forms.append(whole or NEVER)
            wanted = index in prefixes
            if start is not None and wanted:
                prefix_of.append(index)
                prefix_forms.append(start)
            if check and (whole is None or wanted):
                self._checked.append((index, string, whole is None, wanted))
        self._layout = Layout(forms, prefix_of, prefix_forms, [len(s) for s in self._strings])
        self._automaton = self._build()

    def _build(self) -> ahocorasick_rs.BytesAhoCorasick | None:
        """The automaton of the layout's marked forms in UTF-8 (automaton pattern ``i`` is
        ``Layout``'s ``i``-th form). It reads the marked text's UTF-8: the automaton would
        make it anyway, and then place every hit back in characters, which nothing reads but
        the title's end (every form begins with a marker, so hits begin and end at
        characters)."""
        if not self._strings:
            return None
        patterns = self._layout.forms + list(self._layout.prefix_forms.values())
        return ahocorasick_rs.BytesAhoCorasick(
            [pattern.encode() for pattern in patterns],
            matchkind=ahocorasick_rs.MatchKind.Standard,
        )

    # Pickling (inside a compiled engine cached on disk): the automaton does not pickle; it is
    # built again from the marked forms kept, which is a small part of building them
    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_automaton"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._automaton = self._build()

    @property
    def layout(self) -> Layout:
        return self._layout

    def scan(self, title: str, body: str) -> Scan:
        """One pass of the automaton over a normalised title and body."""
        text = title + FIELD_SEPARATOR + body
        body_start = len(title) + len(FIELD_SEPARATOR)
        # the separator holds no word character: the text is marked in one piece
        found = mark_words(text, len(title))
        words: Words | None
        if found is not None:
            marked, marked_title_end, starts, joined = found
            words = starts, joined
        else:
            marked_title, title_runs, _ = mark_runs(title)
            marked_body, body_runs, _ = mark_runs(body)
            marked = marked_title + FIELD_SEPARATOR + marked_body
            marked_title_end = len(marked_title)
            words = None
            if title_runs is not None and body_runs is not None:
                words = words_of_runs(title_runs, body_runs, body_start)
        raw: list[Raw] = []
        title_bytes = marked_title_end
        if self._automaton is not None:
            raw = self._automaton.find_matches_as_indexes(marked.encode(), overlapping=True)
            if not marked.isascii():
                title_bytes = len(marked[:marked_title_end].encode())
        extra = self._check(text) if self._checked else ()
        return Scan(
            text, len(title), body_start, marked, title_bytes, raw, self._layout, extra, words
        )

    def _check(self, text: str) -> list[Extra]:
        """Hits of the patterns the markers cannot express, found and checked on ``text``."""
        out: list[Extra] = []
        bounds: tuple[set[int], set[int]] | None = None
        for index, string, whole, start in self._checked:
            at = text.find(string)
            while at >= 0:
                if bounds is None:
                    bounds = word_bounds(text)
                starts, ends = bounds
                end = at + len(string)
                if at in starts:
                    if whole and end in ends:
                        out.append((index, at, end, True))
                    if start:
                        out.append((index, at, end, False))
                at = text.find(string, at + 1)
        return out
