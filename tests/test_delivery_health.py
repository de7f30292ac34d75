"""A Slack outage as an operator sees it: `peacewatch status`, /healthz, /metrics and the log,
with the real dispatcher, Slack sink and alert queue against the local fake Web API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from peacewatch.bot.replies import Caller
from peacewatch.bot.slack_adapter import ChannelPacer, SlackSink, SlackTokens
from peacewatch.cli.status import format_status
from peacewatch.http_server import HttpServer
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.status import DestinationHealth, Status, collect, delivery
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.feeds import FeedStore
from peacewatch.store.teams import TeamStore
from tests.fakes.slack_api import FakeSlack, sample_alert

T0 = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC


class Clocks:
    """The dispatcher's monotonic and wall clocks, moved only by the test."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = T0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(valid_tokens={"xoxb-one"}) as fake:
        yield fake


@pytest.fixture
async def parts(
    slack: FakeSlack, redis_client: aioredis.Redis
) -> AsyncIterator[tuple[Dispatcher, Clocks]]:
    clocks = Clocks()
    pacer = ChannelPacer(clock=lambda: clocks.mono, sleep=clocks.sleep)
    sink = SlackSink(SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url,
                     pacer=pacer)  # fmt: skip
    dispatcher = Dispatcher(
        AlertQueue(redis_client), {"slack": sink}, retry_idle_ms=0,
        clock=lambda: clocks.mono, wall_clock=lambda: clocks.wall,
    )  # fmt: skip
    yield dispatcher, clocks
    await sink.close()


async def _status(redis: aioredis.Redis) -> Status:
    return await collect(FeedStore(redis), TeamStore(redis), AlertQueue(redis), ArticleStore(redis))


async def _delivery(redis: aioredis.Redis) -> tuple[DestinationHealth, ...]:
    return (await delivery(TeamStore(redis), AlertQueue(redis))).destinations


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "peacewatch.services.dispatcher"
    ]


async def test_an_outage_is_shown_while_it_lasts_and_logged_once_each_way(
    slack: FakeSlack,
    parts: tuple[Dispatcher, Clocks],
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher, clocks = parts
    caplog.set_level(logging.WARNING)
    queue = AlertQueue(redis_client)
    rule = RuleSpec(id="envoys", query="Witkoff", channels=["slack:C1", "slack:C2"])
    await TeamStore(redis_client).put_rule("slack:T1", rule)
    chat = CommandService(redis_client)
    member = Caller("slack", "slack:T1", "U2", "slack:C2")
    # /healthz reads the destinations alone, as the running bot's does
    server = HttpServer(
        "127.0.0.1", 0, lambda: _status(redis_client), lambda: _delivery(redis_client)
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:

            async def healthz() -> tuple[int, dict[str, object]]:
                async with http.get(f"http://127.0.0.1:{server.port}/healthz") as resp:
                    return resp.status, await resp.json()

            async def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
                async with http.get(f"http://127.0.0.1:{server.port}/metrics") as resp:
                    text = await resp.text()
                return {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for family in text_string_to_metric_families(text)
                    for s in family.samples
                }

            assert await healthz() == (200, {"ok": True, "delivery": "ok", "failing": []})

            # Slack's servers fail: HTTP 500 on every post to C1; C2 still works
            slack.fail_channel("C1", "fatal_error", status=500)
            await queue.enqueue(sample_alert(alert_id="a1", channel="C1"))
            await queue.enqueue(sample_alert(alert_id="a2", story_id="s2", channel="C1"))
            await queue.enqueue(sample_alert(alert_id="b1", story_id="s3", channel="C2"))
            await dispatcher.run_once()
            assert [m.channel for m in slack.messages] == ["C2"]

            status = await _status(redis_client)
            (failing,) = status.failing
            assert failing.destination == "slack:C1"
            assert failing.since == T0 and failing.waiting == 2
            assert "fatal_error" in failing.last_error
            text = format_status(status)
            assert "slack:C1" in text and "FAILING since 2026-05-28 20:26:40 UTC" in text
            assert "last error: slack chat.postMessage: fatal_error" in text
            assert "slack:C2" in text and "waiting 0" in text

            reply = await chat.status(member)
            assert "Channels failing: 1 · dead letters for this team's channels: 0" in reply.text
            assert (
                "• slack:C1: failing since 2026-05-28 20:26 UTC · 2 alerts waiting · "
                "last error: slack chat.postMessage: fatal_error" in reply.text
            )

            code, body = await healthz()
            assert code == 200 and body["ok"] is True and body["delivery"] == "degraded"
            assert body["failing"] == [
                {
                    "destination": "slack:C1",
                    "since": "2026-05-28 20:26:40 UTC",
                    "last_error": "slack chat.postMessage: fatal_error",
                    "failures": 1,
                    "waiting": 2,
                }
            ]
            samples = await scrape()
            assert samples[("peacewatch_destination_failing", (("destination", "slack:C1"),))] == 1
            assert samples[("peacewatch_destination_waiting", (("destination", "slack:C1"),))] == 2
            assert samples[("peacewatch_delivery_failures", ())] == 1

            # then Slack rate-limits the channel for a minute: still the same outage
            slack.clear_channel("C1")
            slack.rate_limit("C1", retry_after=60)
            for _ in range(3):
                clocks.advance(61)
                await dispatcher.run_once()
            assert [m.channel for m in slack.messages] == ["C2"]
            (failing,) = (await _status(redis_client)).failing
            assert failing.since == T0 and failing.failures == 4
            # (the retry first looks in the channel for the post the 500 may have hidden)
            assert failing.last_error == "slack conversations.history: rate limited"
            assert (await healthz())[1]["delivery"] == "degraded"

            # Slack is back: both alerts go out once, in order, and the outage ends
            slack.clear_rate_limit("C1")
            clocks.advance(61)
            await dispatcher.run_once()
            await dispatcher.run_once()
            assert [m.channel for m in slack.messages] == ["C2", "C1", "C1"]
            assert len(slack.with_alert("a1")) == 1 and len(slack.with_alert("a2")) == 1

            status = await _status(redis_client)
            assert status.failing == []
            assert {d.destination: (d.failing, d.waiting) for d in status.destinations} == {
                "slack:C1": (False, 0),
                "slack:C2": (False, 0),
            }
            assert "destinations: 2, all ok" in format_status(status)
            assert "Channels failing: 0" in (await chat.status(member)).text
            assert await healthz() == (200, {"ok": True, "delivery": "ok", "failing": []})
            samples = await scrape()
            assert samples[("peacewatch_destination_failing", (("destination", "slack:C1"),))] == 0
            assert samples[("peacewatch_destination_waiting", (("destination", "slack:C1"),))] == 0
    finally:
        await server.stop()

    warnings = _warnings(caplog)
    assert warnings == [
        "delivery to slack:C1 is failing: slack chat.postMessage: fatal_error "
        "(alerts wait in the queue)",
        "delivery to slack:C1 works again after 244 s (4 failed attempts; last error: "
        "slack conversations.history: rate limited)",
    ]


async def test_healthz_answers_503_when_the_store_does_not(
    redis_client: aioredis.Redis,
) -> None:
    async def broken() -> Status:
        raise ConnectionError("redis is gone")

    server = HttpServer("127.0.0.1", 0, broken)
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{server.port}/healthz") as resp,
        ):
            assert resp.status == 503
            assert (await resp.json()) == {"ok": False, "error": "ConnectionError"}
    finally:
        await server.stop()
