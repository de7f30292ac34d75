"""Dead letters: an alert Slack refuses is set aside with a WARNING, listed, sent again once the
channel is fixed (and posted once), or dropped; `peacewatch deadletters` as a user runs it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from typer.testing import CliRunner

from peacewatch.bot.slack_adapter import ChannelPacer, SlackSink, SlackTokens
from peacewatch.cli import app as cli_app
from peacewatch.cli import deadletters
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store.alert_queue import AlertQueue
from tests.conftest import make_client
from tests.fakes.slack_api import FakeSlack, sample_alert


class NoWait:
    now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(valid_tokens={"xoxb-one"}) as fake:
        yield fake


@pytest.fixture
async def dispatcher(slack: FakeSlack, redis_client: aioredis.Redis) -> AsyncIterator[Dispatcher]:
    time_ = NoWait()
    pacer = ChannelPacer(clock=time_.clock, sleep=time_.sleep)
    sink = SlackSink(SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url,
                     pacer=pacer)  # fmt: skip
    yield Dispatcher(AlertQueue(redis_client), {"slack": sink}, retry_idle_ms=0,
                     clock=time_.clock)  # fmt: skip
    await sink.close()


async def test_a_refused_alert_is_listed_retried_once_fixed_and_posted_once(
    slack: FakeSlack,
    dispatcher: Dispatcher,
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    slack.fail_channel("CGONE", "channel_not_found")
    slack.fail_channel("CNOPE", "channel_not_found")
    queue = AlertQueue(redis_client)
    await queue.enqueue(sample_alert(alert_id="a1", channel="CGONE"))
    await queue.enqueue(sample_alert(alert_id="a1", channel="CGONE"))  # queued twice
    await queue.enqueue(sample_alert(alert_id="b1", story_id="s2", channel="CNOPE"))
    await dispatcher.drain()
    assert slack.messages == []

    set_aside = [r.getMessage() for r in caplog.records if "dead letter" in r.getMessage()]
    assert sorted(set_aside) == [
        "alert a1 to slack:CGONE set aside as a dead letter: "
        "slack chat.postMessage: channel_not_found",
    ] * 2 + [
        "alert b1 to slack:CNOPE set aside as a dead letter: "
        "slack chat.postMessage: channel_not_found",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if "dead letter" in r.message)

    letters = await queue.dead_letters()
    assert sorted((x.alert_id, x.destination) for x in letters) == [
        ("a1", "slack:CGONE"), ("a1", "slack:CGONE"), ("b1", "slack:CNOPE")
    ]  # fmt: skip
    (nope,) = [x.entry_id for x in letters if x.alert_id == "b1"]
    listing = await deadletters.list_letters(redis_client)
    assert nope in listing and "slack:CNOPE" in listing
    assert "slack chat.postMessage: channel_not_found" in listing and "3 dead letters" in listing

    # the channel is fixed; both entries of a1 go back, and a1 is posted once
    slack.clear_channel("CGONE")
    outcome = await deadletters.retry(redis_client, ["a1"], every=False)
    assert len(outcome.lines) == 2 and not outcome.unknown and not outcome.failed
    await dispatcher.drain()
    assert len(slack.with_alert("a1")) == 1
    assert dispatcher.stats.delivered == 1 and dispatcher.stats.duplicates == 1
    assert "slack:CGONE" not in await queue.failures()
    assert [x.alert_id for x in await queue.dead_letters()] == ["b1"]

    # CNOPE is gone for good: dropping its last dead letter also ends its failing state
    outcome = await deadletters.drop(redis_client, [nope, "nope"], every=False)
    assert outcome.unknown == ["nope"]
    assert "slack:CNOPE: nothing left for it; no longer shown as failing" in outcome.lines
    assert await queue.dead_letters() == []
    assert await queue.failures() == {}
    assert await deadletters.list_letters(redis_client) == "no dead letters"


def test_deadletters_command_lists_retries_and_drops(
    redis_target: dict[str, Any], tmp_path: Path
) -> None:
    if "url" in redis_target:
        url = redis_target["url"]
    else:
        url = f"unix://{redis_target['unix_socket_path']}"
    env = {"REDIS_URL": url, "PEACEWATCH_DATA_DIR": str(tmp_path)}

    async def setup() -> list[str]:
        redis = make_client(redis_target)
        try:
            await redis.flushdb()
            queue = AlertQueue(redis)
            await queue.ensure_group()
            for alert_id in ("x1", "x2"):
                await queue.enqueue(sample_alert(alert_id=alert_id, channel="CGONE"))
            for item in await queue.read("test"):
                await queue.dead_letter(item, "slack chat.postMessage: channel_not_found")
            return [x.entry_id for x in await queue.dead_letters()]
        finally:
            await redis.aclose()

    first, second = asyncio.run(setup())
    runner = CliRunner()

    listed = runner.invoke(cli_app, ["deadletters", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert first in listed.stdout and second in listed.stdout and "x1" in listed.stdout
    assert "slack:CGONE" in listed.stdout and "2 dead letters" in listed.stdout

    neither = runner.invoke(cli_app, ["deadletters", "retry"], env=env)
    assert neither.exit_code == 2 and "name dead letters by ID, or give --all" in neither.stderr

    unknown = runner.invoke(cli_app, ["deadletters", "drop", "0-1"], env=env)
    assert unknown.exit_code == 2 and "no dead letter 0-1" in unknown.stderr

    retried = runner.invoke(cli_app, ["deadletters", "retry", "x1"], env=env)
    assert retried.exit_code == 0, retried.output
    assert f"{first}: alert x1 to slack:CGONE queued again" in retried.stdout

    dropped = runner.invoke(cli_app, ["deadletters", "drop", "--all"], env=env)
    assert dropped.exit_code == 0 and f"{second}: alert x2 to slack:CGONE dropped" in dropped.stdout
    assert "no dead letters" in runner.invoke(cli_app, ["deadletters", "list"], env=env).stdout

    async def queued() -> list[str]:
        redis = make_client(redis_target)
        try:
            return [i.alert.alert_id for i in await AlertQueue(redis).read("test") if i.alert]
        finally:
            await redis.aclose()

    assert asyncio.run(queued()) == ["x1"]  # back on the alert queue, for a dispatcher
