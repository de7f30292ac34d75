"""A feed without the declarations of its DOCTYPE: no entity a feed declares is ever expanded.

feedparser keeps each entity that a feed declares with a plain-text value, and its lenient
parser, which it falls back on whenever expat refuses a document, expands every reference to one
with no limit: 16 KB declaring a 10 KB entity and naming it 2,000 times read as 20 million
characters, and the body cap lets a feed ask for far more. expat itself expands what it reads up
to 100 times the input. Feeds have no use for declarations of their own (the named entities of
HTML that old RSS borrowed are known to the lenient parser anyway), so the DOCTYPE's internal
subset is taken out before either parser runs, and so is any entity declared outside it where
feedparser looks for them (before the first element). A reference to an entity no longer
declared is read as any unknown one.
"""

from __future__ import annotations

import codecs
import re

from peacewatch.errors import ParseError

__all__ = ["without_declarations"]

_WIDE = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it begins with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
"""How a document in an encoding that is not ASCII-based begins, and that encoding."""
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?\?>", re.IGNORECASE)
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
"""What may come before a DOCTYPE: white space, the XML declaration, other processing
instructions and comments."""
_DOCTYPE_HEAD = re.compile(rb"<!DOCTYPE(?:[^>\[\"']|\"[^\"]*\"|'[^']*')*")
"""A DOCTYPE up to its internal subset or its end: the root's name and an external id."""
_SPACE = re.compile(rb"\s*")
_SUBSET_STEP = re.compile(
    rb"<!--.*?-->|<\?.*?\?>|<!(?:[^>\"']|\"[^\"]*\"|'[^']*')*>|%[^;\s]*;", re.DOTALL
)
"""One part of an internal subset: a comment, a processing instruction, a declaration (quoted
values may hold ``>``) or a parameter-entity reference."""
_ENTITY = re.compile(rb"<!ENTITY[^>]*>", re.IGNORECASE)
"""An entity declaration as feedparser finds one (``sanitizer.RE_ENTITY_PATTERN``, at any place
of a line and in any case)."""
_FIRST_ELEMENT = re.compile(rb"<\w")
"""Where feedparser ends the part of a document it takes entity declarations from."""


def without_declarations(data: bytes) -> bytes:
    """``data`` without its DOCTYPE's internal subset, and with every entity declaration before
    its first element made a space (see the module's docstring). A document in UTF-16 or UTF-32
    comes back as UTF-8, its XML declaration saying so. Raises ParseError for an internal subset
    that cannot be read to its end."""
    data = _ascii_based(data)
    if b"<!" not in data:
        return data
    return _without_head_entities(_without_subset(data))


def _ascii_based(data: bytes) -> bytes:
    """``data`` as UTF-8 when it is in UTF-16 or UTF-32 (whose markup bytes differ), else as
    it is."""
    for start, codec in _WIDE:
        if data.startswith(start):
            text = data.decode(codec, "replace").encode("utf-8")
            return _XML_DECL.sub(b'<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    return data


def _past(pattern: re.Pattern[bytes], data: bytes, at: int) -> int:
    """Where a match of ``pattern`` at ``at`` ends (``at`` when there is none)."""
    found = pattern.match(data, at)
    return found.end() if found is not None else at


def _without_subset(data: bytes) -> bytes:
    at = _past(_PROLOG, data, 0)
    if not data.startswith(b"<!DOCTYPE", at):
        return data
    open_at = _past(_DOCTYPE_HEAD, data, at)
    if open_at >= len(data):
        raise ParseError("not a feed: its DOCTYPE never ends")
    if data[open_at] != ord("["):
        return data  # no internal subset (or a head expat refuses before any declaration)
    i = open_at + 1
    while True:
        i = _past(_SPACE, data, i)
        if data.startswith(b"]", i):
            return data[:open_at] + data[i + 1 :]
        step = _SUBSET_STEP.match(data, i)
        if step is None:
            raise ParseError(
                f"not a feed: the declarations of its DOCTYPE cannot be read (byte {i:,})"
            )
        i = step.end()


def _without_head_entities(data: bytes) -> bytes:
    first = _FIRST_ELEMENT.search(data)
    end = first.start() if first is not None else len(data)
    head = data[:end]
    if _ENTITY.search(head) is None:
        return data
    return _ENTITY.sub(b" ", head) + data[end:]
