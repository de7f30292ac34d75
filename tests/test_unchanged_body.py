"""A feed without validators that sends the same body again is not parsed again; a body that
changed is parsed for its new items only."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from peacewatch.store.feeds import FeedSpec
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, Clock, dated, open_app, rss

NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)


async def test_the_same_body_again_is_a_not_modified_poll(tmp_path: Path) -> None:
    items = dated(SAMPLE_ITEMS, NOW - timedelta(hours=3), timedelta(minutes=30))
    async with FeedServer() as server:
        server.set_feed("/feed.xml", rss(items), etag=False)  # no ETag, no Last-Modified
        feed = FeedSpec("f1", server.url("/feed.xml"), 600, "Test outlet", "t1")
        app = await open_app(None, tmp_path, Clock(NOW), io.StringIO())
        try:
            await app.feeds.put(feed)
            first = await app.poller.poll(feed)
            again = await app.poller.poll(feed)
            server.set_feed("/feed.xml", rss(items[1:]), etag=False)
            shorter = await app.poller.poll(feed)  # an item dropped: nothing new to read
            newer = dated(
                [
                    {
                        **SAMPLE_ITEMS[0],
                        "title": "Talks resume in Geneva",
                        "link": "https://example.org/geneva",
                    }
                ],
                NOW,
                timedelta(minutes=1),
            )
            server.set_feed("/feed.xml", rss(newer + items[1:]), etag=False)
            changed = await app.poller.poll(feed)
            health = await app.feeds.health("f1")
        finally:
            await app.close()
    assert len(server.requests_for("/feed.xml")) == 4  # downloaded every time
    assert first.status == "ok" and first.items == len(items)
    assert again.status == "not_modified"
    assert shorter.status == "not_modified"
    # the new item alone is parsed; the others are the bytes of the last read
    assert changed.status == "ok" and changed.items == len(items) and changed.parsed == 1
    assert changed.new == 1
    assert health["not_modified"] == "2"
