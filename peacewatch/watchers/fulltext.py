"""The main text of an article's web page, for feeds that carry only a teaser."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import re
from types import ModuleType

from peacewatch.errors import FeedError
from peacewatch.models import Article
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.guard import redact_url

__all__ = ["MAX_TEXT_CHARS", "TEASER_CHARS", "fetch_full_text", "needs_full_text", "with_full_text"]

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 20_000
TEASER_CHARS = 1_000
"""A body shorter than this is taken for a teaser worth replacing by the page's text."""
MIN_TEXT_CHARS = 200
"""Less than this is a page's leftovers (a menu, a caption), not an article."""
MAX_HTML_BYTES = 2 * 2**20
"""Only this much of a page is parsed: extraction runs in a thread that can not be stopped, and
an article's text is near the top of any page that large."""
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n+")
_missing_warned = False


def _trafilatura() -> ModuleType | None:
    """trafilatura, imported on first use: it is an optional extra (``peacewatch[fulltext]``)."""
    global _missing_warned
    try:
        return importlib.import_module("trafilatura")
    except ImportError:
        if not _missing_warned:
            _missing_warned = True
            log.warning(
                "full text is on for a feed but trafilatura is not installed "
                "(pip install 'peacewatch[fulltext]'); feeds keep their own text"
            )
        return None


def _decode(body: bytes, content_type: str | None) -> str | bytes:
    match = _CHARSET.search(content_type or "")
    if match is None:
        return body  # trafilatura reads the charset from the page's <meta> or guesses it
    try:
        return body.decode(match.group(1), errors="replace")
    except LookupError:
        return body


def _extract(module: ModuleType, page: str | bytes, url: str) -> str | None:
    text = module.extract(
        page,
        url=url,
        output_format="txt",
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
        with_metadata=False,
    )
    return text if isinstance(text, str) else None


def _tidy(text: str, max_chars: int) -> str:
    paragraphs = [" ".join(p.split()) for p in _BLANK_LINES.sub("\n", text).split("\n")]
    out: list[str] = []
    size = 0
    for para in paragraphs:
        if not para:
            continue
        if size + len(para) + 1 > max_chars:
            if not out:  # one paragraph over the whole limit: keep its whole words
                cut = para[:max_chars].rsplit(" ", 1)[0] if " " in para[:max_chars] else ""
                out.append(cut or para[:max_chars])
            break
        out.append(para)
        size += len(para) + 1
    return "\n".join(out)


async def fetch_full_text(
    fetcher: Fetcher, url: str, max_chars: int = MAX_TEXT_CHARS
) -> str | None:
    """The main text of the page at ``url``, paragraphs one a line, at most ``max_chars``
    characters of whole paragraphs; None when it can not be had or is too short to be an
    article (under ``MIN_TEXT_CHARS``).

    The page is fetched through ``fetcher``, so the feed's URL guard, size caps and deadline
    apply to it and to every redirect. trafilatura drops navigation, footers and comments, in a
    worker thread so that the event loop goes on. Never raises for a page's faults (a refused
    or dead URL, an error status, a page that is not HTML, markup the extractor trips on): they
    are logged and give None, and the article keeps the feed's text.
    """
    # The first import takes about half a second (lxml and friends): not on the event loop.
    module = await asyncio.to_thread(_trafilatura)
    if module is None:
        return None
    shown = redact_url(url)
    try:
        fetched = await fetcher.fetch(url)
    except FeedError as exc:
        log.info("full text of %s not fetched: %s", shown, exc)
        return None
    mime = (fetched.content_type or "text/html").split(";", 1)[0].strip().lower()
    if mime not in _HTML_TYPES:
        log.info("full text of %s skipped: %s is not a web page", shown, mime)
        return None
    page = _decode(fetched.body[:MAX_HTML_BYTES], fetched.content_type)
    try:
        text = await asyncio.to_thread(_extract, module, page, fetched.url)
    except Exception:  # the extractor's own bug on odd markup must not stop the poll
        log.warning("full text of %s: extraction failed", shown, exc_info=True)
        return None
    text = _tidy(text or "", max_chars)
    if len(text) < min(MIN_TEXT_CHARS, max_chars):
        log.info("full text of %s: no main text found", shown)
        return None
    return text


def needs_full_text(article: Article, min_chars: int = TEASER_CHARS) -> bool:
    """Whether the feed gave only a teaser of the article: a short body and a web link."""
    return len(article.body) < min_chars and article.link.startswith(("http://", "https://"))


async def with_full_text(
    fetcher: Fetcher, article: Article, max_chars: int = MAX_TEXT_CHARS
) -> Article:
    """``article`` with its page's main text as ``content`` when the feed gave only a teaser and
    the page could be read; otherwise ``article`` unchanged."""
    if not needs_full_text(article):
        return article
    text = await fetch_full_text(fetcher, article.link, max_chars)
    if text is None or len(text) <= len(article.body):
        return article
    return dataclasses.replace(article, content=text)
