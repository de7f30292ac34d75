"""A changed feed is parsed without the items its last read here had: the byte scan that finds
them, and the real poller reading a local feed server (every new item still queued)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from peacewatch.app import App
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.items import split_items, without_items
from peacewatch.watchers.parse import parse_bytes
from peacewatch.watchers.poller import PollPolicy, PollResult
from peacewatch.watchers.readmemory import UNKNOWN, ReadPlan, pack, unpack
from tests.fakes.feed_server import FeedServer
from tests.helpers import Clock, open_app, redis_url, rss

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>T</title><!-- <item>not an item</item> -->
<item><title>One</title><description><![CDATA[text </item> <entry> in CDATA]]></description>
<guid>g1</guid></item>
<item><title>Two &amp; more</title><guid isPermaLink="false">g2</guid>
<dc:creator>A</dc:creator></item>
<lastBuildDate>Tue, 06 Jan 2026 12:00:00 GMT</lastBuildDate>
</channel></rss>"""


def spans_text(body: bytes) -> list[bytes]:
    items = split_items(body, "application/rss+xml")
    assert items is not None
    return [body[a:b] for a, b in items.spans]


def test_the_scan_finds_items_past_comments_and_cdata() -> None:
    found = spans_text(RSS)
    assert len(found) == 2
    assert found[0].startswith(b"<item><title>One") and found[0].endswith(b"<guid>g1</guid></item>")
    assert found[1].startswith(b"<item><title>Two") and found[1].endswith(b"</item>")
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b"<entry><id>1</id></entry><entry><id>2</id><title type='html'>a &gt; b</title></entry>"
        b"</feed>"
    )
    second = b"<entry><id>2</id><title type='html'>a &gt; b</title></entry>"
    assert spans_text(atom) == [b"<entry><id>1</id></entry>", second]


def test_the_scan_gives_up_on_what_it_cannot_be_sure_of() -> None:
    def split(body: bytes) -> object:
        return split_items(body, None)

    doctype = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss><channel>'
    assert split(doctype + b"<item><title>&x;</title></item></channel></rss>") is None
    assert split(b"<rss><channel><item><item></item></item></channel></rss>") is None
    assert split(b"<rss><channel><rss:item></rss:item></channel></rss>") is None
    assert split(b"<rss><channel><item><title>never ends</channel></rss>") is None
    assert split(b"<rss><channel><title>no items</title></channel></rss>") is None
    # items under two different parents: their contexts could differ
    two = b"<r><a xmlns:x='1'><item/></a><b xmlns:x='2'><item/></b></r>"
    assert split(two) is None
    # more markup than the event loop should step over: read whole, in the worker
    flood = b"<rss><channel>" + b"<x/>" * 30_000 + b"<item></item></channel></rss>"
    assert split(flood) is None
    assert split(b"<rss><channel>" + b"<x/>" * 300 + b"<item></item></channel></rss>") is not None


def test_the_same_item_in_another_context_is_another_item() -> None:
    items = split_items(RSS, "application/rss+xml")
    moved = split_items(RSS.replace(b'xmlns:dc="http://purl.org/dc/elements/1.1/"',
                                    b'xmlns:dc="urn:other"'), "application/rss+xml")  # fmt: skip
    latin = split_items(RSS, "application/rss+xml; charset=iso-8859-1")
    assert items is not None and moved is not None and latin is not None
    assert not set(items.fingerprints) & set(moved.fingerprints)
    assert not set(items.fingerprints) & set(latin.fingerprints)
    # a changed channel date leaves the items as they were
    later = split_items(RSS.replace(b"12:00:00", b"13:00:00"), "application/rss+xml")
    assert later is not None and later.fingerprints == items.fingerprints


def test_without_items_keeps_everything_else() -> None:
    items = split_items(RSS, None)
    assert items is not None
    rest = without_items(RSS, items, [True, False])
    assert b"One" not in rest and b"Two &amp; more" in rest
    assert b"<title>T</title>" in rest and b"<lastBuildDate>" in rest


