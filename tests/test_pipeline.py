"""The pipeline end to end: feeds served over HTTP on 127.0.0.1 to the console sink."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from peacewatch.models import Article
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.fetch import FetchLimits
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, UNRELATED, Clock, dated, open_app, redis_url, rss

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
RULE = RuleSpec(id="envoys", query="Witkoff OR Dmitriev", channels=["console:desk"])


def headlines(out: io.StringIO) -> list[str]:
    """Alert headlines printed by the console sink, in order."""
    lines = out.getvalue().splitlines()
    return [line.split("] ", 1)[1] for line in lines if line.startswith("console-")]


def one_event_two_outlets(
    mt_summary: str, bbc_summary: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Moscow Times and the BBC on the Witkoff-Kushner visit to Putin, an hour apart."""
    first = {
        "title": "Witkoff and Kushner Meet With Putin to Discuss Trump's Ukraine Peace Plan",
        "summary": mt_summary,
        "link": "https://www.themoscowtimes.com/2025/12/02/a91303",
        "published": NOW - timedelta(hours=2),
    }
    second = {
        "title": "Witkoff and Kushner meet Putin in Moscow to discuss Trump's Ukraine peace plan",
        "summary": bbc_summary,
        "link": "https://www.bbc.com/news/articles/c0example",
        "published": NOW - timedelta(hours=1),
    }
    return first, second


@pytest.fixture
async def server() -> Any:
    async with FeedServer() as srv:
        yield srv


async def test_poll_alerts_then_one_new_item_then_conditional_304(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    # three items: one 10 h old (before the first poll's 6 h window), two recent, one unrelated
    items = dated(SAMPLE_ITEMS[:3], NOW - timedelta(hours=10), timedelta(hours=4))
    unrelated = {**UNRELATED, "published": NOW - timedelta(minutes=30)}
    server.set_feed("/feed.xml", rss([*items, unrelated]))
    out = io.StringIO()
    clock = Clock(NOW)
    app = await open_app(redis_url(redis_target), tmp_path, clock, out)
    try:
        await app.teams.put_rule("t1", RULE)
        feed = FeedSpec("f1", server.url("/feed.xml"), 600, "Test outlet", "t1")
        await app.feeds.put(feed)

        first = await app.poller.poll(feed)
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert first.status == "ok" and first.items == 4 and first.new == 4
        # the 10-hour-old item is recorded but, on a feed's first poll, not alerted
        assert headlines(out) == [items[1]["title"], items[2]["title"]]
        assert await app.articles.count() == 4

        newer = {**SAMPLE_ITEMS[3], "published": NOW + timedelta(minutes=5)}
        server.set_feed("/feed.xml", rss([*items, unrelated, newer]))
        clock.now = NOW + timedelta(minutes=10)
        second = await app.poller.poll(feed)
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert second.new == 1 and app.pipeline.stats.alerts == 3
        assert headlines(out)[-1] == newer["title"]
        assert len(headlines(out)) == 3

        third = await app.poller.poll(feed)
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert third.status == "not_modified"
        last = server.requests_for("/feed.xml")[-1]
        assert last.headers.get("If-None-Match"), "the poll was not conditional"
        assert len(headlines(out)) == 3
        health = await app.feeds.health("f1")
        assert health["items_seen"] == "9" and health["not_modified"] == "1"
    finally:
        await app.close()


async def test_restart_on_same_data_dir_never_repeats_an_alert(
    server: FeedServer, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS, NOW - timedelta(hours=3), timedelta(minutes=30))
    # no ETag: every poll gets the whole feed again, so only the stored claims stop repeats
    server.set_feed("/feed.xml", rss(items), etag=False)
    feed = FeedSpec("f1", server.url("/feed.xml"), 600, "Test outlet", "t1")
    out = io.StringIO()
    app = await open_app(None, tmp_path, Clock(NOW), out)  # the embedded Redis, on disk
    try:
        await app.teams.put_rule("t1", RULE)
        await app.feeds.put(feed)
        await app.poller.poll(feed)
        await app.assigner.drain()
        await app.dispatcher.drain()
    finally:
        await app.close()
    before = len(headlines(out))
    assert before == len(items)

    # the same items in a body that differs (a body seen before would not even be parsed)
    server.set_feed("/feed.xml", rss(items, title="Test feed, again"), etag=False)
    app = await open_app(None, tmp_path, Clock(NOW + timedelta(minutes=5)), out)
    try:
        assert [f.id for f in await app.feeds.all()] == ["f1"]  # state survived the restart
        result = await app.poller.poll(feed)
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert result.status == "ok" and result.new == 0 and app.pipeline.stats.alerts == 0
        assert len(headlines(out)) == before
    finally:
        await app.close()


async def test_broken_feeds_leave_the_others_alerts_intact(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:2], NOW - timedelta(hours=1), timedelta(minutes=10))
    server.set_feed("/good.xml", rss(items))
    server.set_feed("/html", b"<html><body><p>Not a feed</p></body></html>", "text/html")
    server.set_status("/500", 500)
    server.set_hang("/hang")
    out = io.StringIO()
    limits = FetchLimits(total_timeout=1.0, connect_timeout=1.0)
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), out, limits=limits)
    try:
        await app.teams.put_rule("t1", RULE)
        feeds = [
            FeedSpec(name, server.url(path), 600, "", "t1")
            for name, path in [("good", "/good.xml"), ("html", "/html"), ("err", "/500"),
                               ("hang", "/hang")]
        ]  # fmt: skip
        results = await asyncio.gather(*(app.poller.poll(f) for f in feeds))
        await app.assigner.drain()
        await app.dispatcher.drain()
        status = {r.feed_id: r for r in results}
        assert status["good"].status == "ok" and app.pipeline.stats.alerts == 2
        assert headlines(out) == [i["title"] for i in items]
        assert status["html"].status == "error" and "not a feed" in (status["html"].error or "")
        assert status["err"].status == "error" and "500" in (status["err"].error or "")
        assert status["hang"].status == "error"
        for name in ("html", "err", "hang"):
            health = await app.feeds.health(name)
            assert health["failures"] == "1" and health["last_error"]
        assert "last_error" not in await app.feeds.health("good")
    finally:
        await app.close()


