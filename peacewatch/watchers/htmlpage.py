"""HTML page bytes to a parsed tree, in the charset the page declares if it holds, else detected."""

from __future__ import annotations

import codecs
import re

from selectolax.lexbor import LexborHTMLParser

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_META = re.compile(rb"<meta[^>]{0,300}>", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


def _codec(name: bytes | str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.decode("ascii") if isinstance(name, bytes) else name).name
    except (LookupError, UnicodeDecodeError):
        return None


def declared_charset(data: bytes, content_type: str | None) -> str | None:
    """The charset the ``Content-Type`` header names, else the page's ``<meta>`` (None when
    neither names one Python knows)."""
    found = _CHARSET.search((content_type or "").encode("latin-1", "replace"))
    if found:
        return _codec(found.group(1))
    for meta in _META.finditer(data[:8192]):
        found = _CHARSET.search(meta.group(0))
        if found:
            return _codec(found.group(1))
    return None


def decode_page(data: bytes, content_type: str | None) -> tuple[str, str | None]:
    """The page's text and the encoding that was detected, when the declared one was missing
    or did not decode the bytes (None when the declaration or UTF-8 held).

    Pages of Russian and Ukrainian sites still come in windows-1251 with a wrong or missing
    declaration; reading them as UTF-8 would turn every word into mojibake. Never raises.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace"), None
    declared = declared_charset(data, content_type)
    for codec in (declared,) if declared else ("utf-8",):
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes  # only pages that need a guess pay for it

    best = from_bytes(data[:200_000]).best()
    detected = _codec(best.encoding) if best is not None else None
    if detected is None:
        return data.decode(declared or "utf-8", errors="replace"), None
    return data.decode(detected, errors="replace"), detected


def html_tree(data: bytes, content_type: str | None) -> tuple[LexborHTMLParser, str | None]:
    """The page parsed with lexbor (an HTML5 parser), and the detected encoding if any."""
    text, detected = decode_page(data, content_type)
    return LexborHTMLParser(text), detected
