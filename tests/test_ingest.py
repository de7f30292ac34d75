"""Parsing and normalisation: ids, canonical links, UTC dates, HTML to text, hostile XML."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from peacewatch.errors import ParseError
from peacewatch.store import keys
from peacewatch.store.ingest import IngestStream
from peacewatch.watchers.normalise import (
    article_id,
    canonical_link,
    domain_of,
    normalise,
    with_language,
)
from peacewatch.watchers.parse import FeedParserPool, RawEntry, parse_bytes
from peacewatch.watchers.text import html_to_text

DATA = Path(__file__).parent / "data"
FETCHED = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.politico.eu/article/x/?utm_source=rss&utm_medium=feed&id=7#comments",
            "https://www.politico.eu/article/x/?id=7",
        ),
        ("HTTPS://WWW.BBC.COM:443/news/1?fbclid=abc", "https://www.bbc.com/news/1"),
        ("http://example.org:80", "http://example.org/"),
        ("https://example.org/a?ocid=x&page=2&gclid=1", "https://example.org/a?page=2"),
    ],
)
def test_canonical_link_drops_tracking(url: str, expected: str) -> None:
    assert canonical_link(url) == expected


def test_article_ids_are_stable_and_scoped() -> None:
    by_guid = article_id("12345", "https://a.example/x", "T", "a.example")
    assert by_guid == article_id("12345", "https://a.example/other", "T2", "a.example")
    assert by_guid != article_id("12345", "https://b.example/x", "T", "b.example")
    by_link = article_id(None, "https://a.example/x?utm_source=rss", "T", "a.example")
    assert by_link == article_id(None, "https://a.example/x", "Other title", "b.example")
    by_title = article_id(None, None, "Witkoff  meets Putin", "a.example")
    assert by_title == article_id(None, None, "witkoff meets putin", "a.example")
    assert len(by_guid) == 32 and by_guid != by_link != by_title


def test_html_to_text() -> None:
    assert html_to_text("<p>Talks in <b>Geneva</b>&nbsp;ended.</p><p>More</p>") == (
        "Talks in Geneva ended.\nMore"
    )
    assert html_to_text("Russia&#039;s plan &amp;#8217;") == "Russia's plan ’"
    assert html_to_text("<script>alert(1)</script>Visible") == "Visible"
    # feeds cut descriptions mid-tag
    assert (
        html_to_text('Leaders met.<p>More <a href="https://www.theguardia') == "Leaders met.\nMore"
    )
    assert html_to_text("a < b and c > d") == "a < b and c > d"


def test_normalise_entry() -> None:
    entry = RawEntry(
        guid=None,
        link="https://www.themoscowtimes.com/2025/12/02/a91303?utm_source=rss",
        title="Witkoff and Kushner Meet With Putin",
        summary="<p>Trump&#8217;s special envoy and son-in-law.</p>",
        content="",
        published=datetime(2025, 12, 2, 14, 40, tzinfo=UTC).timestamp(),
        lang="en-US",
    )
    article = normalise(
        entry, feed_id="mt", feed_url="https://www.themoscowtimes.com/rss/news",
        feed_title="The Moscow Times", fetched_at=FETCHED,
    )  # fmt: skip
    assert article.link == "https://www.themoscowtimes.com/2025/12/02/a91303"
    assert article.summary == "Trump’s special envoy and son-in-law."
    assert article.published == datetime(2025, 12, 2, 14, 40, tzinfo=UTC)
    assert article.source == "themoscowtimes.com" and article.outlet == "The Moscow Times"
    assert article.lang == "en"
    undated = normalise(
        RawEntry(None, None, "t", "", "", None), feed_id="x", feed_url="https://x.example/f",
        feed_title="", fetched_at=FETCHED,
    )  # fmt: skip
    assert undated.published == FETCHED and undated.source == "x.example"


def test_news_search_items_name_the_real_outlet() -> None:
    entry = RawEntry(
        guid="CBMi", link="https://news.google.com/rss/articles/CBMi", title="Talks - Reuters",
        summary="", content="", published=None, source_title="Reuters",
        source_url="https://www.reuters.com",
    )  # fmt: skip
    article = normalise(
        entry, feed_id="gn", feed_url="https://news.google.com/rss/search?q=x",
        feed_title="Google News", fetched_at=FETCHED,
    )  # fmt: skip
    assert article.source == "reuters.com" and article.outlet == "Reuters"
    assert domain_of("https://www.reuters.com/world") == "reuters.com"


def test_parse_real_feeds() -> None:
    liga = parse_bytes((DATA / "liga_ru.xml").read_bytes())
    assert liga.title == "ЛІГА.Новости" and liga.lang == "ru"
    assert len(liga.entries) == 12 and liga.entries[0].title.startswith("Футбол.")
    assert all(e.published for e in liga.entries)
    bbc = parse_bytes((DATA / "bbc.xml").read_bytes())
    assert len(bbc.entries) > 40
    assert all(e.link and e.link.startswith("https://www.bbc.") for e in bbc.entries)


def test_not_a_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_bytes(b"<html><body>hello</body></html>")
    with pytest.raises(ParseError):
        parse_bytes(b"\x00\x01 not xml at all")


def test_entities_are_never_expanded() -> None:
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">' + laughs + "]>"
        "<rss><channel><title>x</title><item><title>&l9;</title></item></channel></rss>"
    ).encode()
    try:
        parsed = parse_bytes(bomb)
    except ParseError:
        return
    assert all(len(e.title) < 1000 for e in parsed.entries)
    external = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b"<rss><channel><title>x</title><item><title>&x;</title></item></channel></rss>"
    )
    try:
        parsed = parse_bytes(external)
    except ParseError:
        return
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    assert not hostname or all(hostname not in e.title for e in parsed.entries)


async def test_parser_pool_runs_in_another_process() -> None:
    pool = FeedParserPool()
    try:
        parsed = await pool.parse((DATA / "liga_ru.xml").read_bytes())
        assert len(parsed.entries) == 12
        with pytest.raises(ParseError):
            await pool.parse(b"<html></html>")
    finally:
        await pool.aclose()


def test_item_language_is_detected_when_the_feed_mixes_languages() -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>POLITICO</title>'
        "<language>en-us</language>"
        "<item><title>Witkoff, Kushner to attend Ukraine Coalition of the Willing meeting</title>"
        "<description>Ukraine’s allies aim to hash out key details of a possible ceasefire deal."
        "</description></item>"
        "<item><title>Selenskyj trifft die Koalition der Willigen in Paris</title>"
        "<description>Die Verbündeten der Ukraine beraten über Sicherheitsgarantien für das Land."
        "</description></item>"
        "<item><title>Віткофф зустрівся з Путіним у Москві</title>"
        "<description>Спецпосланець США провів переговори про мирний план.</description></item>"
        "<item><title>Ok</title></item>"
        "</channel></rss>"
    ).encode()
    langs = [with_language(e).lang for e in parse_bytes(feed).entries]
    assert langs == ["en", "de", "uk", "en"]  # too short to tell: the feed's own language


def _entry(n: int) -> RawEntry:
    return RawEntry(
        guid=None, link=f"https://a.example/news/{n}", title=f"Item {n}", summary="Text",
        content="", published=FETCHED.timestamp() - n,
    )  # fmt: skip


async def _script_calls(redis: Any) -> int:
    stats = await redis.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("eval", "evalsha")
    )


async def test_submit_queues_first_sightings_once_and_sends_only_those(redis_client: Any) -> None:
    stream = IngestStream(redis_client)
    one, two, three, four = (
        normalise(_entry(n), feed_id="f", feed_url="https://a.example/rss", feed_title="A",
                  fetched_at=FETCHED)
        for n in range(4)
    )  # fmt: skip
    assert await stream.submit([(one, False), (two, True)]) == [True, True]
    await redis_client.set(keys.seen(three.id), "queued")  # another replica queued it
    again = [(one, True), (three, True), (four, True), (four, True)]
    assert await stream.submit(again) == [False, False, True, False]
    entries = await stream.read_after("0-0")
    assert [(e.article.id if e.article else None, e.alerts) for e in entries] == [
        (one.id, False), (two.id, True), (four.id, True),
    ]  # fmt: skip
    # A poll that brings nothing new reads the claims and sends no article to the script.
    calls = await _script_calls(redis_client)
    assert await stream.submit([(one, True), (two, True), (four, True)]) == [False] * 3
    assert await _script_calls(redis_client) == calls
    assert await stream.backlog() == 3


async def test_a_recent_article_a_new_feed_carries_is_queued_again_for_follows(
    redis_client: Any,
) -> None:
    stream = IngestStream(redis_client, clock=lambda: FETCHED)
    first = normalise(_entry(0), feed_id="f1", feed_url="https://a.example/rss", feed_title="A",
                      fetched_at=FETCHED)  # fmt: skip
    assert await stream.submit([(first, True)]) == [True]
    # the same article from a second feed: not new, but queued again once, as a resight
    second = replace(first, feed_id="f2")
    assert await stream.submit([(second, True), (second, True)]) == [False, False]
    assert await stream.submit([(second, True)]) == [False]  # f2 is known now: nothing more
    entries = await stream.read_after("0-0")
    assert [(e.article.feed_id if e.article else "") for e in entries] == ["f1", "f2"]
    assert await stream.resights([e.entry_id for e in entries]) == {entries[1].entry_id}
    assert await stream.carried_by(first) == ["f1", "f2"]
    assert 89 * 86400 < await redis_client.ttl(keys.seen(first.id)) <= 90 * 86400  # kept
    # an old one (its story may have left the assigner's window) is only noted as carried
    later = IngestStream(redis_client, clock=lambda: FETCHED + timedelta(days=2))
    assert await later.submit([(replace(first, feed_id="f3"), True)]) == [False]
    assert await stream.backlog() == 2
    assert await stream.carried_by(replace(first, feed_id="f3")) == ["f3", "f1", "f2"]
    await stream.resights_done([entries[1].entry_id])
    assert not await redis_client.exists(keys.resight_entries())
