"""Word marking: a normalised text with every word wrapped in two markers, and where its words are.

``START`` goes before each word and ``END`` after it, for the automaton of
:mod:`peacewatch.rules.scanner` to read; patterns are marked the same way (``marked_forms``),
so that the automaton keeps to word boundaries by itself."""

from __future__ import annotations

import functools
import re
from itertools import accumulate

import numpy as np
import numpy.typing as npt

WORD_SPLIT = re.compile(r"(\w+)")

# A word as readers see it: letters, digits and combining marks, with inner apostrophes
# (o'brien, перемир'я) but not the English possessive, which ends the word (Zelensky's).
_W = r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489])"
WHOLE_WORD = re.compile(rf"{_W}+(?:'(?!s(?!{_W})){_W}+)*")
# The same words where the text has no underscore and none of those marks (nearly always): one
# character class instead of an alternation per character, four times faster.
_PLAIN_WORD = re.compile(r"\w+(?:'(?!s(?!\w))\w+)*")
_NOT_PLAIN = re.compile(r"[_\u0300-\u036f\u0483-\u0489]")
_SPLIT_WHOLE = re.compile(f"({WHOLE_WORD.pattern})")

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
    runs = WORD_SPLIT.split(text)
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


def run_starts(runs: list[str]) -> list[int]:
    """Where each run of a split into (non-word, run, …, run, non-word) starts."""
    return list(accumulate(map(len, runs)))[0:-1:2]


def words_of_runs(title: list[str], body: list[str], body_start: int) -> Words:
    """``Words`` of a title and a body split into runs of ``\\w`` (``mark_runs``), the body
    at ``body_start`` of the text."""
    in_title = _joined_words(title, 0)
    joined = in_title + _joined_words(body, len(title) // 2 - len(in_title))
    starts = run_starts(title) + [body_start + at for at in run_starts(body)]
    return np.array(starts, dtype=np.intp), joined
