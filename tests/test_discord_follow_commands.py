"""``/peacewatch follow``, ``unfollow`` and ``follows`` on Discord: any member's own follows,
answered to the caller alone through discord.py's command tree and the real command service."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter import DiscordAdapter, sync_commands
from peacewatch.store.follows import FollowStore
from tests import test_discord_commands as dc
from tests.fakes.discord_api import FakeDiscord, Seen

fake = dc.fake
adapter = dc.adapter
USER = "600000000000000001"
"""The member ``FakeDiscord.interaction_payload`` sends as."""


def shown(answer: Seen) -> str:
    return json.dumps(answer.body, ensure_ascii=False)


async def test_a_member_follows_lists_and_unfollows_a_query(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    follows = FollowStore(redis_client)
    [followed] = await dc.invoke(fake, adapter, dc.command("follow", query="Witkoff AND Dmitriev"))
    assert followed.body["type"] == 4 and dc.flags(followed) & dc.EPHEMERAL
    [follow] = await follows.of_user(team, USER)  # no Manage Server needed: it is the user's own
    assert follow.query == "Witkoff AND Dmitriev" and follow.platform == "discord"
    assert f"follow {follow.follow_id}" in shown(followed)

    [listed] = await dc.invoke(fake, adapter, dc.command("follows"))
    assert dc.flags(listed) & dc.EPHEMERAL
    assert "You follow 1 of" in shown(listed) and "Witkoff AND Dmitriev" in shown(listed)

    [stopped] = await dc.invoke(fake, adapter, dc.command("unfollow", ref=follow.follow_id))
    assert dc.flags(stopped) & dc.EPHEMERAL and "Unfollowed Witkoff AND Dmitriev" in shown(stopped)
    assert await follows.of_user(team, USER) == []


async def test_a_bad_follow_query_is_refused_with_its_column(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    [answer] = await dc.invoke(fake, adapter, dc.command("follow", query="Witkoff AND (Donbas"))
    assert dc.flags(answer) & dc.EPHEMERAL
    assert answer.body["data"]["embeds"][0]["color"] == 0xE8710A
    text = answer.body["data"]["embeds"][0]["description"]
    assert "1:20: expected ')'" in text and "`" + " " * 19 + "^`" in text  # line 1, column 20
    assert await FollowStore(redis_client).of_user(f"discord:{fake.guild_id}", USER) == []


async def test_sync_registers_the_follow_commands(fake: FakeDiscord) -> None:
    await sync_commands(dc.settings_for(fake), guild_id=fake.guild_id)
    [group] = fake.commands[str(fake.guild_id)]
    subs = {o["name"]: o for o in group["options"]}
    assert {"follow", "unfollow", "follows"} <= set(subs)
    assert [o["name"] for o in subs["follow"]["options"]] == ["query"]
    assert [o["name"] for o in subs["unfollow"]["options"]] == ["ref"]
