"""Team admins list and remove another member's follows (``follows @user``, ``unfollow @user
ID|all``), through the real Slack app, pipeline and dispatcher against the fake Slack, and
through discord.py's command tree against the fake Discord (``follows member:``, ``unfollow
ref:``); anyone else is refused with the usual clear error and changes nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter import DiscordAdapter, sync_commands
from peacewatch.errors import InputError
from peacewatch.services.commands.base import HELP
from peacewatch.services.parsing import parse_command, split_user
from peacewatch.store import keys
from peacewatch.store.follows import FollowStore
from tests import test_discord_commands as dc
from tests import test_follows, test_slack_commands
from tests.fakes.discord_api import FakeDiscord, Seen
from tests.test_follows import Pipe, report, said
from tests.test_slack_commands import Env
from tests.test_slack_home import texts

env = test_slack_commands.env
slack = test_slack_commands.slack
pipe = test_follows.pipe
fake = dc.fake
adapter = dc.adapter

__all__ = ["adapter", "env", "fake", "pipe", "slack"]  # the fixtures

TEAM = "slack:T1"
DEPARTED = "300000000000000011"
PRESENT = "300000000000000012"
CALLER = "600000000000000001"
"""The member ``FakeDiscord.interaction_payload`` sends as."""
USER_OPTION = 6


async def held(env: Env, user: str) -> list[str]:
    return [f.query for f in await FollowStore(env.redis).of_user(TEAM, user)]


async def test_a_member_may_not_list_or_remove_anothers_follows(env: Env) -> None:
    env.slack.add_user("UOTHER", "ola")
    await env.command("follow actor:witkoff", user="UMEMBER")
    listed = said(await env.command("follows <@UMEMBER|max>", user="UOTHER", name="list"))
    assert "Only workspace admins and this team's peacewatch admins" in listed
    assert "actor:witkoff" not in listed
    refused = said(await env.command("unfollow <@UMEMBER|max> all", user="UOTHER", name="rm"))
    assert "Only workspace admins and this team's peacewatch admins" in refused
    assert "admins add" in refused  # how to get the right
    assert await held(env, "UMEMBER") == ["actor:witkoff"]
    # their own follows, named with their own mention, stay theirs to change
    await env.command("follow Kushner", user="UOTHER", name="own")
    assert "Kushner" in said(await env.command("follows <@UOTHER>", user="UOTHER", name="mine"))
    assert "Unfollowed" in said(await env.command("unfollow <@UOTHER> 1", user="UOTHER"))
    assert await held(env, "UOTHER") == []


async def test_an_admin_lists_and_removes_anothers_follows(
    env: Env, pipe: Pipe, caplog: pytest.LogCaptureFixture
) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    await env.command("follow Kushner", user="UMEMBER", name="second")
    await env.command("follow Donbas", user="UMEMBER", name="third")
    version = await env.redis.get(keys.rules_version())

    listed = said(await env.command("follows <@UMEMBER|max>", user="UADMIN", name="list"))
    assert "<@UMEMBER> follows 3 of at most" in listed
    assert "actor:witkoff" in listed and "Kushner" in listed and "Donbas" in listed
    assert "unfollow <@UMEMBER> ID" in listed

    with caplog.at_level(logging.INFO, logger="peacewatch.services.commands.follows"):
        one = said(await env.command("unfollow <@UMEMBER|max> 2", user="UADMIN", name="one"))
    assert "Removed <@UMEMBER>'s follow 2" in one and "Kushner" in one
    assert await held(env, "UMEMBER") == ["actor:witkoff", "Donbas"]
    audit = [r.getMessage() for r in caplog.records if "admin UADMIN removed" in r.getMessage()]
    assert audit == ["admin UADMIN removed 1 follow of UMEMBER in slack:T1 (2)"]

    missing = said(await env.command("unfollow <@UMEMBER> 9", user="UADMIN", name="missing"))
    assert "<@UMEMBER> follows nothing called '9'" in missing and "Donbas" in missing

    rest = said(await env.command("unfollow <@UMEMBER> all", user="UOWNER", name="all"))
    assert "Removed 2 of <@UMEMBER>'s follows" in rest
    assert await held(env, "UMEMBER") == []
    assert await env.redis.get(keys.rules_version()) != version  # the matcher recompiles
    none = said(await env.command("follows <@UMEMBER>", user="UADMIN", name="none"))
    assert "<@UMEMBER> follows nothing here" in none

    await pipe.send(report(0))
    assert env.slack.messages == []  # no DM for a removed follow


async def test_an_admins_removal_refreshes_the_members_app_home(env: Env) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")  # refreshes their home
    await env.slack.wait_for(lambda: "UMEMBER" in env.slack.home_views, 10)
    assert "`actor:witkoff`" in texts(env.slack.home_views["UMEMBER"])

    said(await env.command("unfollow <@UMEMBER> all", user="UADMIN", name="all"))
    emptied = lambda: "You follow nothing yet" in texts(env.slack.home_views["UMEMBER"])  # noqa: E731
    await env.slack.wait_for(emptied, 10)
    # the member's tab, not the admin's, whose follows did not change
    assert {c.args["user_id"] for c in env.slack.calls_to("views.publish")} == {"UMEMBER"}


async def test_unfollow_other_says_what_to_give(env: Env) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    answer = said(await env.command("unfollow <@UMEMBER>", user="UADMIN", name="which"))
    assert "Unfollow which of <@UMEMBER>'s follows?" in answer
    assert await held(env, "UMEMBER") == ["actor:witkoff"]
    wrong = said(await env.command("follows maria", user="UADMIN", name="wrong"))
    assert "admins add @user to list someone else's" in wrong


def test_the_grammar_takes_a_leading_mention_only() -> None:
    assert split_user("<@U0123|maria> all") == ("U0123", "all")
    assert split_user("<@!300000000000000007> 3") == ("300000000000000007", "3")
    assert split_user("@U0123") == ("U0123", "")
    assert split_user("actor:witkoff") == (None, "actor:witkoff")
    assert split_user('"security guarantees" <@U1>') == (None, '"security guarantees" <@U1>')
    assert parse_command("/peacewatch follows <@U0123|maria>").arg == "<@U0123|maria>"
    assert parse_command("unfollow <@U0123> all").arg == "<@U0123> all"


@pytest.mark.parametrize("word", ["@maria", "<@maria>", "@12345", "<@U1>", "@", "@u0123"])
def test_a_name_that_is_no_platform_id_is_refused(word: str) -> None:
    with pytest.raises(InputError, match=r"is not a user mention.*<@U0123ABCD>"):
        split_user(f"{word} all")


async def test_an_admin_typing_a_display_name_is_told_to_mention(env: Env) -> None:
    """``@maria`` typed as text (not picked from the menu) is a name, not the user id
    ``maria``: the admin is told the form, and nothing is removed."""
    await env.command("follow actor:witkoff", user="UMEMBER")
    listing = said(await env.command("follows @max", user="UADMIN", name="list"))
    assert "'@max' is not a user mention" in listing and "<@U0123ABCD>" in listing
    removing = said(await env.command("unfollow @max all", user="UADMIN", name="rm"))
    assert "'@max' is not a user mention" in removing
    assert await held(env, "UMEMBER") == ["actor:witkoff"]


def test_help_names_the_admin_forms() -> None:
    shown = " ".join(f"{usage} {example}" for usage, example in HELP)
    assert "follows @user" in shown and "unfollow @user ID|all" in shown


async def test_a_discord_admin_removes_anothers_follows_through_the_ref_option(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    follows = FollowStore(redis_client)
    await follows.add(team, DEPARTED, "discord", "actor:witkoff", 0.0)
    await follows.add(team, DEPARTED, "discord", "Kushner", 0.0)
    data = dc.command("unfollow", ref=f"<@{DEPARTED}> all")

    [refused] = await dc.invoke(fake, adapter, data, permissions=0)
    assert "Only members with Manage Server" in dc.titles(refused)
    assert len(await follows.of_user(team, DEPARTED)) == 2

    [removed] = await dc.invoke(fake, adapter, data, permissions=dc.MANAGE_GUILD)
    assert dc.flags(removed) & dc.EPHEMERAL
    assert f"Removed 2 of <@{DEPARTED}>'s follows" in dc.titles(removed)
    assert await follows.of_user(team, DEPARTED) == []


def follows_of(user_id: str, *, in_server: bool) -> dict[str, Any]:
    """``/peacewatch follows member:USER`` as Discord sends it: the option's value is the user's
    id, and ``resolved`` carries the user, with their member entry only while they are in
    the server."""
    data = dc.command("follows")
    [sub] = data["options"]
    sub["options"] = [{"type": USER_OPTION, "name": "member", "value": user_id}]
    user = {
        "id": user_id,
        "username": f"user{user_id[-4:]}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
    }
    resolved: dict[str, Any] = {"users": {user_id: user}}
    if in_server:
        resolved["members"] = {
            user_id: {
                "roles": [],
                "joined_at": "2025-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": "0",
            }
        }
    data["resolved"] = resolved
    return data


def shown(answer: Seen) -> str:
    return json.dumps(answer.body, ensure_ascii=False)


async def test_a_discord_admin_lists_anothers_follows_through_the_member_option(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    follows = FollowStore(redis_client)
    await follows.add(team, DEPARTED, "discord", "actor:witkoff", 0.0)
    await follows.add(team, DEPARTED, "discord", "Kushner", 0.0)
    await follows.add(team, CALLER, "discord", "Donbas", 0.0)

    # someone who left the server: Discord resolves them as a user only
    [listed] = await dc.invoke(
        fake, adapter, follows_of(DEPARTED, in_server=False), permissions=dc.MANAGE_GUILD
    )
    assert dc.flags(listed) & dc.EPHEMERAL
    assert f"<@{DEPARTED}> follows 2 of at most" in dc.titles(listed)
    assert "actor:witkoff" in shown(listed) and "Kushner" in shown(listed)
    assert "Donbas" not in shown(listed)  # the caller's own are not theirs

    # a member still in the server
    await follows.add(team, PRESENT, "discord", "Dmitriev", 0.0)
    [present] = await dc.invoke(
        fake, adapter, follows_of(PRESENT, in_server=True), permissions=dc.MANAGE_GUILD
    )
    assert f"<@{PRESENT}> follows 1 of at most" in dc.titles(present)
    assert "Dmitriev" in shown(present)

    # without the option, or naming themselves: the caller's own
    [own] = await dc.invoke(fake, adapter, dc.command("follows"), permissions=dc.MANAGE_GUILD)
    assert "You follow 1 of" in dc.titles(own) and "Donbas" in shown(own)
    [named] = await dc.invoke(fake, adapter, follows_of(CALLER, in_server=True))
    assert "You follow 1 of" in dc.titles(named) and "Donbas" in shown(named)


async def test_a_discord_member_may_not_list_anothers_follows(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    await FollowStore(redis_client).add(team, PRESENT, "discord", "actor:witkoff", 0.0)
    [refused] = await dc.invoke(fake, adapter, follows_of(PRESENT, in_server=True))
    assert dc.flags(refused) & dc.EPHEMERAL
    assert "Only members with Manage Server" in dc.titles(refused)
    assert "actor:witkoff" not in shown(refused)


async def test_sync_registers_the_follows_member_option(fake: FakeDiscord) -> None:
    await sync_commands(dc.settings_for(fake), guild_id=fake.guild_id)
    [group] = fake.commands[str(fake.guild_id)]
    [listing] = [o for o in group["options"] if o["name"] == "follows"]
    [member] = listing["options"]
    assert member["name"] == "member" and member["type"] == USER_OPTION
    assert not member.get("required", False)