async def test_scheduler_runs_one_coalesced_job_per_feed(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=10))
    server.set_feed("/a.xml", rss(items))
    server.set_feed("/b.xml", rss(items))
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO())
    try:
        done: list[str] = []
        finished = asyncio.Event()

        async def on_result(result: Any) -> None:
            done.append(result.feed_id)
            if len(done) == 2:
                finished.set()

        app.scheduler.on_result = on_result
        for name in ("a", "b"):
            await app.feeds.put(FeedSpec(name, server.url(f"/{name}.xml"), 900, "", "t1"))
        await app.start()
        assert app.scheduler.job_ids() == ["feed:a", "feed:b"]
        for name in ("a", "b"):  # first polls are spread over the interval: bring them forward
            assert await app.scheduler.run_now(name)
        job = app.scheduler._scheduler.get_job("feed:a")
        assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 900
        await asyncio.wait_for(finished.wait(), 10)
        assert sorted(done) == ["a", "b"]
        # the lease stops a second replica (or a second run) from polling in the same interval
        assert not await app.feeds.acquire_lease("a", "other-replica", 60)
    finally:
        await app.close()


async def test_rules_recompile_when_a_team_changes_them(redis_client: Any) -> None:
    from peacewatch.pipeline.engines import EngineProvider
    from peacewatch.store.teams import TeamStore

    teams = TeamStore(redis_client)
    provider = EngineProvider(teams)
    await teams.put_rule("t1", RULE)
    first = await provider.engine()
    assert first is await provider.engine()  # unchanged rules: no recompile
    await teams.put_rule("t1", RuleSpec(id="lavrov", query="Lavrov", channels=["console:x"]))
    second = await provider.engine()
    assert second is not first and second.rule_count == 2
    await teams.remove_rule("t1", "envoys")
    assert (await provider.engine()).rule_count == 1


