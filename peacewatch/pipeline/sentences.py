"""Sentence splitting for summaries: each line of a text split into sentences with their spans.

sentencex (Wikimedia's rule-based splitter, compiled) does the splitting, a line at a time, with
the abbreviation rules of the text's language. Four corrections are made to its pieces, each
where it parts from pysbd (which the summaries used before, at 40 times the cost) the wrong way
on news text:

- an opening quote left at the end of a sentence moves to the next one (``said. “We …``);
- a stop with no space after it does not end a sentence (``U.S.-U.K.``, ``INTERIA.PL``);
- a dotted initialism (``U.S.``) ends a sentence only before a word that often starts one
  (``The``, ``It``; pysbd's list), so a headline's ``Warns U.S. Will Impose`` stays whole;
- a capital letter and a stop (an initial: ``В. Зеленський``, ``Robert F. Kennedy``) ends none,
  as in pysbd.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sentencex

__all__ = ["Sentence", "language_code", "sentences"]

_QUOTES = "“„«‘‚‹\"'"
_OPENING_QUOTE = re.compile(rf"\s([{_QUOTES}]+)\s*$")
_INITIALISM = re.compile(r"(?<![^\W\d_])(?:[A-Z]\.){2,}\s*$")
_STARTERS = frozenset(
    ("A", "Being", "Did", "For", "He", "How", "However", "I", "In", "It", "Millions", "More"),
) | frozenset(("She", "That", "The", "There", "They", "We", "What", "When", "Where", "Who", "Why"))
_FIRST_WORD = re.compile(r"\s*(\w+)")
_LETTER = re.compile(r"(?<!\w)([^\W\d_])\.\s*$")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: int
    end: int


def language_code(lang: str | None) -> str:
    """The primary language subtag of ``lang`` in lower case (``en-US`` → ``en``), ``en`` if
    unknown."""
    code = re.split(r"[-_]", (lang or "").strip().lower(), maxsplit=1)[0]
    return code or "en"


def _ends_sentence(line: str, begin: int, end: int, last: int) -> bool:
    """Whether sentencex's boundary at ``end`` (inside ``line``) ends the sentence begun at
    ``begin``, whose last character other than white space is before ``last``."""
    if not line[end - 1].isspace():
        return False  # no space after the stop: inside a name or an address
    if last - begin < 2 or line[last - 1] != "." or not line[last - 2].isupper():
        return True  # neither an initialism nor an initial (the look costs less than a search)
    if _INITIALISM.search(line, begin, end) is not None:
        word = _FIRST_WORD.match(line, end)
        return word is None or word.group(1) in _STARTERS
    initial = _LETTER.search(line, begin, end)
    return initial is None or not initial.group(1).isupper()


_WIDE = (
    "\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Spaces sentencex miscounts (it panics on "B\u3000."): read as plain spaces, one for one, so
the offsets it gives are the line's own."""
_WIDE_SPACES = str.maketrans(dict.fromkeys(_WIDE, " "))


def _has_wide_space(text: str) -> bool:
    """Whether ``text`` holds one of the ``_WIDE`` spaces (none is ASCII): one search for each,
    each far cheaper than a regular expression trying a class at every character."""
    return not text.isascii() and any(space in text for space in _WIDE)


def _boundaries(line: str, code: str, wide: bool = True) -> list[dict[str, int]]:
    """sentencex's sentences of ``line``; the whole line as one when the splitter fails (it is
    native code: its panics are not ``Exception`` and would stop every article after this).
    ``wide``: the line may hold one of the spaces sentencex miscounts."""
    try:
        if wide:
            line = line.translate(_WIDE_SPACES)
        return list(sentencex.get_sentence_boundaries(code, line))
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # a pyo3 PanicException derives from BaseException
        return [{"start_index": 0, "end_index": len(line)}]


_STOPS = ".!?;:"
"""The ASCII characters at which sentencex may end a sentence, in any language (``;`` and
``:`` in Greek and Armenian only): an ASCII line holding none is one sentence."""


def _may_split(line: str) -> bool:
    """Whether sentencex might find more than one sentence in ``line``: a line of other
    scripts may hold their stops; an ASCII one only those of ``_STOPS`` (one search for
    each, far cheaper than the splitter's call)."""
    return (
        not line.isascii()
        or "." in line
        or "!" in line
        or "?" in line
        or ";" in line
        or ":" in line
    )


def _line_spans(line: str, code: str, wide: bool = True) -> list[tuple[int, int]]:
    """(start, end) of each sentence of one line, without the white space around it."""
    pieces = _boundaries(line, code, wide) if _may_split(line) else None
    if pieces is None or (len(pieces) == 1 and pieces[0]["end_index"] == len(line)):
        # one sentence, the most common line (a heading, a short paragraph)
        first, last = len(line) - len(line.lstrip()), len(line.rstrip())
        return [(first, last)] if last > first else []
    spans: list[tuple[int, int]] = []
    begin = 0  # where the sentence being built begins
    for piece in pieces:
        end: int = piece["end_index"]
        span = _stripped(line, begin, end)
        if end < len(line):
            last = span[1]
            quote = _OPENING_QUOTE.search(line, begin, end) if line[last - 1] in _QUOTES else None
            if quote is not None:  # the quote opens the next sentence
                end = quote.start(1)
                span = _stripped(line, begin, end)
            elif not _ends_sentence(line, begin, end, last):
                continue
        spans.append(span)
        begin = end
    if begin < len(line):
        spans.append(_stripped(line, begin, len(line)))
    return [(start, end) for start, end in spans if end > start]


def _stripped(line: str, start: int, end: int) -> tuple[int, int]:
    while end > start and line[end - 1].isspace():
        end -= 1
    while start < end and line[start].isspace():
        start += 1
    return start, end


@functools.lru_cache(maxsize=512)
def _split(text: str, code: str) -> tuple[Sentence, ...]:
    # The same article is split again for every alert of its story; the cache saves that work.
    out: list[Sentence] = []
    offset = 0
    wide = _has_wide_space(text)  # looked for once, not translated per line
    # A line break ends a sentence even without punctuation (a standfirst, a heading, a list
    # item): split alone, such a line would run into the next paragraph.
    for line in text.split("\n"):
        if line and not line.isspace():
            out += [
                Sentence(line[start:end], offset + start, offset + end)
                for start, end in _line_spans(line, code, wide)
            ]
        offset += len(line) + 1
    return tuple(out)


def sentences(text: str, lang: str | None = None) -> list[Sentence]:
    """Sentences of ``text`` with their character spans (``text[start:end] == text``), stripped
    of white space: each line split by sentencex with the rules of ``lang`` (English if not
    given)."""
    if not text.strip():
        return []
    return list(_split(text, language_code(lang)))
