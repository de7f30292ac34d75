"""Slack HTTP mode: a signature header that is not ASCII is a forged request like any other."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from peacewatch.settings import Settings
from peacewatch.store import keys
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_commands import RULE_TEXT, SECRET, Env, command_body, signed_headers, started

HTTP_LOGGER = "peacewatch.bot.slack_adapter.http"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user("UADMIN", "ada", admin=True)
        yield fake


@pytest.fixture
async def env(slack: FakeSlack, redis_client: aioredis.Redis) -> AsyncIterator[Env]:
    settings = Settings(
        SLACK_MODE="http",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN="xoxb-one",
        SLACK_API_URL=slack.base_url,
    )
    async for value in started(settings, redis_client, slack):
        yield value


@pytest.mark.parametrize("forged", ["v0=" + "é" * 64, "v0=ü", "ü"])
async def test_a_non_ascii_signature_is_refused_with_401_and_one_short_line(
    env: Env, caplog: pytest.LogCaptureFixture, forged: str
) -> None:
    body = command_body(RULE_TEXT, "UADMIN", "T1", env.slack.response_url("forged"))
    headers = {**signed_headers(body), "X-Slack-Signature": forged}
    with caplog.at_level(logging.DEBUG):
        statuses = [(await env.post(body, headers)).status for _ in range(5)]
    assert statuses == [401] * 5
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    (line,) = [r for r in caplog.records if r.name == HTTP_LOGGER]  # 5 refusals, one line
    assert line.getMessage() == "refused Slack request to /slack/events: bad signature"
    assert env.slack.responses == []
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0

    await env.command("help", name="good")  # a genuine request still runs
    assert [posted.path for posted in env.slack.responses] == ["/respond/good"]
