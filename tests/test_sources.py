"""Telegram channel previews and statement pages, polled through the real poller and ingest stream.

The saved pages under tests/data/sources/ are modelled on the real markup of t.me/s/NAME,
president.gov.ua, kremlin.ru and mid.ru (Cyrillic text, several layouts, a windows-1251 page
that claims UTF-8) and are served from 127.0.0.1.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from peacewatch.bot.replies import Caller
from peacewatch.config import load_config
from peacewatch.errors import ConfigError
from peacewatch.models import Article
from peacewatch.pipeline.severity import severity_of
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.store import keys
from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.watchers.catalogue import catalogue
from peacewatch.watchers.fetch import Fetcher, FetchLimits
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.pages import PageSelectors
from peacewatch.watchers.poller import PollPolicy
from peacewatch.watchers.sourceconfig import ChatSource, chat_source
from peacewatch.watchers.telegram import parse_channel
from tests.fakes.feed_server import FeedServer
from tests.helpers import REPO_ROOT as REPO
from tests.helpers import Clock, open_app, redis_url
from tests.test_cli import cli

DATA = Path(__file__).parent / "data" / "sources"
NOW = datetime(2025, 11, 30, 23, 0, tzinfo=UTC)
HTML = "text/html; charset=utf-8"
ADMIN = Caller("slack", "slack:T1", "U1", "slack:C1", platform_admin=True)
ALL = PollPolicy(backfill=None, max_age=None)
RULE = RuleSpec(
    id="talks",
    query="Witkoff OR Dmitriev OR Lavrov OR Umerov OR ceasefire",
    channels=["console:desk"],
)


def page(name: str) -> bytes:
    return (DATA / name).read_bytes()


def headlines(out: io.StringIO) -> list[str]:
    lines = out.getvalue().splitlines()
    return [line.split("] ", 1)[1] for line in lines if line.startswith("console-")]


async def stored(app: Any, feed_id: str) -> list[Article]:
    """The articles of one feed in the store, by link."""
    ids = await app.articles._redis.zrange(keys.articles_by_time(), 0, -1)
    found = [a for a in await app.articles.get_many(list(ids)) if a.feed_id == feed_id]
    return sorted(found, key=lambda a: a.link)


@pytest.fixture
async def server() -> Any:
    async with FeedServer() as srv:
        yield srv


async def poll(app: Any, feed: FeedSpec) -> Any:
    result = await app.poller.poll(feed)
    await app.assigner.drain()
    await app.dispatcher.drain()
    return result


async def test_a_channel_preview_gives_one_article_per_post_and_only_new_posts_later(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    server.set_feed("/s/MID_Russia", page("tg_mid_russia_1.html"), content_type=HTML)
    out = io.StringIO()
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), out, policy=ALL)
    try:
        await app.teams.put_rule("t1", RULE)
        feed = FeedSpec("tg-mid", server.url("/s/MID_Russia"), 600, "", "t1", kind="telegram")
        await app.feeds.put(feed)

        first = await poll(app, feed)
        # 7 posts: a bare photo and a service message say nothing a rule could match
        assert (first.status, first.items, first.new) == ("ok", 5, 5)
        articles = await stored(app, "tg-mid")
        assert [a.link for a in articles] == [
            f"https://t.me/MID_Russia/{n}" for n in (51001, 51002, 51003, 51004, 51006)
        ]
        assert {(a.source, a.outlet, a.lang) for a in articles} == {
            ("t.me/mid_russia", "МИД России 🇷🇺", "ru")
        }
        by_post = {a.link.rsplit("/", 1)[1]: a for a in articles}
        assert by_post["51001"].published == datetime(2025, 11, 30, 8, 5, 12, tzinfo=UTC)
        assert by_post["51001"].title.startswith("🎙 Заявление официального представителя")
        assert "спецпосланника Стива Уиткоффа" in by_post["51001"].summary
        forwarded = by_post["51003"].summary
        assert forwarded.startswith(
            "Forwarded from Мария Захарова (https://t.me/MariaVladimirovnaZakharova/11542)."
        )
        assert "Брифинг_30_11_2025.pdf" in by_post["51004"].summary  # the document's name
        assert by_post["51006"].title.startswith("О телефонном разговоре")  # a link preview
        assert len(headlines(out)) == 3  # Witkoff, Lavrov (photo caption), Lavrov (preview)

        # the newest posts change: 51001 scrolls off, 51008 (a reply) and 51009 arrive
        server.set_feed("/s/MID_Russia", page("tg_mid_russia_2.html"), content_type=HTML)
        second = await poll(app, feed)
        assert (second.items, second.new) == (6, 2)
        newest = {a.link.rsplit("/", 1)[1]: a for a in await stored(app, "tg-mid")}
        assert "Захаровой" not in newest["51008"].summary  # the quoted post is not its text
        assert newest["51009"].title.startswith(
            "Москва готова к продолжению диалога <без предварительных условий> & на основе"
        )
        assert len(headlines(out)) == 4
        assert headlines(out)[-1].startswith("⚡️ Кирилл Дмитриев: переговоры в Майами")

        third = await poll(app, feed)
        assert third.status == "not_modified"
        assert server.requests_for("/s/MID_Russia")[-1].headers.get("If-None-Match")
        assert len(server.requests_for("/s/MID_Russia")) == 3  # one request per poll
    finally:
        await app.close()


async def test_a_private_or_gone_channel_is_a_clear_error(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    # t.me/s/NAME of a name without a public channel redirects to the t.me/NAME contact page
    server.set_redirect("/s/no_such_channel_x", server.url("/no_such_channel_x"))
    server.set_feed("/no_such_channel_x", page("tg_gone.html"), content_type=HTML)
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO())
    try:
        feed = FeedSpec("tg-gone", server.url("/s/no_such_channel_x"), kind="telegram")
        result = await poll(app, feed)
        assert result.status == "error"
        assert result.error is not None
        assert "no public Telegram channel here: the channel is private, gone" in result.error
        assert "you can contact @no_such_channel_x" in result.error
        health = await app.feeds.health("tg-gone")
        assert "private, gone" in health["last_error"]
    finally:
        await app.close()


async def test_a_page_redrawn_with_other_markup_raises_no_alert_and_a_new_item_raises_one(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    server.set_feed("/news/all", page("president_ua_1.html"), content_type=HTML)
    out = io.StringIO()
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), out, policy=ALL)
    try:
        await app.teams.put_rule("t1", RULE)
        zone = PageSelectors(timezone="Europe/Kyiv").pairs()
        feed = FeedSpec("president-ua", server.url("/news/all"), kind="page", selectors=zone)
        first = await poll(app, feed)
        assert (first.items, first.new) == (5, 5)  # menu, footer and pager links are not items
        articles = await stored(app, "president-ua")
        umerov = next(a for a in articles if "Умєров" in a.title)
        assert umerov.title == "Умєров прозвітував Президентові про переговори в Маямі"
        assert umerov.link == server.url("/news/umyerov-prozvituvav-pro-peregovori-v-majami-101799")
        assert umerov.published == datetime(2025, 11, 30, 14, 20, tzinfo=UTC)  # 16:20 in Kyiv
        assert umerov.lang == "uk"
        alerted = len(headlines(out))
        assert alerted == 2  # Witkoff (Віткоффом) and Umerov

        # a redesign: other wrappers and classes, the date moved, a sidebar repeating links
        server.set_feed("/news/all", page("president_ua_2.html"), content_type=HTML)
        second = await poll(app, feed)
        assert (second.status, second.items, second.new) == ("ok", 5, 0)
        assert len(headlines(out)) == alerted

        server.set_feed("/news/all", page("president_ua_3.html"), content_type=HTML)
        third = await poll(app, feed)
        assert (third.items, third.new) == (6, 1)
        (new,) = headlines(out)[alerted:]  # in the thread of the Geneva meeting's story
        assert new.endswith(
            "Заява Президента щодо результатів переговорів у Женеві: домовленості про "
            "припинення вогню поки немає"
        )
    finally:
        await app.close()


async def test_page_items_by_selectors_in_a_windows_1251_page_that_claims_utf_8(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    server.set_feed("/ru/foreign_policy/news/", page("mid_ru_cp1251.html"), content_type=HTML)
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO(), policy=ALL)
    try:
        selectors = PageSelectors(
            item=".announce__item", title=".announce__link", date=".announce__date",
            timezone="Europe/Moscow",
        )  # fmt: skip
        url = server.url("/ru/foreign_policy/news/")
        feed = FeedSpec("mid-ru", url, kind="page", selectors=selectors.pairs())
        result = await poll(app, feed)
        assert (result.items, result.new) == (3, 3)
        articles = await stored(app, "mid-ru")
        assert [a.title for a in articles] == [
            "Брифинг официального представителя МИД России М.В.Захаровой, Москва, 30 ноября "
            "2025 года",
            "О телефонном разговоре Министра иностранных дел России С.В.Лаврова с "
            "Государственным секретарём США М.Рубио",
            "Заявление МИД России в связи с переговорами по украинскому урегулированию",
        ]
        assert articles[2].published == datetime(2025, 11, 30, 15, 40, tzinfo=UTC)  # 18:40 MSK
        assert articles[2].outlet == "Новости - Министерство иностранных дел Российской Федерации"
    finally:
        await app.close()


async def test_page_with_time_elements_and_a_base_link_counts_as_an_official_source(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    server.set_feed("/events/president/news", page("kremlin_ru.html"), content_type=HTML)
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO(), policy=ALL)
    try:
        feed = FeedSpec("kremlin", server.url("/events/president/news"), kind="page")
        result = await poll(app, feed)
        assert (result.items, result.new) == (4, 4)
        call = next(a for a in await stored(app, "kremlin") if a.link.endswith("/78604"))
        # the <time> inside the headline's link is its date, not part of its title
        assert call.title == "Телефонный разговор с Президентом США Дональдом Трампом"
        assert call.published == datetime(2025, 11, 30, 17, 15, tzinfo=UTC)
        assert (call.link, call.source) == (
            "http://kremlin.ru/events/president/news/78604", "kremlin.ru"
        )  # fmt: skip
        assert severity_of(call, 1).value == "normal"  # +1 official, no decision word
    finally:
        await app.close()


def test_official_telegram_channels_of_the_catalogue_count_towards_severity() -> None:
    def post(source: str) -> Article:
        return Article(
            id=source, title="Заявление о консультациях", link=f"https://{source}/1",
            published=NOW, source=source,
        )  # fmt: skip

    assert severity_of(post("t.me/mid_russia"), 1).value == "normal"
    assert severity_of(post("t.me/v_zelenskiy_official"), 1).value == "normal"
    assert severity_of(post("t.me/meduzalive"), 1).value == "low"  # an outlet, not official


async def test_hostile_pages_are_refused_like_hostile_feeds(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    huge = page("president_ua_1.html").replace(b"</body>", b"<p>" + b"x" * 300_000 + b"</p></body>")
    server.set_feed("/huge", huge, content_type=HTML, chunked=True)
    server.set_gzip_bomb("/bomb", decoded_size=64 * 2**20)
    server.set_hang("/endless")
    server.set_feed("/empty", b"<html><body><p>Nothing here</p></body></html>", content_type=HTML)
    limits = FetchLimits(max_body_bytes=200_000, max_decoded_bytes=200_000, total_timeout=2.0)
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO(), limits)
    try:
        found = {}
        for path, kind in (("/huge", "page"), ("/bomb", "telegram"), ("/endless", "page"),
                           ("/empty", "page")):  # fmt: skip
            result = await poll(app, FeedSpec(path.strip("/"), server.url(path), kind=kind))
            assert result.status == "error"
            found[path] = result.error or ""
        assert "over 200000 bytes" in found["/huge"]
        assert "over 200000 bytes" in found["/bomb"]
        assert "2 s" in found["/endless"]
        assert found["/empty"] == "no items found on the page by repeated link blocks"
    finally:
        await app.close()


def test_config_names_channels_pages_and_catalogue_sources(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        "feeds:\n"
        "  - {telegram: '@MID_Russia'}\n"
        "  - {catalogue: president-ua, id: pres}\n"
        "  - {catalogue: zelensky-tg, interval: 120}\n"
        "  - url: https://mid.ru/ru/foreign_policy/news/\n"
        "    kind: page\n"
        "    timezone: Europe/Moscow\n"
        "    selectors: {item: .announce__item, title: .announce__link, date: .announce__date}\n"
    )
    specs = [f.to_spec("t1") for f in load_config(config).feeds]
    assert [(s.kind, s.url, s.interval) for s in specs] == [
        ("telegram", "https://t.me/s/MID_Russia", 600),
        ("page", "https://www.president.gov.ua/news/all", 900),
        ("telegram", "https://t.me/s/V_Zelenskiy_official", 120),
        ("page", "https://mid.ru/ru/foreign_policy/news/", 600),
    ]
    assert specs[1].id == "pres" and specs[1].outlet == "Президент України: новини"
    assert PageSelectors.from_pairs(specs[3].selectors) == PageSelectors(
        ".announce__item", ".announce__link", "", ".announce__date", "Europe/Moscow"
    )


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("{telegram: MID_Russia, interval: 30}", "interval must be at least 60, not 30"),
        ("{telegram: 'bad name!'}", "is not a public Telegram channel name"),
        ("{catalogue: no-such-source}", "no source 'no-such-source' in the catalogue"),
        ("{url: 'https://x.org/', telegram: MID_Russia}", "not url and telegram"),
        ("{url: 'https://x.org/', kind: page, selectors: {item: 'li[['}}", "not valid CSS"),
        ("{url: 'https://x.org/', timezone: Europe/Kyiv}", "are for pages"),
        ("{url: 'https://x.org/', kind: page, timezone: Mars/Base}", "unknown timezone"),
    ],
)
def test_a_bad_source_entry_is_a_config_error_at_its_line(
    tmp_path: Path, entry: str, error: str
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"team: default\nfeeds:\n  - {entry}\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert f"{config}:3:" in str(info.value) and error in str(info.value)


def test_a_channel_spec_is_never_polled_more_than_once_a_minute() -> None:
    assert FeedSpec("c", "https://t.me/s/MID_Russia", 10, kind="telegram").interval == 60
    assert FeedSpec("f", "https://example.org/rss", 10).interval == 10


def test_sources_list_shows_the_catalogue_with_language_kind_and_official_mark() -> None:
    result = cli("sources", "list", "--kind", "telegram")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "LANG", "OFFICIAL", "TITLE", "—", "WHERE"]
    assert any(line.split()[:4] == ["mid-russia-tg", "telegram", "ru", "yes"] for line in lines)
    assert any(line.split()[:3] == ["meduza-tg", "telegram", "ru"] and "yes" not in line.split()
               for line in lines)  # fmt: skip
    assert all(line.split()[1] == "telegram" for line in lines[1:])
    kinds = {e.kind for e in catalogue()}
    assert kinds == {"rss", "telegram", "page", "search"}
    assert {e.lang for e in catalogue()} == {"en", "uk", "ru"}


async def test_chat_adds_a_catalogue_source_and_explains_bad_channel_names(
    redis_client: Any,
) -> None:
    async with (
        FeedServer() as srv,
        Fetcher(GuardPolicy(allow_networks=("127.0.0.1/32",))) as fetcher,
    ):
        srv.set_feed("/search", (REPO / "tests" / "data" / "bbc.xml").read_bytes())
        service = CommandService(
            redis_client, fetcher=fetcher, news_search_url=srv.url("/search") + "?q={query}"
        )
        added = await service.handle_text(ADMIN, "feeds add --catalogue reuters-search")
        assert not added.error, added.text
        (feed,) = await FeedStore(redis_client).all()
        assert feed.url == srv.url("/search") + "?q=site%3Areuters.com+Ukraine+peace"
        assert (feed.outlet, feed.interval, feed.kind) == ("Reuters (news search)", 900, "rss")

        unknown = await service.handle_text(ADMIN, "feeds add --catalogue reuters")
        assert unknown.error and "did you mean reuters-search" in unknown.text
        bad = await service.handle_text(ADMIN, "feeds add tg:no")
        assert bad.error and "'tg:no' is not a public Telegram channel name" in bad.text
    assert chat_source("tg:MID_Russia") == ChatSource("https://t.me/s/MID_Russia", "telegram")
    assert chat_source("https://t.me/MID_Russia").url == "https://t.me/s/MID_Russia"
    assert chat_source("<https://example.org/rss|example>") == ChatSource("https://example.org/rss")


def test_a_preview_page_stuffed_with_posts_is_read_only_to_its_newest_hundred() -> None:
    one = page("tg_mid_russia_1.html")
    marker = b'          <div class="tgme_widget_message_wrap'
    start = one.index(marker)
    post = one[start : one.index(marker, start + 1)]  # the first post, 51001
    end = one.rindex(b"        </section>")
    posts = b"".join(
        post.replace(b"MID_Russia/51001", f"MID_Russia/{n}".encode()) for n in range(1, 5001)
    )
    parsed = parse_channel(one[:start] + posts + one[end:], HTML)
    assert [e.guid for e in parsed.entries] == [f"MID_Russia/{n}" for n in range(4901, 5001)]