async def test_quiet_hours_hold_alerts_until_housekeeping_after_they_end(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    from peacewatch.bot.replies import Caller

    night = datetime(2026, 1, 6, 23, 0, tzinfo=UTC)
    items = dated(SAMPLE_ITEMS[:1], night - timedelta(minutes=30), timedelta(minutes=1))
    server.set_feed("/feed.xml", rss(items))
    out = io.StringIO()
    clock = Clock(night)
    app = await open_app(redis_url(redis_target), tmp_path, clock, out)
    try:
        admin = Caller("cli", "t1", "u1", "console:desk", platform_admin=True)
        reply = await app.commands.quiet(admin, "22:00-07:00 UTC")
        assert not reply.error, reply.text
        await app.teams.put_rule("t1", RULE)
        feed = FeedSpec("f1", server.url("/feed.xml"), 600, "", "t1")
        assert (await app.poller.poll(feed)).new == 1
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert app.pipeline.stats.alerts == 1 and headlines(out) == []  # held: quiet hours
        await app.housekeeping()
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert headlines(out) == []  # still night
        clock.now = datetime(2026, 1, 7, 7, 1, tzinfo=UTC)
        await app.housekeeping()
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert headlines(out) == [items[0]["title"]]
    finally:
        await app.close()


PAGE = """<!doctype html><html><head><title>Talks</title></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Envoys meet in Miami</h1>
<p>Negotiators from both sides met in Miami on Sunday for a second day of talks on the draft
peace framework, officials said.</p>
<p>Kirill Dmitriev, the Kremlin's investment envoy, told reporters the discussions had been
constructive and would continue in the coming days.</p>
<p>European governments have asked to see the full text of the document before any meeting of
leaders is scheduled.</p></article>
<footer>Copyright. Subscribe to our newsletter.</footer></body></html>"""


async def test_full_text_feed_matches_on_the_article_page(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    pytest.importorskip("trafilatura")
    teaser = {
        "title": "Envoys meet in Miami",
        "summary": "Talks continue.",
        "link": server.url("/article.html"),
        "published": NOW - timedelta(minutes=20),
    }
    server.set_feed("/feed.xml", rss([teaser]))
    server.set_feed("/article.html", PAGE.encode(), "text/html")
    out = io.StringIO()
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), out)
    try:
        await app.teams.put_rule("t1", RULE)  # Dmitriev is named only on the page
        feed = FeedSpec("f1", server.url("/feed.xml"), 600, "", "t1", full_text=True)
        result = await app.poller.poll(feed)
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert result.new == 1 and app.pipeline.stats.alerts == 1
        assert "Kirill Dmitriev" in out.getvalue()  # the summary comes from the page text
        assert len(server.requests_for("/article.html")) == 1
        await app.poller.poll(feed)  # a known item's page is not fetched again
        assert len(server.requests_for("/article.html")) == 1
    finally:
        await app.close()


async def test_second_outlet_becomes_a_followup_that_says_what_it_adds(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    first, second = one_event_two_outlets(
        "Trump's special envoy and son-in-law are expected to personally seek "
        "Putin's buy-in on the White House's peace framework.",
        "The talks in the Kremlin lasted five hours, Yuri Ushakov said afterwards. "
        "Trump's special envoy and son-in-law sought Putin's buy-in on the peace framework.",
    )
    server.set_feed("/mt.xml", rss([first]))
    server.set_feed("/bbc.xml", rss([second]))
    out = io.StringIO()
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), out)
    try:
        await app.teams.put_rule("t1", RULE)
        await app.poller.poll(FeedSpec("mt", server.url("/mt.xml"), 600, "MT", "t1"))
        await app.poller.poll(FeedSpec("bbc", server.url("/bbc.xml"), 600, "BBC", "t1"))
        await app.assigner.drain()
        await app.dispatcher.drain()
        text = out.getvalue()
        assert headlines(out)[0] == first["title"]
        assert "(2 outlets now)" in text
        assert "Adds: The talks in the Kremlin lasted five hours" in text
        assert "[thread of console-1]" in text
    finally:
        await app.close()


async def test_an_article_queued_before_a_stop_is_finished_after_the_restart(
    server: FeedServer, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=1))
    server.set_feed("/feed.xml", rss(items))
    feed = FeedSpec("f1", server.url("/feed.xml"), 600, "", "t1")
    out = io.StringIO()
    app = await open_app(None, tmp_path, Clock(NOW), out)  # the embedded Redis, on disk
    try:
        await app.teams.put_rule("t1", RULE)
        await app.feeds.put(feed)
        first = await app.poller.poll(feed)
        assert first.new == 1  # queued on the ingest stream: seen, not yet placed
    finally:
        await app.close()  # stopped before the story assigner took it
    assert headlines(out) == []

    app = await open_app(None, tmp_path, Clock(NOW), out)
    try:
        assert await app.assigner.drain() == 1
        await app.dispatcher.drain()
        assert headlines(out) == [items[0]["title"]]
        again = await app.poller.poll(feed)
        assert again.status == "not_modified"
        assert await app.assigner.drain() == 0
    finally:
        await app.close()


