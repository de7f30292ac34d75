"""`peacewatch feeds check URL`: one fetch and parse through the watchers' guard and caps."""

from __future__ import annotations

from datetime import UTC, datetime

from peacewatch.errors import ParseError
from peacewatch.settings import Settings
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.normalise import normalise
from peacewatch.watchers.parse import HtmlPageError, linked_feeds, parse_bytes


def _feeds(count: int) -> str:
    return "a feed" if count == 1 else f"{count} feeds"


async def check_feed(url: str, settings: Settings) -> str:
    """A short report (title, item count, newest item). Raises FeedError with the reason."""
    policy = GuardPolicy(
        allow_private=settings.allow_private_feeds, allow_networks=settings.networks()
    )
    async with Fetcher(policy) as fetcher:
        fetched = await fetcher.fetch(url)
    # one feed, one-off: no need for the worker pool
    try:
        parsed = parse_bytes(fetched.body, fetched.content_type)
    except HtmlPageError as exc:
        links = linked_feeds(exc, fetched.url)
        if not links:
            raise ParseError(f"{exc}, and the page links no feed") from exc
        offer = "\n".join(f"  peacewatch feeds check {link}" for link in links)
        raise ParseError(f"{exc}; the page links {_feeds(len(links))}:\n{offer}") from exc
    if not parsed.entries:
        raise ParseError("the feed has no items")
    now = datetime.now(UTC)
    articles = [
        normalise(e, feed_id="check", feed_url=fetched.url, feed_title=parsed.title, fetched_at=now)
        for e in parsed.entries
    ]
    newest = max(articles, key=lambda a: a.published)
    lines = [
        f"feed:   {parsed.title or '(no title)'}",
        f"url:    {fetched.url}",
        f"items:  {len(articles)}",
        f"newest: {newest.published:%Y-%m-%d %H:%M} UTC  {newest.title}",
        f"        {newest.link}",
        f"etag:   {fetched.etag or '-'}   last-modified: {fetched.last_modified or '-'}",
    ]
    if parsed.bozo:
        lines.append(f"note:   malformed but readable ({parsed.bozo})")
    return "\n".join(lines)
