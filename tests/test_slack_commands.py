"""/peacewatch over real HTTP: signed requests to our HttpServer, answers posted to a fake Slack."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import redis.asyncio as aioredis
from slack_sdk.signature import SignatureVerifier

from peacewatch.bot.slack_adapter import SlackAdapter
from peacewatch.bot.slack_adapter.blocks import ACTION_MUTE_STORY, button_value
from peacewatch.errors import ConfigError
from peacewatch.http_server import HttpServer
from peacewatch.services.commands import CommandService
from peacewatch.settings import Settings
from peacewatch.store import keys
from tests.fakes.slack_api import FakeSlack, sample_alert

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
RULE_TEXT = 'rules add witkoff-donbas Witkoff AND (Donbas OR "security guarantees")'


async def _no_metrics() -> dict[str, float]:
    return {}


@dataclass
class Env:
    slack: FakeSlack
    http: aiohttp.ClientSession
    server: HttpServer
    redis: aioredis.Redis

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    async def post(self, body: str, headers: dict[str, str]) -> aiohttp.ClientResponse:
        async with self.http.post(self.events_url, data=body, headers=headers) as response:
            await response.read()
            return response

    async def command(
        self, text: str, user: str = "UMEMBER", team: str = "T1", name: str = "c", limit: float = 10
    ) -> dict[str, Any]:
        """Send a signed /peacewatch and return what the app posted to its response_url."""
        before = len(self.slack.responses)
        body = command_body(text, user, team, self.slack.response_url(name))
        response = await self.post(body, signed_headers(body))
        assert response.status == 200
        await self.slack.wait_for(lambda: len(self.slack.responses) > before, limit)
        return self.slack.responses[before].body


def command_body(text: str, user: str, team: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "peace-desk",
            "channel_id": "C1",
            "channel_name": "ukraine-talks",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/peacewatch",
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def signed_headers(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }


async def started(
    settings: Settings, redis_client: aioredis.Redis, slack: FakeSlack
) -> AsyncIterator[Env]:
    adapter = SlackAdapter(settings, CommandService(redis_client), redis_client)
    server = HttpServer("127.0.0.1", 0, _no_metrics)
    adapter.mount(server.app)
    await server.start()
    await adapter.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Env(slack, http, server, redis_client)
    finally:
        await adapter.stop()
        await server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user("UADMIN", "ada", admin=True)
        fake.add_user("UOWNER", "olek", owner=True)
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


async def test_help_is_answered_through_response_url(env: Env) -> None:
    answer = await env.command("help")
    assert answer["text"] and answer["blocks"]
    assert "rules" in json.dumps(answer).lower()
    (lookup,) = env.slack.calls_to("users.info")
    assert lookup.args["user"] == "UMEMBER" and lookup.token == "xoxb-one"


async def test_admin_lookup_is_cached_between_commands(env: Env) -> None:
    await env.command("help")
    await env.command("rules list")
    assert len(env.slack.calls_to("users.info")) == 1


async def test_non_admin_cannot_add_a_rule(env: Env) -> None:
    answer = await env.command(RULE_TEXT, user="UMEMBER")
    assert answer["response_type"] == "ephemeral"
    assert "admin" in answer["text"].lower()
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0


@pytest.mark.parametrize("user", ["UADMIN", "UOWNER"])
async def test_workspace_admin_or_owner_adds_a_rule(env: Env, user: str) -> None:
    answer = await env.command(RULE_TEXT, user=user)
    assert "admin" not in answer["text"].lower() or "witkoff-donbas" in answer["text"]
    assert await env.redis.hexists(keys.team_rules("slack:T1"), "witkoff-donbas")
    listed = await env.command("rules list", user="UMEMBER")
    assert "witkoff-donbas" in json.dumps(listed)


async def test_a_bad_query_gets_an_ephemeral_error(env: Env) -> None:
    answer = await env.command("rules add broken Witkoff AND (Donbas", user="UADMIN")
    assert answer["response_type"] == "ephemeral"
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0


async def test_forged_stale_and_unsigned_requests_are_refused_and_do_nothing(env: Env) -> None:
    body = command_body(RULE_TEXT, "UADMIN", "T1", env.slack.response_url("bad"))
    forged = await env.post(body, signed_headers(body, secret="not-the-secret"))
    stale = await env.post(body, signed_headers(body, timestamp=int(time.time()) - 6 * 60))
    unsigned = await env.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    tampered_headers = signed_headers(body)
    tampered = await env.post(body.replace("UADMIN", "UOWNER"), tampered_headers)
    assert [r.status for r in (forged, stale, unsigned, tampered)] == [401, 401, 401, 401]
    # a valid request after them is answered; the refused ones left no trace
    await env.command("help", name="good")
    assert [p.path for p in env.slack.responses] == ["/respond/good"]
    assert [c.args["user"] for c in env.slack.calls_to("users.info")] == ["UMEMBER"]
    assert await env.redis.exists(keys.team_rules("slack:T1")) == 0


async def test_a_timestamp_inside_the_window_is_accepted(env: Env) -> None:
    body = command_body("help", "UMEMBER", "T1", env.slack.response_url("late"))
    response = await env.post(body, signed_headers(body, timestamp=int(time.time()) - 4 * 60))
    assert response.status == 200
    await env.slack.wait_for(lambda: env.slack.responses)


@pytest.mark.parametrize(("user", "muted"), [("UADMIN", True), ("UMEMBER", False)])
async def test_mute_button_mutes_the_story_for_admins_only(
    env: Env, user: str, muted: bool
) -> None:
    # muting silences the story for the whole channel: a change only admins make
    alert = sample_alert(alert_id="a1", story_id="s1")
    payload = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "peace-desk"},
        "user": {"id": user, "username": "max", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "ukraine-talks"},
        "trigger_id": "1.2.3",
        "response_url": env.slack.response_url("button"),
        "actions": [
            {
                "type": "button",
                "action_id": ACTION_MUTE_STORY,
                "block_id": "pw_feedback",
                "value": button_value(alert),
                "action_ts": "1700000001.000001",
                "text": {"type": "plain_text", "text": "Mute this story"},
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    response = await env.post(body, signed_headers(body))
    assert response.status == 200
    await env.slack.wait_for(lambda: env.slack.responses)
    answer = env.slack.responses[0].body
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert ("muted" in answer["text"].lower()) is muted
    assert await env.redis.exists(keys.story_muted("slack:T1", "slack:C1", "s1")) == int(muted)


async def test_trend_chart_is_uploaded_to_the_channel(env: Env) -> None:
    # the chart is drawn by matplotlib, whose first import is slow on a busy machine
    answer = await env.command("trend ceasefire 7d", limit=30)
    assert "ceasefire" in answer["text"]
    await env.slack.wait_for(lambda: env.slack.calls_to("files.completeUploadExternal"))
    (complete,) = env.slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C1" and complete.token == "xoxb-one"
    (png,) = env.slack.uploads.values()
    assert png.startswith(b"\x89PNG")


async def test_oauth_install_makes_each_workspace_its_own_team(
    slack: FakeSlack, redis_client: aioredis.Redis
) -> None:
    slack.oauth_grants["code-T2"] = {
        "access_token": "xoxb-T2",
        "token_type": "bot",
        "scope": "chat:write,commands,users:read",
        "bot_user_id": "UB2",
        "app_id": "A1",
        "team": {"id": "T2", "name": "Second desk"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": "UADMIN"},
    }
    slack.team_of_token["xoxb-T2"] = "T2"
    settings = Settings(
        SLACK_MODE="http",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="client-secret",
        SLACK_API_URL=slack.base_url,
    )
    async for env in started(settings, redis_client, slack):
        async with env.http.get(env.url("/slack/install")) as page:
            assert page.status == 200
            cookie = page.headers["Set-Cookie"].split(";")[0]
            html = await page.text()
        _name, _, state = cookie.partition("=")
        assert f"state={state}" in html and "client_id=111.222" in html
        redirect = env.url(f"/slack/oauth_redirect?code=code-T2&state={state}")
        async with env.http.get(redirect, headers={"Cookie": cookie}) as done:
            assert done.status == 200
        assert await redis_client.exists(keys.slack_bot("", "T2")) == 1
        # a replayed state is refused and installs nothing more
        async with env.http.get(redirect, headers={"Cookie": cookie}) as replay:
            assert replay.status >= 400
        assert len(slack.calls_to("oauth.v2.access")) == 1

        answer = await env.command(RULE_TEXT, user="UADMIN", team="T2")
        assert "admin" not in answer["text"].lower() or "witkoff-donbas" in answer["text"]
        assert slack.calls_to("users.info")[0].token == "xoxb-T2"
        assert await redis_client.hexists(keys.team_rules("slack:T2"), "witkoff-donbas")
        assert await redis_client.exists(keys.team_rules("slack:T1")) == 0


async def test_socket_mode_answers_a_command_over_the_websocket(
    slack: FakeSlack, redis_client: aioredis.Redis
) -> None:
    settings = Settings(
        SLACK_MODE="socket",
        SLACK_APP_TOKEN="xapp-1-A1-123-abc",
        SLACK_BOT_TOKEN="xoxb-one",
        SLACK_API_URL=slack.base_url,
    )
    adapter = SlackAdapter(settings, CommandService(redis_client), redis_client)
    await adapter.start()
    try:
        payload = {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "UMEMBER",
            "user_name": "max",
            "command": "/peacewatch",
            "text": "help",
            "api_app_id": "A1",
            "response_url": slack.response_url("socket"),
            "trigger_id": "1.2.3",
        }
        slack.push_envelope(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": payload,
            }
        )
        await slack.wait_for(lambda: slack.socket_acks and slack.responses)
    finally:
        await adapter.stop()
    assert slack.socket_acks[0]["envelope_id"] == "env-1"
    assert slack.calls_to("apps.connections.open")[0].token == "xapp-1-A1-123-abc"
    assert slack.responses[0].path == "/respond/socket"


def test_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        SlackAdapter(Settings(SLACK_MODE="http", SLACK_BOT_TOKEN="xoxb-1"), None, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        SlackAdapter(Settings(SLACK_MODE="socket", SLACK_BOT_TOKEN="xoxb-1"), None, None)  # type: ignore[arg-type]
