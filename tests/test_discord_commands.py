"""``/peacewatch`` and the alert buttons: real INTERACTION_CREATE payloads go through discord.py's
own dispatch and command tree to the real command service; answers reach a fake Discord."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import yarl
from discord.gateway import DiscordWebSocket

from peacewatch.bot.discord_adapter import DiscordAdapter, sync_commands
from peacewatch.bot.discord_adapter.client import DEFAULT_API_URL, apply_api_base
from peacewatch.services.commands import CommandService
from peacewatch.settings import Settings
from peacewatch.store import keys
from tests.fakes.discord_api import FakeDiscord, Seen
from tests.test_discord_sink import new_alert

MANAGE_GUILD = 1 << 5
EPHEMERAL = 64
STRING, INTEGER, CHANNEL, SUB_COMMAND, SUB_GROUP = 3, 4, 7, 1, 2


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    try:
        yield server
    finally:
        apply_api_base(DEFAULT_API_URL)
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("wss://gateway.discord.gg/")
        await server.close()


def settings_for(fake: FakeDiscord) -> Settings:
    return Settings(
        DISCORD_TOKEN=fake.token,
        DISCORD_API_URL=fake.api_url,
        DISCORD_APPLICATION_ID=str(fake.application_id),
    )


@pytest.fixture
async def adapter(fake: FakeDiscord, redis_client: aioredis.Redis) -> AsyncIterator[DiscordAdapter]:
    service = CommandService(redis_client)
    bot = DiscordAdapter(settings_for(fake), service)
    await bot.client.ensure_login(fake.token)  # REST only: interactions arrive below
    try:
        yield bot
    finally:
        await bot.stop()
        await service.close()


def command(*path: str, focused: str = "", **options: Any) -> dict[str, Any]:
    """The ``data`` of a ``/peacewatch ...`` interaction, options typed like Discord's."""
    leaf: list[dict[str, Any]] = []
    for name, value in options.items():
        kind = INTEGER if isinstance(value, int) else STRING
        option: dict[str, Any] = {"type": kind, "name": name, "value": value}
        if name == focused:
            option["focused"] = True
        leaf.append(option)
    options_list = leaf
    for depth, name in reversed(list(enumerate(path))):
        kind = SUB_GROUP if depth < len(path) - 1 else SUB_COMMAND
        options_list = [{"type": kind, "name": name, "options": options_list}]
    return {"id": "1", "name": "peacewatch", "type": 1, "options": options_list}


async def invoke(
    fake: FakeDiscord,
    adapter: DiscordAdapter,
    data: dict[str, Any],
    *,
    permissions: int = 0,
    kind: int = 2,
    done: int = 1,
    message: dict[str, Any] | None = None,
) -> list[Seen]:
    """Dispatch one interaction as the gateway would and return what the bot answered."""
    channel = next(iter(fake.channels), None) or fake.add_channel()
    payload = fake.interaction_payload(
        data, channel_id=channel, permissions=permissions, kind=kind, message=message
    )
    adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await fake.wait_for(lambda: len(fake.answers(payload)) >= done)
    return fake.answers(payload)


def titles(answer: Seen) -> str:
    body = answer.body["data"] if "data" in answer.body else answer.body
    return " ".join(f"{e.get('title', '')} {e.get('description', '')}" for e in body["embeds"])


def flags(answer: Seen) -> int:
    body = answer.body["data"] if "data" in answer.body else answer.body
    return int(body.get("flags", 0))


