"""Chat replies through the real slack-bolt and discord.py paths: each platform's own words, a
suggestion for a mistyped command, and the trend chart arriving as an image on both."""

# ruff: noqa: F811  (the fixtures imported below are used by name)
from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter import DiscordAdapter
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.test_discord_commands import adapter, command, fake, titles  # noqa: F401
from tests.test_slack_commands import RULE_TEXT, Env, env, slack  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n"


def block_text(answer: dict[str, Any]) -> str:
    return json.dumps(answer["blocks"], ensure_ascii=False)


async def test_a_mistyped_command_gets_the_closest_match_and_the_hint_once(env: Env) -> None:
    answer = await env.command("lastest 5")
    shown = block_text(answer)
    assert "unknown command 'lastest': did you mean 'latest'?" in shown
    assert shown.count("help") == 1
    far = await env.command("xyzzy")
    assert "unknown command 'xyzzy'" in block_text(far) and "did you mean" not in block_text(far)
    sub = await env.command("feds list")
    assert "did you mean 'feeds list'?" in block_text(sub)


async def test_slack_refusals_speak_of_workspace_admins(env: Env) -> None:
    answer = await env.command(RULE_TEXT, user="UMEMBER")
    assert "Only workspace admins" in block_text(answer)
    assert "Manage Server" not in block_text(answer)


async def test_discord_refusals_speak_of_manage_server(
    fake: FakeDiscord,
    adapter: DiscordAdapter,
) -> None:
    channel = fake.add_channel()
    data = command("rules", "add", rule_id="witkoff", query="Witkoff AND Putin")
    payload = fake.interaction_payload(data, channel_id=channel, permissions=0)
    adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await fake.wait_for(lambda: bool(fake.answers(payload)))
    [answer] = fake.answers(payload)
    shown = titles(answer)
    assert "members with Manage Server" in shown and "workspace" not in shown


async def test_slack_trend_chart_goes_through_slacks_upload_flow(env: Env) -> None:
    # the chart is drawn by matplotlib, whose first import is slow on a busy machine
    answer = await env.command("trend ceasefire 7d", limit=30)
    assert "ceasefire" in answer["text"]
    await env.slack.wait_for(lambda: env.slack.shared_files, 10)
    (shared,) = env.slack.shared_files
    assert (shared.channel, shared.filename, shared.token) == ("C1", "trend.png", "xoxb-one")
    assert shared.data.startswith(PNG) and "ceasefire" in shared.title
    (asked,) = env.slack.calls_to("files.getUploadURLExternal")
    assert int(asked.args["length"]) == len(shared.data)


async def test_slack_trend_chart_in_a_channel_without_the_bot_says_so(
    env: Env,
    slack: FakeSlack,
) -> None:
    slack.not_member.add("C1")
    await env.command("trend ceasefire 7d", limit=30)
    await slack.wait_for(lambda: len(slack.responses) >= 2, 10)
    assert not slack.shared_files
    notice = slack.responses[1].body
    assert notice["response_type"] == "ephemeral"
    assert "not_in_channel" in notice["text"] and "invite the bot" in notice["text"]


async def test_discord_trend_chart_is_an_attached_image(
    fake: FakeDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
) -> None:
    channel = fake.add_channel()
    payload = fake.interaction_payload(
        command("trend", query="ceasefire", period="7d"), channel_id=channel
    )
    adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await fake.wait_for(lambda: len(fake.answers(payload)) >= 2, 30)
    deferred, followup = fake.answers(payload)[:2]
    assert deferred.body["type"] == 5
    (png,) = [data for name, data in followup.files if name == "trend.png"]
    assert png.startswith(PNG)
    (embed,) = followup.body["embeds"]
    assert embed["image"]["url"] == "attachment://trend.png"
    assert [a["filename"] for a in followup.body.get("attachments", [])] in ([], ["trend.png"])