async def test_housekeeping_trims_indexes_past_the_retention(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    from peacewatch.store import keys

    items = dated(SAMPLE_ITEMS[:2], NOW - timedelta(hours=1), timedelta(minutes=1))
    server.set_feed("/feed.xml", rss(items))
    clock = Clock(NOW)
    app = await open_app(redis_url(redis_target), tmp_path, clock, io.StringIO())
    try:
        await app.teams.put_rule("t1", RULE)
        await app.poller.poll(FeedSpec("f1", server.url("/feed.xml"), 600, "", "t1"))
        await app.assigner.drain()
        await app.housekeeping()
        assert await redis_client.zcard(keys.articles_by_time()) == 2
        assert await redis_client.zcard(keys.team_alerts("t1")) == 2
        clock.now = NOW + timedelta(days=91)
        app.pruned_at = None
        await app.housekeeping()
        assert await redis_client.zcard(keys.articles_by_time()) == 0
        assert await redis_client.zcard(keys.team_alerts("t1")) == 0
    finally:
        await app.close()


async def test_min_sources_alert_fires_when_a_second_outlet_joins_the_story(
    server: FeedServer, redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    # the same event; the second does not name Donbas, so it does not match the rule itself
    first, second = one_event_two_outlets(
        "Trump's special envoy and son-in-law are expected to personally seek "
        "Putin's buy-in on the White House's peace framework in Donbas talks.",
        "Trump's special envoy and son-in-law sought Putin's buy-in on the peace "
        "framework, the Kremlin said.",
    )
    server.set_feed("/mt.xml", rss([first]))
    server.set_feed("/bbc.xml", rss([second]))
    out = io.StringIO()
    app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), out)
    try:
        rule = RuleSpec(
            id="donbas", query="Witkoff AND Donbas", channels=["console:desk"], min_sources=2
        )
        await app.teams.put_rule("t1", rule)
        await app.poller.poll(FeedSpec("mt", server.url("/mt.xml"), 600, "MT", "t1"))
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert app.pipeline.stats.alerts == 0 and headlines(out) == []  # one outlet: it waits
        two = await app.poller.poll(FeedSpec("bbc", server.url("/bbc.xml"), 600, "BBC", "t1"))
        await app.assigner.drain()
        await app.dispatcher.drain()
        assert two.new == 1 and app.pipeline.stats.alerts == 1
        assert headlines(out) == [first["title"]]
        assert "2 outlets" in out.getvalue()
    finally:
        await app.close()


async def test_an_escalating_story_replies_in_its_thread_shown_in_the_channel(
    redis_client: Any,
) -> None:
    from peacewatch.models import AlertKind
    from peacewatch.store.codec import alert_from_json
    from peacewatch.store.teams import TeamStore
    from tests.story_driver import Ingest

    first, second = one_event_two_outlets(
        "Trump's special envoy and son-in-law are expected to personally seek "
        "Putin's buy-in on the White House's peace framework.",
        "The talks in the Kremlin lasted five hours, Yuri Ushakov said afterwards.",
    )
    articles = [
        Article(f"a{n}", item["title"], item["link"], item["published"],
                urlsplit(item["link"]).hostname or "", summary=item["summary"])
        for n, item in enumerate((first, second))
    ]  # fmt: skip
    teams = TeamStore(redis_client)
    await teams.put_rule("t1", RULE)
    # the Kremlin's account makes the story urgent for this desk
    await teams.put_rule(
        "t1", RuleSpec(id="kremlin", query="Ushakov", channels=["console:desk"], severity="high")
    )
    ingest = Ingest(redis_client, clock=lambda: NOW)
    await ingest.ingest(articles[:1])
    await ingest.ingest(articles[1:])
    alerts = [alert_from_json(t) for t in reversed(await teams.recent_alerts("t1"))]
    assert [a.kind for a in alerts] == [AlertKind.NEW, AlertKind.FOLLOWUP]
    root, escalation = alerts
    assert escalation.story_id == root.story_id and escalation.severity.value == "high"
    assert escalation.extra.get("broadcast") == "1"
    assert escalation.extra.get("parent_alert") == root.alert_id  # in the root's thread


async def test_a_failure_while_the_app_is_built_leaves_no_redis_running(tmp_path: Path) -> None:
    from peacewatch.app import App
    from peacewatch.settings import Settings
    from peacewatch.store.redis_config import socket_path
    from peacewatch.store.redis_server import probe

    settings = Settings(PEACEWATCH_DATA_DIR=tmp_path, REDIS_URL=None)
    with pytest.raises(ValueError, match="between 0 and 1"):
        await App.open(settings, story_threshold=1.5)  # refused after Redis started
    assert probe(socket_path(tmp_path), timeout=0.5) == "absent"