async def test_member_without_manage_server_cannot_add_a_rule(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    before = sorted(await redis_client.keys("*"))
    data = command("rules", "add", rule_id="witkoff", query="Witkoff AND Putin")
    [answer] = await invoke(fake, adapter, data, permissions=0)

    assert answer.method == "POST" and answer.path.endswith("/callback")
    assert answer.body["type"] == 4
    assert flags(answer) & EPHEMERAL
    assert "admin" in titles(answer).lower()
    assert sorted(await redis_client.keys("*")) == before
    assert not await redis_client.exists(keys.team_rules(f"discord:{fake.guild_id}"))


async def test_manage_server_adds_a_rule_then_lists_and_completes_it(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    data = command("rules", "add", rule_id="witkoff", query="Witkoff AND Putin")
    [added] = await invoke(fake, adapter, data, permissions=MANAGE_GUILD)
    assert added.body["type"] == 4 and flags(added) & EPHEMERAL
    assert "witkoff" in titles(added).lower()

    [listed] = await invoke(fake, adapter, command("rules", "list"))
    fields = listed.body["data"]["embeds"][0].get("fields", [])
    assert any("witkoff" in f["name"] for f in fields) or "witkoff" in titles(listed)

    data = command("rules", "remove", focused="rule_id", rule_id="wit")
    [completed] = await invoke(fake, adapter, data, kind=4)
    assert completed.body == {
        "type": 8,
        "data": {"choices": [{"name": "witkoff", "value": "witkoff"}]},
    }


async def test_bad_query_is_an_ephemeral_error_naming_the_position(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    data = command("rules", "add", rule_id="broken", query="Witkoff AND (Putin")
    [answer] = await invoke(fake, adapter, data, permissions=MANAGE_GUILD)
    assert flags(answer) & EPHEMERAL
    assert answer.body["data"]["embeds"][0]["color"] == 0xE8710A


async def test_search_is_deferred_then_answered_by_a_follow_up(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    data = command("search", query="witkoff", since="7d")
    deferred, followup = await invoke(fake, adapter, data, done=2)
    assert deferred.path.endswith("/callback") and deferred.body["type"] == 5
    assert not flags(deferred) & EPHEMERAL
    assert followup.method == "POST"
    assert followup.path.startswith(f"/webhooks/{fake.application_id}/")
    assert followup.body["embeds"]


async def test_an_error_after_a_public_deferral_is_shown_only_to_the_caller(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    data = command("search", query="Witkoff AND (Putin", since="7d")
    deferred, deleted, followup = await invoke(fake, adapter, data, done=3)
    assert deferred.body["type"] == 5
    assert deleted.method == "DELETE" and deleted.path.endswith("/messages/@original")
    assert followup.method == "POST" and flags(followup) & EPHEMERAL


async def test_latest_takes_a_typed_integer(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    [answer] = await invoke(fake, adapter, command("latest", n=3))
    assert answer.body["type"] == 4
    assert answer.body["data"]["embeds"]


async def test_mute_button_under_a_posted_alert_mutes_the_story(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    channel = fake.add_channel()
    alert = new_alert(f"discord:{channel}")
    ref = await adapter.sink.deliver(alert, None)
    message = fake.messages[int(ref.split("/")[1])]
    custom_id = message["components"][0]["components"][0]["custom_id"]
    data = {"custom_id": custom_id, "component_type": 2}

    team = f"discord:{fake.guild_id}"
    muted = keys.story_muted(team, f"discord:{channel}", alert.story_id)
    # muting silences the story for the whole channel: a change only admins make
    [refused] = await invoke(fake, adapter, data, kind=3, message=message)
    assert "Manage Server" in json.dumps(refused.body) and not await redis_client.exists(muted)
    [answer] = await invoke(fake, adapter, data, kind=3, message=message, permissions=MANAGE_GUILD)
    assert answer.body["type"] == 4 and flags(answer) & EPHEMERAL
    assert "muted" in titles(answer).lower()
    assert await redis_client.exists(muted)


async def test_sync_commands_registers_the_group_in_one_guild(fake: FakeDiscord) -> None:
    names = await sync_commands(settings_for(fake), guild_id=fake.guild_id)
    assert names == ["peacewatch"]
    [group] = fake.commands[str(fake.guild_id)]
    subs = {o["name"]: o for o in group["options"]}
    assert {"latest", "search", "actor", "digest", "status", "help", "subscribe", "trend"} <= set(
        subs
    )
    assert {o["name"] for o in subs["rules"]["options"]} == {
        "add",
        "list",
        "remove",
        "test",
        "mute",
        "unmute",
        "edit",
        "suggest",
    }
    assert {o["name"] for o in subs["feeds"]["options"]} == {"add", "list", "remove"}
    remove = next(o for o in subs["rules"]["options"] if o["name"] == "remove")
    assert remove["options"][0]["autocomplete"] is True
    assert not fake.commands.get("global")


async def test_start_connects_to_the_gateway_and_commands_arrive_through_it(
    fake: FakeDiscord, redis_client: aioredis.Redis
) -> None:
    service = CommandService(redis_client)
    bot = DiscordAdapter(settings_for(fake), service)
    try:
        await bot.start()
        await fake.wait_for(lambda: bool(fake.identified))
        assert fake.identified[0]["intents"] == 1  # GUILDS only: no privileged intents
        payload = fake.interaction_payload(command("help"), channel_id=fake.add_channel())
        await fake.dispatch("INTERACTION_CREATE", payload)
        await fake.wait_for(lambda: bool(fake.answers(payload)))
        [answer] = fake.answers(payload)
        assert answer.body["type"] == 4 and answer.body["data"]["embeds"]
    finally:
        await bot.stop()
        await service.close()
    assert not fake.of("PUT")  # commands are synced only on request
