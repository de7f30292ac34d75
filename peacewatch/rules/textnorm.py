"""Text as the matcher sees it: NFKC, case-folded, one kind of quote, hyphens as spaces.

``normalise`` keeps a map from every normalised character back to the original text, so hits
are reported at their place in what the reader sees.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import chain, repeat

_APOSTROPHES = "’‘ʼ`´′ʹ＇"
_QUOTES = "“”„‟«»″〝〞＂"
_DASHES = "-‐‑‒–—―−﹘﹣－"
_SPACES = (
    "\t\n\r\x0b\x0c\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_TABLE = str.maketrans(
    {
        **{c: "'" for c in _APOSTROPHES},
        **{c: '"' for c in _QUOTES},
        **{c: " " for c in _DASHES},
        **{c: " " for c in _SPACES},
        "ё": "е",  # Russian texts write е for ё more often than not
        "Ё": "Е",
        "…": ".",  # NFKC makes it three characters; one keeps offsets in place
        "\u00ad": " ",  # soft hyphen
        "\ufeff": " ",
    }
)


_ASCII_PAIRS = tuple((chr(k), str(v)) for k, v in _TABLE.items() if k < 128)
"""The table's ASCII characters and what they become (a few, and common: hyphens, newlines)."""
_OTHER_PAIRS = tuple(sorted((chr(k), str(v)) for k, v in _TABLE.items() if k >= 128))
"""The table's other characters and what they become."""


def translate(text: str) -> str:
    """``text.translate(_TABLE)``: every character of the table becomes one character that the
    table keeps, so it is worked out by replacing the few of them a text holds, each looked
    for on its own (``str.translate`` looks every character up in the table, about three times
    as long on the news; a regex of the table's characters tried at every character, twice as
    long; and a text of Latin-1 characters alone is known not to hold those past U+00FF
    without looking)."""
    for c, into in _ASCII_PAIRS:
        if c in text:
            text = text.replace(c, into)
    if text.isascii():
        return text
    for c, into in _OTHER_PAIRS:
        if c in text:
            text = text.replace(c, into)
    return text


@dataclass(frozen=True, slots=True)
class NormText:
    """Normalised text plus, for each of its characters, the index of the original character."""

    text: str
    offsets: tuple[int, ...] | None
    """None when the normalisation kept every character in place (the common case)."""

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if self.offsets is None:
            return start, end
        return self.offsets[start], self.offsets[end - 1] + 1 if end > start else self.offsets[
            start
        ]


def _char(c: str) -> str:
    return unicodedata.normalize("NFKC", c).casefold().translate(_TABLE)


_PIECES: dict[str, str] = {}
"""``_char`` of every character met so far (a few thousand in practice; emptied past
``_MAX_PIECES``)."""
_MAX_PIECES = 65_536


def normalise(text: str) -> NormText:
    """Normalise ``text`` for matching. Never raises."""
    mapped = translate(text)  # one character for one: offsets stay in place
    folded = mapped.casefold()
    if len(folded) == len(text) and (mapped.isascii() or unicodedata.is_normalized("NFKC", mapped)):
        # the table is not applied again: the one character whose folding brings back a
        # character of the table (U+0149, folded to two) has made ``folded`` longer
        return NormText(folded, None)
    # character by character, each distinct character worked out once
    pieces = _PIECES
    new = set(text).difference(pieces)
    if len(pieces) + len(new) > _MAX_PIECES:
        pieces.clear()
        new = set(text)
    for c in new:
        pieces[c] = _char(c)
    parts = list(map(pieces.__getitem__, text))
    offsets = list(chain.from_iterable(map(repeat, range(len(text)), map(len, parts))))
    offsets.append(len(text))
    return NormText("".join(parts), tuple(offsets))


def normalise_pattern(text: str) -> str:
    """A query term or entity name in the form the matcher searches for (spaces collapsed).
    A full stop that ends it is dropped: words end before it (``U.S.`` is the word ``u.s``
    followed by a stop), so ``U.S.`` finds "the U.S. envoy" as ``U.S`` does."""
    return " ".join(normalise(text).text.split()).rstrip(".")
