"""One parser per source kind behind one call: RSS/Atom feeds, Telegram channels, statement pages.

Every kind turns fetched bytes into a :class:`ParsedFeed` of raw entries, in the parser pool
(never on the event loop), so the poller normalises and queues them all the same way.
"""

from __future__ import annotations

from typing import Literal, get_args

from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.fetch import FetchResult
from peacewatch.watchers.pages import PageSelectors, parse_page
from peacewatch.watchers.parse import FeedParserPool, ParsedFeed, parse_bytes
from peacewatch.watchers.telegram import parse_channel

SourceKind = Literal["rss", "telegram", "page"]
KINDS: tuple[str, ...] = get_args(SourceKind)


def parse_kind(
    kind: str,
    selectors: tuple[tuple[str, str], ...],
    body: bytes,
    content_type: str | None,
    url: str,
) -> ParsedFeed:
    """The entries of fetched bytes read as ``kind`` says (``url``: where they came from, after
    redirects). Raises ParseError when the bytes are not that kind of source."""
    if kind == "telegram":
        return parse_channel(body, content_type)
    if kind == "page":
        return parse_page(body, content_type, url, PageSelectors.from_pairs(selectors))
    return parse_bytes(body, content_type)


async def parse_source(pool: FeedParserPool, feed: FeedSpec, fetched: FetchResult) -> ParsedFeed:
    """:func:`parse_kind` of a feed's fetched bytes, in the parser pool."""
    if feed.kind not in ("telegram", "page"):
        return await pool.parse(fetched.body, fetched.content_type)
    return await pool.run(
        parse_kind, feed.kind, feed.selectors, fetched.body, fetched.content_type, fetched.url
    )
