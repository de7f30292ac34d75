"""A feed without entity declarations: no entity a feed declares can grow it.

feedparser keeps each entity that a feed declares with a plain-text value, and its lenient
parser, which it falls back on whenever expat refuses a document, expands every reference to one
with no limit: 16 KB declaring a 10 KB entity and naming it 2,000 times read as 20 million
characters, and the body cap lets a feed ask for far more. expat itself expands what it reads up
to 100 times the input. So, on the UTF-8 bytes that feedparser reads (after its own conversion,
``feedparser.encodings.convert_to_utf8``: a feed in UTF-7, UTF-16 or EBCDIC declares its
entities in other bytes before), the DOCTYPE's internal subset is taken out, and so is every
entity declaration before the first element, where feedparser collects them. An entity that
stands for one character reference (``<!ENTITY nbsp "&#160;">``, as old RSS feeds declare) is
written in its place as that reference, which cannot grow anything and reads the same to both
parsers; a reference to any other entity is read as an unknown one.

Every pattern here reads each byte a bounded number of times: an unterminated comment or
declaration is taken to the end of the document once, never searched again from each place.
"""

from __future__ import annotations

import re

from peacewatch.errors import ParseError

__all__ = ["without_declarations"]

_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
"""What may come before a DOCTYPE: white space, the XML declaration, other processing
instructions and comments."""
_DOCTYPE_HEAD = re.compile(rb"<!DOCTYPE(?:[^>\[\"']|\"[^\"]*\"|'[^']*')*")
"""A DOCTYPE up to its internal subset or its end: the root's name and an external id."""
_SPACE = re.compile(rb"\s*")
_SUBSET_STEP = re.compile(
    rb"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|<!(?:[^>\"']|\"[^\"]*\"|'[^']*')*>|%[^;\s]*;",
    re.DOTALL,
)
"""One part of an internal subset: a comment, a processing instruction, a declaration (quoted
values may hold ``>``) or a parameter-entity reference."""
_ONE_CHARACTER = re.compile(
    rb"<!ENTITY\s+([^\s%>\"']+)\s+([\"'])(&#(?:[0-9]{1,7}|x[0-9a-fA-F]{1,6});)\2\s*>"
)
"""The declaration of an entity that stands for one character reference."""
_ENTITY = re.compile(rb"<!ENTITY[^>]*(?:>|\Z)", re.IGNORECASE)
"""An entity declaration as feedparser finds one (``sanitizer.RE_ENTITY_PATTERN``, at any place
of a line and in any case; one left open runs to the end)."""
_FIRST_ELEMENT = re.compile(rb"<\w")
"""Where feedparser ends the part of a document it takes entity declarations from."""
_REFERENCE = re.compile(rb"&([A-Za-z_:][\w.:-]{0,63});")
"""A reference to a named entity (ASCII names)."""


def without_declarations(data: bytes) -> bytes:
    """``data`` (UTF-8, as feedparser converts it) without its DOCTYPE's internal subset and
    with every entity declaration before its first element made a space; references to the
    entities of one character reference replaced by it (see the module's docstring). Raises
    ParseError for an internal subset that cannot be read to its end."""
    if b"<!" not in data:
        return data
    chars: dict[bytes, bytes] = {}
    data = _without_head_entities(_without_subset(data, chars), chars)
    if not chars:
        return data
    return _REFERENCE.sub(lambda found: chars.get(found.group(1), found.group()), data)


def _past(pattern: re.Pattern[bytes], data: bytes, at: int) -> int:
    """Where a match of ``pattern`` at ``at`` ends (``at`` when there is none)."""
    found = pattern.match(data, at)
    return found.end() if found is not None else at


def _note(declaration: bytes, chars: dict[bytes, bytes]) -> None:
    """Keep the character reference an entity of one character stands for (the first
    declaration of a name holds, as in XML)."""
    found = _ONE_CHARACTER.fullmatch(declaration)
    if found is not None:
        chars.setdefault(found.group(1), found.group(3))


def _without_subset(data: bytes, chars: dict[bytes, bytes]) -> bytes:
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
        _note(step.group(), chars)
        i = step.end()


def _without_head_entities(data: bytes, chars: dict[bytes, bytes]) -> bytes:
    first = _FIRST_ELEMENT.search(data)
    end = first.start() if first is not None else len(data)
    head = data[:end]
    if _ENTITY.search(head) is None:
        return data

    def spaced(found: re.Match[bytes]) -> bytes:
        _note(found.group(), chars)
        return b" "

    return _ENTITY.sub(spaced, head) + data[end:]
