"""The command service against a real Redis, real sample news and a real feed server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peacewatch.bot.replies import Caller, Reply
from peacewatch.errors import InputError
from peacewatch.pipeline.process import Pipeline
from peacewatch.services.commands import CommandService
from peacewatch.services.parsing import parse_channel, parse_duration, split_options
from peacewatch.services.teamfeeds import chat_feed_id
from peacewatch.store import keys
from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.store.teams import TeamStore
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.guard import GuardPolicy
from tests.fakes.feed_server import FeedServer
from tests.story_driver import Ingest
from tests.test_history import sample_articles

NOW = datetime(2025, 8, 20, 12, 0, tzinfo=UTC)
ADMIN = Caller("slack", "slack:T1", "U1", "slack:C1", platform_admin=True)
MEMBER = Caller("slack", "slack:T1", "U2", "slack:C1")
OTHER = Caller("discord", "discord:4455", "77", "discord:998877665544", platform_admin=True)
FEED = (Path(__file__).parent.parent / "peacewatch" / "demo" / "feeds" / "bbc.xml").read_bytes()


def clock() -> datetime:
    return NOW


def check_limits(reply: Reply) -> None:
    assert reply.title
    assert len(reply.items) <= 10
    for item in reply.items:
        assert item.title and len(item.title) <= 200
        assert len(item.text) <= 300 and len(item.meta) <= 300


@pytest.fixture
async def service(redis_client: aioredis.Redis) -> CommandService:
    return CommandService(redis_client, clock=clock)


async def ingest_samples(redis: aioredis.Redis) -> Pipeline:
    ingest = Ingest(redis, clock=clock)
    await ingest.ingest(sorted(sample_articles(), key=lambda a: a.published))
    return ingest.pipeline


# Rules -----------------------------------------------------------------------------------------
async def test_rules_add_list_remove_for_one_team_only(service: CommandService) -> None:
    added = await service.handle_text(
        ADMIN, 'rules add witkoff-donbas Witkoff AND (Donbas OR "security guarantees") <#C9|news>'
    )
    assert not added.error, added.text
    listed = await service.handle_text(ADMIN, "rules list")
    assert [i.title for i in listed.items] == ["witkoff-donbas"]
    assert listed.items[0].text == 'Witkoff AND (Donbas OR "security guarantees")'
    assert "slack:C9" in listed.items[0].meta

    # Another team (on another platform) sees nothing and cannot change the first team's rule.
    assert (await service.rules_list(OTHER)).items == ()
    refused = await service.rules_remove(OTHER, "witkoff-donbas")
    assert refused.error
    assert len((await service.rules_list(ADMIN)).items) == 1

    removed = await service.handle_text(ADMIN, "rules remove witkoff-donbas")
    assert not removed.error
    assert (await service.rules_list(ADMIN)).items == ()


async def test_a_query_that_does_not_compile_is_refused_with_its_column(
    service: CommandService,
) -> None:
    reply = await service.handle_text(ADMIN, "rules add bad Witkoff AND (Donbas")
    assert reply.error and reply.ephemeral
    assert "1:20: expected ')' after 'Donbas'" in reply.text
    assert reply.footer  # a hint of what to type
    unknown = await service.rules_add(ADMIN, "bad", "actor:nobody")
    assert unknown.error and "unknown actor" in unknown.text
    assert (await service.rules_list(ADMIN)).items == ()


async def test_members_cannot_change_anything(service: CommandService) -> None:
    await service.rules_add(ADMIN, "w", "Witkoff")
    for text in (
        "rules add x Lavrov",
        "rules remove w",
        "mute w 2h",
        "unmute w",
        "subscribe w slack:C5",
        "feeds add https://example.org/rss",
        "feeds remove f1",
        "quiet 22:00-07:00",
        "timezone Europe/Kyiv",
        "admins add @U3",
    ):
        reply = await service.handle_text(MEMBER, text)
        assert reply.error and reply.ephemeral, text
        assert "Only workspace admins" in reply.text
    rules = await service.rules_list(MEMBER)
    assert [(i.title, i.text) for i in rules.items] == [("w", "Witkoff")]
    assert "muted" not in rules.items[0].meta


async def test_team_admin_list_grants_rights(service: CommandService) -> None:
    assert not await service.is_admin(MEMBER)
    added = await service.handle_text(ADMIN, "admins add <@U2|maria>")
    assert not added.error
    assert await service.is_admin(MEMBER)
    assert not await service.is_admin(Caller("slack", "slack:T9", "U2", "slack:C1"))
    listed = await service.handle_text(MEMBER, "admins list")
    assert "U2" in listed.text
    await service.handle_text(ADMIN, "admins remove U2")
    assert not await service.is_admin(MEMBER)


async def test_channels_are_parsed_and_subscribe_appends(service: CommandService) -> None:
    await service.rules_add(ADMIN, "w", "Witkoff")  # the caller's own channel
    await service.handle_text(ADMIN, "subscribe w slack:C0123ABCD")
    await service.handle_text(ADMIN, "rules subscribe w <#C777>")
    bare = await service.handle_text(ADMIN, "subscribe w #general")
    assert bare.error and "id" in bare.text
    rule = await TeamStore(service._redis).rule("slack:T1", "w")
    assert rule is not None
    assert rule.channels == ["slack:C1", "slack:C0123ABCD", "slack:C777"]
    assert parse_channel("<#112233445566>", "discord") == "discord:112233445566"
    assert parse_channel("<#C1|x>", "slack") == "slack:C1"


async def test_mute_defaults_to_24h_and_shows_in_list(service: CommandService) -> None:
    await service.rules_add(ADMIN, "w", "Witkoff")
    await service.rules_add(ADMIN, "l", "Lavrov")
    await service.handle_text(ADMIN, "mute w")
    await service.handle_text(ADMIN, "rules mute l for 2h")
    mutes = await TeamStore(service._redis).muted_until("slack:T1")
    assert mutes["w"] == (NOW + timedelta(hours=24)).timestamp()
    assert mutes["l"] == (NOW + timedelta(hours=2)).timestamp()
    listed = await service.rules_list(ADMIN)
    assert all("muted until" in i.meta for i in listed.items)
    assert await TeamStore(service._redis).muted_until("discord:4455") == {}
    await service.handle_text(ADMIN, "unmute w")
    assert "w" not in await TeamStore(service._redis).muted_until("slack:T1")
    missing = await service.handle_text(ADMIN, "mute nope 2h")
    assert missing.error and "no rule" in missing.text


# Questions -------------------------------------------------------------------------------------
async def test_search_finds_stored_history_newest_first(service: CommandService) -> None:
    await ingest_samples(service._redis)
    reply = await service.handle_text(ADMIN, "search Witkoff --since 30d")
    check_limits(reply)
    assert not reply.error
    assert reply.items and all("Witkoff" in i.text + i.title for i in reply.items)
    week = await service.handle_text(ADMIN, 'search "security guarantees" OR Lavrov')
    assert any("matched: security guarantees" in i.meta for i in week.items)
    assert any("matched: Lavrov" in i.meta for i in week.items)
    # Articles of one story are one item that says how many of them matched.
    broad = await service.handle_text(
        ADMIN, 'search Witkoff OR Zelensky OR Putin OR "security guarantees" OR Lavrov --since 30d'
    )
    sizes = [
        int(found.group(1))
        for item in broad.items
        if (found := re.search(r"(\d+) articles in this story", item.meta))
    ]
    assert sizes and all(size >= 2 for size in sizes)
    nothing = await service.search(ADMIN, "Witkoff", since="1d")
    assert not nothing.items and "Nothing matched" in nothing.title
    bad = await service.handle_text(ADMIN, "search Witkoff AND (Donbas")
    assert bad.error and "1:20" in bad.text


async def test_search_is_paged(service: CommandService) -> None:
    await ingest_samples(service._redis)
    first = await service.search(ADMIN, "Trump OR Putin OR Ukraine", since="365d")
    assert "capped" in first.title  # the team's retention (90 days) bounds questions
    total = int(first.title.split()[0])
    if total > 10:
        assert "--page 2" in first.footer
    second = await service.handle_text(
        ADMIN, "search Trump OR Putin OR Ukraine --since 90d --page 2"
    )
    assert not second.error
    assert {i.link for i in second.items}.isdisjoint({i.link for i in first.items})


async def test_actor_shows_the_sentence_that_names_them(service: CommandService) -> None:
    await ingest_samples(service._redis)
    reply = await service.handle_text(ADMIN, "actor Dmitriev --since 30d")
    check_limits(reply)
    assert reply.items
    assert all("Dmitriev" in i.text for i in reply.items)
    assert "Kirill Dmitriev met U.S. envoy Steve Witkoff" in " ".join(i.text for i in reply.items)


async def test_rules_test_backtests_before_committing(service: CommandService) -> None:
    await ingest_samples(service._redis)
    reply = await service.handle_text(ADMIN, "rules test Witkoff OR Dmitriev --since 30d")
    check_limits(reply)
    assert reply.title.startswith("Backtest: ")
    assert int(reply.title.split()[1]) >= 2
    assert reply.items
    assert (await service.rules_list(ADMIN)).items == ()  # nothing was committed


async def test_latest_and_digest_answer_from_the_teams_alerts(service: CommandService) -> None:
    await service.rules_add(ADMIN, "talks", "Putin OR Witkoff OR Lavrov OR Zelensky")
    await service.rules_add(ADMIN, "guarantees", '"security guarantees"')
    await ingest_samples(service._redis)
    latest = await service.handle_text(ADMIN, "latest 3")
    check_limits(latest)
    assert len(latest.items) == 3
    assert "latest 10" in latest.footer
    digest = await service.handle_text(ADMIN, "digest 7d")
    check_limits(digest)
    assert digest.items
    assert all(i.text for i in digest.items)  # each with its summary
    assert any("guarantees" in i.meta for i in digest.items)
    # Another team has no alerts: its questions show nothing of the first team's.
    assert (await service.latest(OTHER)).items == ()
    assert (await service.digest(OTHER, "7d")).items == ()


async def test_status_reports_feeds_queue_and_feedback(service: CommandService) -> None:
    feeds = FeedStore(service._redis)
    await feeds.put(FeedSpec(id="bbc", url="https://feeds.bbci.co.uk/news/world/rss.xml"))
    await feeds.record_ok("bbc", NOW, items=40, new=3)
    # a feed another team added from chat is that team's, not this one's
    secret = chat_feed_id("discord:4455", "https://x.example/rss")
    await feeds.put(FeedSpec(id=secret, url="https://x.example/rss", team_id="discord:4455"))
    await TeamStore(service._redis).add_feed("discord:4455", secret)
    await service.feedback(ADMIN, "story1", "not_relevant", alert_id="a1")
    await service.rules_add(ADMIN, "w", "Witkoff")
    reply = await service.handle_text(ADMIN, "status")
    assert [i.title for i in reply.items] == ["https://feeds.bbci.co.uk/news/world/rss.xml (bbc)"]
    assert "items seen 40" in reply.items[0].meta
    assert "Rules: 1" in reply.text and "not relevant: 1" in reply.text
    assert "Queue:" in reply.text


async def test_help_lists_every_subcommand(service: CommandService) -> None:
    reply = await service.handle_text(MEMBER, "help")
    for word in (
        "latest", "search", "actor", "digest", "status", "rules add", "rules list", "remove",
        "rules test", "mute", "unmute", "subscribe", "feeds add", "feeds list", "trend", "quiet",
        "timezone", "admins",
    ):  # fmt: skip
        assert word in reply.text, word
    assert (await service.handle_text(MEMBER, "")).title == reply.title
    assert (await service.digest(MEMBER, "soon")).error  # direct calls answer bad input too
    unknown = await service.handle_text(MEMBER, "frobnicate")
    assert unknown.error and "help" in unknown.footer  # the hint, once


async def test_trend_is_a_png_chart(service: CommandService) -> None:
    await ingest_samples(service._redis)
    reply = await service.handle_text(ADMIN, "trend Witkoff OR Putin 30d")
    assert not reply.error, reply.text
    assert reply.image is not None and reply.image.startswith(b"\x89PNG")
    assert reply.image_name.endswith(".png")


# Feeds -----------------------------------------------------------------------------------------
async def test_feeds_add_fetches_parses_and_stores_for_the_team(
    redis_client: aioredis.Redis,
) -> None:
    changed: list[int] = []

    async def on_change() -> None:
        changed.append(1)

    async with (
        FeedServer() as server,
        Fetcher(GuardPolicy(allow_networks=("127.0.0.1/32",))) as fetcher,
    ):
        server.set_feed("/rss", FEED)
        server.set_feed("/page", b"<html><body>Not a feed</body></html>", content_type="text/html")
        service = CommandService(
            redis_client, fetcher=fetcher, clock=clock, on_feeds_changed=on_change
        )
        added = await service.handle_text(ADMIN, f"feeds add {server.url('/rss')}")
        assert not added.error, added.text
        assert "BBC" in added.title
        stored = await FeedStore(redis_client).all()
        assert [(f.url, f.team_id) for f in stored] == [(server.url("/rss"), "slack:T1")]
        assert changed == [1]
        listed = await service.feeds_list(ADMIN)
        assert [i.link for i in listed.items] == [server.url("/rss")]
        assert (await service.feeds_list(OTHER)).items == ()
        assert (await service.feeds_remove(OTHER, stored[0].id)).error

        html = await service.feeds_add(ADMIN, server.url("/page"))
        assert html.error and "HTML page, not a feed" in html.text and "links no feed" in html.text
        removed = await service.handle_text(ADMIN, f"feeds remove {stored[0].id}")
        assert not removed.error
        assert await FeedStore(redis_client).all() == []
        assert changed == [1, 1]


async def test_feeds_add_search_builds_a_news_search_feed(redis_client: aioredis.Redis) -> None:
    async with (
        FeedServer() as server,
        Fetcher(GuardPolicy(allow_networks=("127.0.0.1/32",))) as fetcher,
    ):
        server.set_feed("/rss/search", FEED)
        service = CommandService(
            redis_client,
            fetcher=fetcher,
            clock=clock,
            news_search_url=server.url("/rss/search") + "?q={query}&hl=en-US",
        )
        reply = await service.handle_text(ADMIN, 'feeds add --search "Witkoff Dmitriev"')
        assert not reply.error, reply.text
        (feed,) = await FeedStore(redis_client).all()
        assert feed.url.endswith("/rss/search?q=Witkoff+Dmitriev&hl=en-US")
        assert "Witkoff Dmitriev" in feed.outlet
    default = CommandService(redis_client)
    assert default._news_search("Witkoff Dmitriev") == (
        "https://news.google.com/rss/search?q=Witkoff+Dmitriev&hl=en-US&gl=US&ceid=US:en"
    )


async def test_feeds_add_refuses_private_addresses_by_default(
    redis_client: aioredis.Redis,
) -> None:
    async with FeedServer() as server:
        server.set_feed("/rss", FEED)
        service = CommandService(redis_client, clock=clock)  # the default guard policy
        try:
            reply = await service.feeds_add(ADMIN, server.url("/rss"))
        finally:
            await service.close()
        assert reply.error and "not allowed" in reply.text
        assert server.requests == []
        assert await FeedStore(redis_client).all() == []


# Feedback, settings, autocomplete -------------------------------------------------------------
async def test_feedback_mutes_a_story_in_the_channel(service: CommandService) -> None:
    reply = await service.feedback(ADMIN, "story42", "mute_story")
    assert not reply.error
    key = keys.story_muted("slack:T1", "slack:C1", "story42")
    assert 13 * 86400 < await service._redis.ttl(key) <= 14 * 86400
    await service.feedback(ADMIN, "story42", "not_relevant", alert_id="alert-9")
    assert await TeamStore(service._redis).not_relevant("slack:T1") == ["alert-9"]
    assert await TeamStore(service._redis).not_relevant("discord:4455") == []


async def test_quiet_hours_and_time_zone_commands(service: CommandService) -> None:
    reply = await service.handle_text(ADMIN, "quiet 22:00-07:00 Europe/Kyiv")
    assert not reply.error, reply.text
    settings_a = await TeamStore(service._redis).settings("slack:T1")
    assert (settings_a.quiet_start, settings_a.quiet_end, settings_a.timezone) == (
        "22:00",
        "07:00",
        "Europe/Kyiv",
    )
    assert (await TeamStore(service._redis).settings("discord:4455")).quiet_start == ""
    bad = await service.handle_text(ADMIN, "timezone Mars/Olympus")
    assert bad.error and "Europe/Kyiv" in bad.text
    await service.handle_text(ADMIN, "timezone America/New_York")
    assert (await TeamStore(service._redis).settings("slack:T1")).timezone == "America/New_York"
    await service.handle_text(ADMIN, "quiet off")
    assert (await TeamStore(service._redis).settings("slack:T1")).quiet_start == ""
    assert (await service.handle_text(ADMIN, "quiet 25:00-07:00")).error


async def test_autocomplete(service: CommandService) -> None:
    await service.rules_add(ADMIN, "witkoff", "Witkoff")
    await service.rules_add(ADMIN, "lavrov", "Lavrov")
    assert await service.complete(ADMIN, "rule", "wi") == ["witkoff"]
    assert await service.complete(OTHER, "rule", "") == []
    entities = await service.complete(ADMIN, "entity", "")
    assert len(entities) == 25
    assert "lavrov" in await service.complete(ADMIN, "entity", "lav")


# Parsing and robustness ------------------------------------------------------------------------
def test_durations_and_options() -> None:
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("2 hours") == timedelta(hours=2)
    for bad in ("0h", "7x", "", "400d", "-1d"):
        with pytest.raises(InputError):
            parse_duration(bad)
    options = split_options("Witkoff -opinion --since 30d --page 2 <#C1>", channel=True)
    assert (options.text, options.since, options.page, options.channel) == (
        "Witkoff -opinion",
        "30d",
        2,
        "<#C1>",
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.one_of(
        st.text(max_size=120),
        st.lists(
            st.sampled_from(
                [
                    "rules",
                    "add",
                    "list",
                    "remove",
                    "test",
                    "mute",
                    "for",
                    "2h",
                    "search",
                    "feeds",
                    "--search",
                    "--since",
                    "--page",
                    "0",
                    "7d",
                    "<#C1>",
                    "#x",
                    "(",
                    ")",
                    '"',
                    "actor",
                    "digest",
                    "at",
                    "quiet",
                    "22:00-07:00",
                    "off",
                    "timezone",
                    "admins",
                    "subscribe",
                    "latest",
                    "999999",
                    "trend",
                    "status",
                    "help",
                    "AND",
                    "NEAR/5",
                    "Witkoff",
                    "retention",
                    "-",
                    "*",
                    "slack:",
                    "discord:1",
                ]
            ),
            max_size=8,
        ).map(" ".join),
    )
)
async def test_handle_text_always_answers(redis_client: aioredis.Redis, text: str) -> None:
    # A guard that refuses every scheme: fuzzed "feeds add" never leaves the machine.
    async with Fetcher(GuardPolicy(allowed_schemes=("none",))) as fetcher:
        service = CommandService(redis_client, fetcher=fetcher, clock=clock)
        await answers_anything(service, text)


async def answers_anything(service: CommandService, text: str) -> None:
    member = await service.handle_text(MEMBER, text)
    assert isinstance(member, Reply) and member.title
    admin = await service.handle_text(ADMIN, text)
    assert isinstance(admin, Reply) and admin.title
    check_limits(admin)
