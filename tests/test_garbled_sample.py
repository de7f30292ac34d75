"""A read's mojibake check costs a bounded sample of items, not the whole feed: the new items
first, then the most recent others, read by the real poller from a local feed server."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from peacewatch.app import App
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.poller import GARBLED_SAMPLE, PollPolicy
from tests.fakes.feed_server import FeedServer
from tests.helpers import Clock, open_app, redis_url, rss
from tests.test_encoding import double_encoded

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
TEXT = "Переговоры в Женеве: делегации обсудили гарантии безопасности и прекращение огня"


def items(count: int, garbled: bool, start: int = 0, site: str = "news") -> list[dict[str, Any]]:
    """``count`` items, a minute apart and newest last; their text garbled (UTF-8 encoded
    twice at the publisher) or clean."""
    text = double_encoded(TEXT) if garbled else TEXT
    return [
        {
            "title": f"{text} ({n})",
            "summary": f"{text}. {text}.",
            "link": f"https://{site}.example/{n}",
            "published": NOW - timedelta(hours=2) + timedelta(minutes=n),
        }
        for n in range(start, start + count)
    ]


async def garbled(app: App, feed: FeedSpec) -> tuple[int, int]:
    """(garbled, checked) of the feed's last read, as its health records them."""
    assert (await app.poller.poll(feed)).status == "ok"
    health = await app.feeds.health(feed.id)
    return int(health["garbled"]), int(health["garbled_checked"])


async def test_a_long_feed_is_checked_on_a_sample_new_items_first(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    assert GARBLED_SAMPLE == 25
    policy = PollPolicy(backfill=None, max_age=None)
    async with FeedServer() as server:
        app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO(),
                             policy=policy)  # fmt: skip
        try:
            bad = FeedSpec("bad", server.url("/bad.xml"), 600, "", "slack:T1")
            good = FeedSpec("good", server.url("/good.xml"), 600, "", "slack:T1")
            for feed in (bad, good):
                await app.feeds.put(feed)
            server.set_feed("/bad.xml", rss(items(60, garbled=True)))
            assert await garbled(app, bad) == (25, 25)  # 25 of the 60 new items checked
            # the publisher fixes its text: nothing new, the most recent items say it is clean
            server.set_feed("/bad.xml", rss(items(60, garbled=False)))
            assert await garbled(app, bad) == (0, 25)

            server.set_feed("/good.xml", rss(items(60, garbled=False, start=100)))
            assert await garbled(app, good) == (0, 25)
            # one new item, garbled and dated before all the others: checked all the same
            late = items(1, garbled=True, site="late")
            server.set_feed("/good.xml", rss(late + items(60, garbled=False, start=100)))
            assert await garbled(app, good) == (1, 25)
        finally:
            await app.close()
