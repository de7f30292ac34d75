"""The text encoding of feed bytes: as declared when the declaration holds, else detected.

Russian and Ukrainian feeds are often served in windows-1251 or KOI8-R with no charset in the
``Content-Type`` header and no ``encoding`` in the XML declaration, or with a wrong one. An
XML parser then assumes UTF-8, fails, and falls back to a Latin code page: every Cyrillic
word turns into mojibake, matches nothing, and the feed still looks healthy. Here the bytes
are checked against what is declared; when nothing is declared, or the declaration does not
decode the bytes, the encoding is detected (charset-normalizer) and the bytes are re-encoded
as UTF-8 with a declaration saying so.

Some text is garbled before it reaches us (a publisher that encoded UTF-8 twice) or in a way no
declaration check can see (a wrong charset that still decodes every byte). ``looks_garbled``
spots such mojibake in the decoded text, so a feed's health can say so instead of looking fine.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?\?>", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True, slots=True)
class Decoded:
    data: bytes
    """The bytes to parse: unchanged, or re-encoded as UTF-8 with a matching declaration."""
    detected: str | None
    """The encoding that was detected and converted from, None when the bytes were used as
    declared (or as UTF-8)."""


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _header_charset(content_type: str | None) -> str | None:
    found = _HEADER_CHARSET.search(content_type or "")
    return _codec(found.group(1)) if found else None


def _xml_encoding(data: bytes) -> str | None:
    decl = _XML_DECL.match(data[:512])
    found = _XML_ENCODING.search(decl.group(0)) if decl else None
    return _codec(found.group(1).decode("ascii")) if found else None


def as_parseable(data: bytes, content_type: str | None) -> Decoded:
    """``data`` ready for the feed parser: see the module's docstring. Never raises."""
    if data.startswith(_BOMS):
        return Decoded(data, None)  # a byte-order mark says it all
    header, document = _header_charset(content_type), _xml_encoding(data)
    if header is not None and _decodes(data, header):
        # The parser sees only the bytes: make them say what the header says.
        return Decoded(data, None) if header == (document or "utf-8") else _reencoded(data, header)
    if header is None and document is not None and _decodes(data, document):
        return Decoded(data, None)
    if header is None and document is None and _decodes(data, "utf-8"):
        return Decoded(data, None)
    from charset_normalizer import from_bytes  # only feeds that need a guess pay for it

    best = from_bytes(data[:200_000]).best()
    if best is None or best.encoding is None:
        return Decoded(data, None)  # left to the parser's own fallback
    detected = _codec(best.encoding) or "utf-8"
    return Decoded(_reencoded(data, detected).data, detected)


def declared_holds(data: bytes, content_type: str | None) -> bool:
    """Whether ``as_parseable`` would hand ``data`` to the parser unchanged in an ASCII-based
    encoding: the bytes decode as the header or the document says (UTF-8 when neither does),
    and the two agree. Then any well-formed part of them reads the same on its own."""
    if data.startswith(_BOMS):
        return data.startswith(codecs.BOM_UTF8)
    header, document = _header_charset(content_type), _xml_encoding(data)
    codec = header or document or "utf-8"
    if header is not None and header != (document or "utf-8"):
        return False
    if codec.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
        return False
    return _decodes(data, codec)


def _reencoded(data: bytes, codec: str) -> Decoded:
    text = data.decode(codec, errors="replace")
    body = text.encode("utf-8")
    decl = _XML_DECL.match(body[:512])
    if decl:
        fixed = _XML_ENCODING.sub(b'encoding="utf-8"', decl.group(0))
        if fixed == decl.group(0):  # a declaration without an encoding
            fixed = fixed[:-2].rstrip() + b' encoding="utf-8"?>'
        body = fixed + body[decl.end() :]
    return Decoded(body, None)


GARBLED_ITEMS = 500
"""Items of one poll checked for mojibake at most (the check runs on the event loop)."""
GARBLED_CHARS = 1000
"""Characters of an item's text checked."""
_BOX_IN_WORD = re.compile(r"[^\W\d_][\u2500-\u259f]|[\u2500-\u259f][^\W\d_]")
"""A box-drawing character against a letter: UTF-8 Cyrillic read as KOI8-R (``п╣я─``)."""


def looks_garbled(text: str) -> bool:
    """Whether decoded text still looks like mojibake, which detection did not (or could not)
    undo: UTF-8 read in a single-byte code page (``РџСЂРё``, ``Ã©``, ``â€™``; ftfy's badness
    heuristic, which names the character sequences such a mix-up makes), UTF-8 read as KOI8-R
    (box-drawing characters inside words), or bytes the decoder could not read (more than one
    U+FFFD replacement character in 50)."""
    from ftfy.badness import is_bad  # only polls that parsed entries pay for the import

    text = text[:GARBLED_CHARS]
    replaced = text.count("\ufffd")
    if replaced >= 2 and replaced * 50 >= len(text):
        return True
    return is_bad(text) or len(_BOX_IN_WORD.findall(text)) >= 2


def garbled_share(texts: Iterable[str]) -> tuple[int, int]:
    """How many of ``texts`` (the first GARBLED_ITEMS of them) look garbled, and how many were
    checked."""
    garbled = checked = 0
    for text in itertools.islice(texts, GARBLED_ITEMS):
        checked += 1
        garbled += looks_garbled(text)
    return garbled, checked
