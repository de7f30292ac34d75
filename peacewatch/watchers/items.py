"""A feed's items as byte spans, so a changed feed parses only the items it did not carry before.

A feed that changed usually gained one item among dozens it carried at the last read, and
feedparser's cost grows with the items it reads. :func:`split_items` finds each ``<item>`` or
``<entry>`` element of an RSS or Atom document by a byte scan that understands only XML's
lexical layer (tags, comments, CDATA, processing instructions): no parsing, no entities, no
DTD. Each item is fingerprinted with the document's context (the XML declaration, the start tags
of the elements that hold the items, the Content-Type): an item whose fingerprint was in the
feed's last complete read is the same bytes in the same context, so it reads the same and its
entries were queued then. :func:`without_items` cuts those items out of the document, keeping
everything else (the channel's title, language, hub links wherever they stand), for the parser.

Anything the scan is not sure of returns None, and the whole document is parsed as before: a
DOCTYPE (entities could change what an item says), items nested in items, an item that never
ends, a prefixed item element (``<rss:item>``), a body over ``MAX_SCAN_BYTES``, more than
``MAX_STEPS`` pieces of markup.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_SCAN_BYTES = 8 * 2**20
"""Bodies larger than this are parsed whole (the fetcher's caps are lower anyway)."""
MAX_ITEMS = 2000
"""Feeds with more items than this are parsed whole (their fingerprints would not be kept)."""
MAX_STEPS = 20_000
"""Markup the scan steps over at most (tags outside items; comments, CDATA and item tags
inside them): the scan runs on the event loop, so a body built of a million tags is parsed
whole in the worker instead. A feed of 200 items takes a few hundred steps."""
FINGERPRINT_BYTES = 8
"""An item's fingerprint: 64 bits, compared only within one feed's few hundred items."""

# The markup we must step over whole: its content may hold "<item" or "</item>" as text.
_MARKUP = re.compile(rb"<!--|<!\[CDATA\[|<\?|<!|</?([A-Za-z_][\w.:-]*)")
# Inside an item only the markup that could end it (or hide its end) matters.
_INSIDE = re.compile(rb"<!--|<!\[CDATA\[|<\?|<!|</?([A-Za-z_][\w.-]*:)?(?:item|entry)(?=[\s/>])")
_ENDS = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}
_ITEM_TAGS = frozenset({b"item", b"entry"})
_TAG_END = re.compile(rb"""(?:[^>"']|"[^"]*"|'[^']*')*>""")


@dataclass(frozen=True, slots=True)
class Items:
    """Where a document's items are: ``spans`` in document order, ``fingerprints`` beside."""

    spans: tuple[tuple[int, int], ...]
    fingerprints: tuple[bytes, ...]


def split_items(body: bytes, content_type: str | None) -> Items | None:
    """The items of an RSS or Atom ``body`` with their fingerprints, or None when the scan
    cannot be sure of them (the caller then parses the whole body)."""
    if len(body) > MAX_SCAN_BYTES:
        return None
    context = hashlib.blake2b(digest_size=16)
    context.update((content_type or "").strip().lower().encode("utf-8", "replace") + b"\0")
    scan = _Scan(body, context)
    if not scan.run() or not scan.spans or len(scan.spans) > MAX_ITEMS:
        return None
    spans = scan.spans
    seed = context.digest()
    fingerprints = tuple(
        hashlib.blake2b(body[a:b], digest_size=FINGERPRINT_BYTES, key=seed).digest()
        for a, b in spans
    )
    return Items(tuple(spans), fingerprints)


class _Scan:
    """One pass over a document: the items' spans, the context's bytes into ``context``."""

    def __init__(self, body: bytes, context: hashlib.blake2b) -> None:
        self.body = body
        self.context = context
        self.spans: list[tuple[int, int]] = []
        self.open_tags: list[bytes] = []  # start tags of the elements open (before any item)
        self.item_depth = -1  # elements open around the first item
        self.moved = False  # an element holding the items closed and another opened since

    def run(self) -> bool:
        """Scan the whole body; False when it is not sure of the items."""
        body, pos, item_start = self.body, 0, -1
        for _ in range(MAX_STEPS):
            found = (_MARKUP if item_start < 0 else _INSIDE).search(body, pos)
            if found is None:
                return item_start < 0
            start, token = found.start(), found.group(0)
            if token in _ENDS:
                end = body.find(_ENDS[token], found.end())
                if end < 0:
                    return False
                pos = end + len(_ENDS[token])
                if token == b"<?" and not self.spans and item_start < 0:
                    self.context.update(body[start:pos])  # the XML declaration, PIs before items
                continue
            if token == b"<!":
                return False  # DOCTYPE, ENTITY or another declaration: parse the whole body
            tag_end = _TAG_END.match(body, found.end())
            if tag_end is None:
                return False
            pos = tag_end.end()
            closing, empty = token.startswith(b"</"), body[pos - 2 : pos] == b"/>"
            if item_start >= 0:  # _INSIDE found an item tag: it must close this item
                if found.group(1) or not closing:
                    return False  # a prefixed item tag, or an item inside an item
                self.spans.append((item_start, pos))
                item_start = -1
                continue
            name = found.group(1)
            if name.rpartition(b":")[2] in _ITEM_TAGS:
                if b":" in name or closing or not self._item_here():
                    return False
                if empty:
                    self.spans.append((start, pos))
                else:
                    item_start = start
            elif not empty and not self._element(body[start:pos], closing):
                return False
        return False  # too much markup to step over on the event loop

    def _item_here(self) -> bool:
        """Whether an item may start here: where the first one did, under the same parents."""
        depth = len(self.open_tags)
        if self.item_depth < 0:
            self.item_depth = depth
            for tag in self.open_tags:
                self.context.update(tag + b"\0")
            return True
        return depth == self.item_depth and not self.moved

    def _element(self, tag: bytes, closing: bool) -> bool:
        if not closing:
            if self.item_depth >= 0 and len(self.open_tags) < self.item_depth:
                self.moved = True
            self.open_tags.append(tag)
            return True
        if not self.open_tags:
            return False
        self.open_tags.pop()
        return True


def without_items(body: bytes, items: Items, drop: list[bool]) -> bytes:
    """``body`` without the items whose ``drop`` flag is set; everything else kept as it was."""
    parts: list[bytes] = []
    pos = 0
    for (start, end), gone in zip(items.spans, drop, strict=True):
        if gone:
            parts.append(body[pos:start])
            pos = end
    parts.append(body[pos:])
    return b"".join(parts)