def entries(count: int, start: int = 0, site: str = "news") -> list[dict[str, Any]]:
    return [
        {
            "title": f"Talks in Geneva, round {n}",
            "summary": f"Delegations met for the {n}th time to discuss security guarantees.",
            "link": f"https://{site}.example/{n}",
            "published": NOW - timedelta(hours=2) + timedelta(minutes=n),
        }
        for n in range(start, start + count)
    ]


@asynccontextmanager
async def running(redis_target: dict[str, Any], data_dir: Path) -> AsyncIterator[App]:
    """An App on the test Redis that queues every item, however old; closed after."""
    policy = PollPolicy(backfill=None, max_age=None)
    app = await open_app(redis_url(redis_target), data_dir, Clock(NOW), io.StringIO(),
                         policy=policy)  # fmt: skip
    try:
        yield app
    finally:
        await app.close()


async def poll(app: App, feed: FeedSpec) -> PollResult:
    return await app.poller.poll(feed)


async def test_a_changed_feed_parses_only_its_new_items(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    async with FeedServer() as server:
        async with running(redis_target, tmp_path) as app:
            feed = FeedSpec("f", server.url("/f.xml"), 600, "", "slack:T1")
            await app.feeds.put(feed)
            old = entries(30)
            server.set_feed("/f.xml", rss(old), etag=False)
            first = await poll(app, feed)
            assert (first.status, first.items, first.new, first.parsed) == ("ok", 30, 30, 30)

            # one new item: only it is parsed, and it is queued
            server.set_feed("/f.xml", rss(entries(1, start=100) + old), etag=False)
            second = await poll(app, feed)
            assert (second.status, second.items, second.new, second.parsed) == ("ok", 31, 1, 1)
            assert await app.ingest.backlog() == 31

            # the channel changed, no item did: nothing to parse
            server.set_feed("/f.xml", rss(entries(1, start=100) + old, title="Renamed"),
                            etag=False)  # fmt: skip
            third = await poll(app, feed)
            assert (third.status, third.parsed) == ("not_modified", 0)

            # an item whose text changed is read again; a new one among them still queued
            edited = [{**old[0], "title": "Talks in Geneva, corrected"}, *old[1:]]
            body = rss(entries(1, start=200) + entries(1, start=100) + edited, title="Renamed")
            server.set_feed("/f.xml", body, etag=False)
            fourth = await poll(app, feed)
            assert (fourth.status, fourth.items, fourth.new, fourth.parsed) == ("ok", 32, 1, 2)
            assert await app.ingest.backlog() == 32
            health = await app.feeds.health("f")
            assert health["polls"] == "4" and health["items_seen"] == str(30 + 31 + 32)


async def test_a_restart_reads_a_changed_feed_whole_once(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    async with FeedServer() as server:
        feed = FeedSpec("f", server.url("/f.xml"), 600, "", "slack:T1")
        old = entries(20)
        server.set_feed("/f.xml", rss(old), etag=False)
        async with running(redis_target, tmp_path) as app:
            await app.feeds.put(feed)
            assert (await poll(app, feed)).parsed == 20
        server.set_feed("/f.xml", rss(entries(1, start=50) + old), etag=False)
        async with running(redis_target, tmp_path) as app:
            result = await poll(app, feed)  # nothing remembered here: every item parsed
            assert (result.status, result.new, result.parsed) == ("ok", 1, 21)
            server.set_feed("/f.xml", rss(entries(2, start=50) + old), etag=False)
            result = await poll(app, feed)
            assert (result.status, result.new, result.parsed) == ("ok", 1, 1)


HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        b"<link>https://example.org/</link>")  # fmt: skip
OLD = b"".join(
    b"<item><title>Old %d&nbsp;talks</title><link>https://example.org/old%d</link>"
    b"<pubDate>Tue, 06 Jan 2026 10:0%d:00 GMT</pubDate></item>" % (n, n, n)
    for n in range(3)
)  # "&nbsp;" is no XML entity: the feed is malformed, read by feedparser's loose parser
NEW = (b"<item><title>Witkoff in Geneva</title><guid>https://example.org/?p=7&amp;lang=en</guid>"
       b"<pubDate>Tue, 06 Jan 2026 11:30:00 GMT</pubDate></item>")  # fmt: skip
TAIL = b"</channel></rss>"


async def test_a_malformed_feed_is_read_whole_so_a_restart_never_queues_an_item_twice(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    async with FeedServer() as server:
        feed = FeedSpec("f", server.url("/f.xml"), 600, "", "slack:T1")
        async with running(redis_target, tmp_path) as app:
            await app.feeds.put(feed)
            server.set_feed("/f.xml", HEAD + OLD + TAIL, etag=False)
            assert (await poll(app, feed)).new == 3
            server.set_feed("/f.xml", HEAD + NEW + OLD + TAIL, etag=False)
            second = await poll(app, feed)
            assert (second.new, second.parsed) == (1, 4)  # read whole, as the first time
        # another process (a restart, another replica) reads the feed whole: same ids
        more = (b"<item><title>Old 9</title><link>https://example.org/old9</link>"
                b"<pubDate>Tue, 06 Jan 2026 09:00:00 GMT</pubDate></item>")  # fmt: skip
        server.set_feed("/f.xml", HEAD + NEW + OLD + more + TAIL, etag=False)
        async with running(redis_target, tmp_path) as app:
            third = await poll(app, feed)
            assert third.new == 1  # Old 9 alone; the Geneva item is not queued again
            assert await app.ingest.backlog() == 5


def test_an_item_that_could_not_be_queued_stays_unknown_for_the_next_read() -> None:
    head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    a, b, c = (
        b"<item><guid>%s</guid><title>%s</title></item>" % (g, g) for g in (b"a", b"b", b"c")
    )
    tail = b"</channel></rss>"
    kind = "application/rss+xml"
    first = head + b + a + tail
    plan = ReadPlan(split_items(first, kind) or pytest.fail("no items"), {}, 0.0)
    # b failed on its way to the queue (its id is None); a was queued
    rows = plan.rows(parse_bytes(first, kind), [None, "0123456789abcdef"], [UNKNOWN, UNKNOWN])
    assert rows is not None
    memory = unpack(pack(rows))
    second = head + c + b + a + tail
    again = ReadPlan(split_items(second, kind) or pytest.fail("no items"), memory, 1.0)
    assert again.known == [False, False, True]  # b is read again, with c


async def test_items_a_sample_never_checked_are_parsed_again_not_the_whole_feed(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    async with FeedServer() as server:
        async with running(redis_target, tmp_path) as app:
            # the ten most recent items were queued first by another feed that carries them
            other = FeedSpec("other", server.url("/other.xml"), 600, "", "slack:T1")
            feed = FeedSpec("f", server.url("/f.xml"), 600, "", "slack:T1")
            for spec in (other, feed):
                await app.feeds.put(spec)
            old = entries(30)
            server.set_feed("/other.xml", rss(old[20:]), etag=False)
            assert (await poll(app, other)).new == 10
            server.set_feed("/f.xml", rss(old), etag=False)
            first = await poll(app, feed)
            # its sample: the 20 new items first, then the 5 most recent others; the other 5
            # of the 25 most recent items were never checked
            assert (first.new, first.parsed) == (20, 30)
            server.set_feed("/f.xml", rss(entries(1, start=100) + old), etag=False)
            second = await poll(app, feed)
            # the new item and the five never checked are parsed, not all 31
            assert (second.status, second.items, second.new, second.parsed) == ("ok", 31, 1, 6)
            server.set_feed("/f.xml", rss(entries(2, start=100) + old), etag=False)
            third = await poll(app, feed)
            assert (third.status, third.items, third.new, third.parsed) == ("ok", 32, 1, 1)
            assert await app.ingest.backlog() == 32
