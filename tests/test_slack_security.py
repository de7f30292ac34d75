"""Slack HTTP mode's defences over real HTTP: forged, replayed, retried, badly stamped and
oversized requests, and commands refused when Slack's user lookup fails."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as aioredis
from slack_sdk.signature import SignatureVerifier

from peacewatch.bot.slack_adapter import SlackAdapter
from peacewatch.bot.slack_adapter.http import MAX_BODY_BYTES, RefusalLog, seen_key
from peacewatch.http_server import HttpServer
from peacewatch.services.commands import CommandService
from peacewatch.settings import Settings
from peacewatch.store import keys
from tests.fakes.slack_api import FakeSlack
from tests.helpers import free_port
from tests.test_slack_commands import (
    RULE_TEXT,
    SECRET,
    Env,
    _no_metrics,
    command_body,
    signed_headers,
    started,
)

HTTP_LOGGER = "peacewatch.bot.slack_adapter.http"
MARKER = "confidential-body-text-7f3a"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user("UADMIN", "ada", admin=True)
        fake.add_user("UMEMBER", "max")
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


def stamped(body: str, timestamp: str) -> dict[str, str]:
    """Headers signed correctly over whatever ``timestamp`` text is given."""
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


async def answered_after(env: Env, name: str) -> list[str]:
    """Send a fresh, valid command and wait for its answer; every earlier request has been
    handled by then. Returns the response_url paths answered so far."""
    await env.command("help", name=name)
    return [posted.path for posted in env.slack.responses]


async def test_forged_requests_are_refused_with_one_short_line_and_no_body(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    body = command_body(f"{RULE_TEXT} {MARKER}", "UADMIN", "T1", env.slack.response_url("bad"))
    forged = signed_headers(body, secret="not-the-secret")
    with caplog.at_level(logging.DEBUG):
        statuses = [(await env.post(body, forged)).status for _ in range(30)]
        unsigned = await env.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert statuses == [401] * 30 and unsigned.status == 401
    assert MARKER not in caplog.text
    assert forged["X-Slack-Signature"] not in caplog.text
    assert "legacy-verification-token" not in caplog.text
    (line,) = [r for r in caplog.records if r.name == HTTP_LOGGER]  # 31 refusals, one line
    assert line.levelno == logging.WARNING
    assert line.getMessage() == "refused Slack request to /slack/events: bad signature"
    assert await answered_after(env, "good") == ["/respond/good"]
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0


def test_refusal_warnings_are_rate_limited_and_count_the_untold() -> None:
    now = [1000.0]
    refusals = RefusalLog(interval=60.0, clock=lambda: now[0])
    logger = logging.getLogger(HTTP_LOGGER)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        for _ in range(500):
            refusals.refused("/slack/events", "bad signature")
        now[0] += 59.0
        refusals.refused("/slack/events", "bad signature")
        now[0] += 1.0
        refusals.refused("/slack/events", "no timestamp")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == [
        "refused Slack request to /slack/events: bad signature",
        "refused Slack request to /slack/events: no timestamp (500 more refused since the "
        "last warning)",
    ]


async def test_a_replayed_command_is_refused_and_the_rule_stays_removed(env: Env) -> None:
    add = command_body(RULE_TEXT, "UADMIN", "T1", env.slack.response_url("add"))
    captured = signed_headers(add)
    assert (await env.post(add, captured)).status == 200
    await env.slack.wait_for(lambda: env.slack.responses)
    assert await env.redis.hexists(keys.team_rules("slack:T1"), "witkoff-donbas")
    removed = await env.command("rules remove witkoff-donbas", user="UADMIN", name="remove")
    assert "witkoff-donbas" in str(removed)
    assert not await env.redis.hexists(keys.team_rules("slack:T1"), "witkoff-donbas")

    replay = await env.post(add, captured)  # the same bytes, well inside the 5 minutes
    assert replay.status == 401
    paths = await answered_after(env, "after")
    assert paths == ["/respond/add", "/respond/remove", "/respond/after"]
    assert not await env.redis.hexists(keys.team_rules("slack:T1"), "witkoff-donbas")
    # the used signature is remembered past the 5-minute window, and not for ever
    ttl = await env.redis.ttl(seen_key(captured["X-Slack-Signature"]))
    assert 5 * 60 < ttl <= 6 * 60


async def test_slacks_retry_of_a_taken_request_gets_200_and_runs_nothing(env: Env) -> None:
    body = command_body(RULE_TEXT, "UADMIN", "T1", env.slack.response_url("first"))
    headers = signed_headers(body)
    assert (await env.post(body, headers)).status == 200
    await env.slack.wait_for(lambda: env.slack.responses)
    await env.command("rules remove witkoff-donbas", user="UADMIN", name="remove")
    retry = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    response = await env.post(body, retry)
    assert response.status == 200
    assert await answered_after(env, "after") == [
        "/respond/first",
        "/respond/remove",
        "/respond/after",
    ]
    assert not await env.redis.hexists(keys.team_rules("slack:T1"), "witkoff-donbas")

    # a retry whose first delivery never reached us is a new request: it runs
    lost = command_body("help", "UMEMBER", "T1", env.slack.response_url("lost"))
    late = {**signed_headers(lost), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"}
    assert (await env.post(lost, late)).status == 200
    await env.slack.wait_for(lambda: env.slack.responses[-1].path == "/respond/lost")


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "1.7e9", "-5", "0x65a0bc00", "99999999999999999999"]
)
async def test_a_missing_or_non_numeric_timestamp_is_refused_with_401(
    env: Env, timestamp: str
) -> None:
    body = command_body(RULE_TEXT, "UADMIN", "T1", env.slack.response_url("ts"))
    response = await env.post(body, stamped(body, timestamp))
    assert response.status == 401
    missing = stamped(body, str(int(time.time())))
    del missing["X-Slack-Request-Timestamp"]
    assert (await env.post(body, missing)).status == 401
    assert await answered_after(env, "good") == ["/respond/good"]
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0


async def test_an_oversized_body_is_refused_with_413_before_it_is_read_whole(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    head = command_body("help", "UMEMBER", "T1", env.slack.response_url("big"))
    body = head + "&pad=" + MARKER + "x" * (MAX_BODY_BYTES - len(head))
    assert len(body.encode()) > MAX_BODY_BYTES
    headers = signed_headers(body)  # correctly signed: the size alone refuses it
    with caplog.at_level(logging.DEBUG):
        assert (await env.post(body, headers)).status == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
            data = body.encode()
            for start in range(0, len(data), 256 * 1024):
                yield data[start : start + 256 * 1024]

        async with env.http.post(env.events_url, data=chunks(), headers=headers) as chunked:
            assert chunked.status == 413
            assert "Content-Length" not in chunked.request_info.headers
    assert MARKER not in caplog.text
    assert await answered_after(env, "good") == ["/respond/good"]


async def test_a_body_that_is_not_utf8_is_refused(env: Env) -> None:
    raw = b"text=help&user_id=UADMIN&x=\xff\xfe"
    ts = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={mac.hexdigest()}",  # signed over the raw bytes
    }
    async with env.http.post(env.events_url, data=raw, headers=headers) as response:
        assert response.status == 401
    assert await answered_after(env, "good") == ["/respond/good"]


async def test_a_failed_user_lookup_refuses_admin_commands(env: Env) -> None:
    env.slack.add_user("UADMIN2", "bo", admin=True)
    await env.command("help", name="warm")  # bolt checks the token once (auth.test) and keeps it
    env.slack.revoked.add("xoxb-one")  # now users.info fails, even for an admin
    refused = await env.command(RULE_TEXT, user="UADMIN2", name="revoked")
    assert refused["response_type"] == "ephemeral" and "admin" in refused["text"].lower()
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0
    env.slack.revoked.clear()

    unknown = await env.command(RULE_TEXT, user="UGHOST", name="ghost")  # user_not_found
    assert "admin" in unknown["text"].lower()
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0

    # the failure was not remembered: once the lookup works, the same admin may add the rule
    await env.command(RULE_TEXT, user="UADMIN2", name="restored")
    assert await env.redis.hexists(keys.team_rules("slack:T1"), "witkoff-donbas")
    lookups = [c for c in env.slack.calls_to("users.info") if c.args["user"] == "UADMIN2"]
    assert len(lookups) == 2


async def test_without_redis_a_signed_request_is_refused_not_run(
    slack: FakeSlack, redis_client: aioredis.Redis
) -> None:
    settings = Settings(
        SLACK_MODE="http",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN="xoxb-one",
        SLACK_API_URL=slack.base_url,
    )
    # nothing listens on this port: the replay check cannot tell a request from a replay
    dead = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    adapter = SlackAdapter(settings, CommandService(redis_client), dead)
    server = HttpServer("127.0.0.1", 0, _no_metrics)
    adapter.mount(server.app)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            env = Env(slack, http, server, redis_client)
            body = command_body(RULE_TEXT, "UADMIN", "T1", slack.response_url("x"))
            assert (await env.post(body, signed_headers(body))).status == 503
    finally:
        await server.stop()
        await dead.aclose()
    assert slack.calls_to("users.info") == [] and slack.responses == []
    assert await redis_client.exists(keys.team_rules("slack:T1")) == 0


# a signature header that is not ASCII is a forged request like any other
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
