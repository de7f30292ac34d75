"""Feed bytes to raw entries with feedparser, in a worker process so the event loop never blocks."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urljoin

from peacewatch.errors import ParseError
from peacewatch.watchers.doctype import without_declarations
from peacewatch.watchers.encoding import as_parseable
from peacewatch.watchers.parseworker import ParseWorker

T = TypeVar("T")

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})
"""Link types a page uses to announce its feeds (``<link rel="alternate" type=...>``)."""
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<!doctype\s+html|^\s*<html[\s>]", re.I | re.S
)


class HtmlPageError(ParseError):
    """The server answered with an HTML page, not a feed; ``feed_links`` are the feeds the page
    announces (as written in the page: resolve them against the page's URL)."""

    def __init__(self, feed_links: tuple[str, ...] = ()) -> None:
        super().__init__(feed_links)
        self.feed_links = feed_links

    def __str__(self) -> str:
        return "the server returned an HTML page, not a feed"


class _FeedLinks(HTMLParser):
    """Collects ``<link rel="alternate" type="application/rss+xml" href=...>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        href = values.get("href", "")
        if "alternate" in rels and kind in FEED_TYPES and href and href not in self.found:
            self.found.append(href)


def page_feed_links(html: str) -> tuple[str, ...]:
    """The feed URLs an HTML page announces, in page order, as written (maybe relative)."""
    collector = _FeedLinks()
    collector.feed(html)
    collector.close()
    return tuple(collector.found)


def linked_feeds(error: HtmlPageError, page_url: str) -> list[str]:
    """The feeds a page announced (``error.feed_links``), as absolute http(s) URLs."""
    found = (urljoin(page_url, link) for link in error.feed_links)
    return [url for url in found if url.startswith(("http://", "https://"))][:5]


def _is_html(data: bytes, content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml") or bool(_HTML_START.match(data[:4096]))


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One feed entry as the feed wrote it (HTML not yet reduced to text)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    content: str
    published: float | None
    """Seconds since the epoch, UTC, or None when the feed gives no usable date."""
    lang: str | None = None
    lang_pending: bool = False
    """The language is still to be detected from the title and summary, with ``lang`` (the
    feed's declared language) as the fallback: the parse worker leaves it to the bot, which
    detects it for new items only (``normalise.with_language``)."""
    source_title: str | None = None
    source_url: str | None = None
    source: str | None = None
    """The outlet's identity when its domain does not say it (``t.me/NAME`` of a channel)."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    lang: str | None
    entries: tuple[RawEntry, ...]
    bozo: str | None
    """Why feedparser found the feed malformed, if it did (entries may still be usable)."""
    encoding: str | None = None
    """The encoding detected when the declared one was missing or wrong (None otherwise)."""
    hub: str | None = None
    """The WebSub hub the feed advertises (``<link rel="hub">``, atom:link in RSS), as written."""
    self_url: str | None = None
    """The feed's own URL as it states it (``<link rel="self">``): the WebSub topic."""


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _base(lang: str | None) -> str | None:
    """``en`` of ``en-US``."""
    return lang.split("-")[0].lower() if lang else None


def _time(entry: Any) -> float | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return float(calendar.timegm(parsed))
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _content(entry: Any) -> str:
    parts = entry.get("content") or []
    best = ""
    for part in parts:
        value = _str(part.get("value"))
        if len(value) > len(best):
            best = value
    return best


def _entry(entry: Any, feed_lang: str | None) -> RawEntry:
    source = entry.get("source") or {}
    title, summary = _str(entry.get("title")), _str(entry.get("summary"))
    lang = _str(entry.get("language")) or None
    return RawEntry(
        guid=_str(entry.get("id")) or None,
        link=_str(entry.get("link")) or None,
        title=title,
        summary=summary,
        content=_content(entry),
        published=_time(entry),
        lang=lang or _base(feed_lang),
        lang_pending=lang is None,
        source_title=_str(source.get("title")) or None,
        source_url=_str(source.get("href")) or _str(source.get("url")) or None,
    )


def _rel_link(feed: Any, rel: str) -> str | None:
    """The first ``href`` of the feed's links with relation ``rel``."""
    for link in feed.get("links") or []:
        if rel in _str(link.get("rel")).lower().split() and _str(link.get("href")).strip():
            return _str(link.get("href")).strip()
    return None


_SURROGATE_REF = re.compile(
    rb"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}"
    rb"|0*(?:5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]|5734[0-3]));"
)
"""A numeric character reference to a surrogate (U+D800-U+DFFF): no character, and
feedparser's lenient parser raises on one instead of reading the rest of the feed."""


def _without_surrogate_refs(data: bytes) -> bytes:
    """``data`` with each character reference to a surrogate made one to U+FFFD."""
    if b"&#" not in data:
        return data
    return _SURROGATE_REF.sub(b"&#xFFFD;", data)


def parse_bytes(data: bytes, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes (never a URL or a str: feedparser would fetch or open it), in the
    encoding the server or the document declares when it holds, else the one detected.

    Raises HtmlPageError when the bytes are a web page (with the feeds it links, if any),
    ParseError when they yield no entries and feedparser found them malformed. A malformed feed
    that still yields entries is returned with ``bozo`` set.
    """
    import feedparser  # imported in the worker process
    from feedparser.encodings import convert_to_utf8

    decoded = as_parseable(data, content_type)
    # feedparser's own conversion to UTF-8 first (it would make the same one: the bytes say
    # their encoding themselves), so that the declarations are taken out of the very bytes its
    # parsers read, whatever the encoding
    converted: dict[str, Any] = {}
    utf8 = convert_to_utf8({}, decoded.data, converted)
    readable = _without_surrogate_refs(without_declarations(utf8))
    result = feedparser.parse(readable, sanitize_html=False, resolve_relative_uris=False)
    feed = result.get("feed", {})
    lang = _str(feed.get("language")) or None
    bozo_exc = result.get("bozo_exception") if result.get("bozo") else None
    if bozo_exc is None and converted.get("bozo"):  # an encoding read as another: said still
        bozo_exc = converted.get("bozo_exception")
    entries = tuple(_entry(e, lang) for e in result.get("entries", []))
    if not entries and _is_html(data, content_type):
        # a feed served as text/html still parses above; a page yields no entries
        raise HtmlPageError(page_feed_links(decoded.data.decode("utf-8", "replace")))
    if not entries and bozo_exc is not None:
        raise ParseError(f"not a feed: {type(bozo_exc).__name__}: {bozo_exc}")
    if not entries and not feed.get("title") and result.get("version", "") == "":
        raise ParseError("not a feed: no RSS or Atom elements found")
    return ParsedFeed(
        title=_str(feed.get("title")),
        link=_str(feed.get("link")) or None,
        lang=lang,
        entries=entries,
        bozo=f"{type(bozo_exc).__name__}: {bozo_exc}" if bozo_exc is not None else None,
        encoding=decoded.detected,
        hub=_rel_link(feed, "hub"),
        self_url=_rel_link(feed, "self"),
    )


class FeedParserPool:
    """Runs ``parse_bytes`` (and the HTML sources' parsers) off the event loop, in one worker
    process (:mod:`peacewatch.watchers.parseworker`)."""

    def __init__(self) -> None:
        self._worker: ParseWorker | None = None

    def _get(self) -> ParseWorker:
        if self._worker is None:
            self._worker = ParseWorker()
        return self._worker

    async def parse(self, data: bytes, content_type: str | None = None) -> ParsedFeed:
        result: ParsedFeed = await self._get().call(parse_bytes, data, content_type)
        return result

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in the worker (a module-level function, for HTML sources)."""
        result: T = await self._get().call(function, *args)
        return result

    async def aclose(self) -> None:
        """Stop the worker and wait for it to exit."""
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.aclose()

    def close(self) -> None:
        """Stop the worker without waiting (from the event loop's thread)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()
