"""``/peacewatch rules suggest`` on Discord: the refinement learned from "Not relevant" with its
backtest, shown to the caller alone; Apply (admins only) saves the rule with it."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter import DiscordAdapter
from peacewatch.services.commands import CommandService
from peacewatch.services.replies import Caller
from peacewatch.store.teams import TeamStore
from tests import test_discord_commands as dc
from tests import test_discord_rule_editor as de
from tests.fakes import discord_ui as ui
from tests.fakes.discord_api import FakeDiscord, Seen
from tests.test_rules_suggest import NOW, seed

fake = dc.fake
adapter = de.adapter


async def suggested(
    fake: FakeDiscord, adapter: DiscordAdapter, redis: aioredis.Redis, permissions: int
) -> Seen:
    here = next(iter(fake.channels), None) or fake.add_channel()
    member = Caller("discord", f"discord:{fake.guild_id}", "600000000000000009", f"discord:{here}")
    service = CommandService(redis, clock=lambda: NOW)
    try:
        await seed(redis, service, caller=member)
    finally:
        await service.close()
    data = dc.command("rules", "suggest", rule_id="witkoff")
    deferred, answer = await dc.invoke(fake, adapter, data, permissions=permissions, done=2)
    assert deferred.body["type"] == 5 and dc.flags(deferred) & dc.EPHEMERAL
    assert answer.method == "POST" and dc.flags(answer) & dc.EPHEMERAL
    return answer


async def test_a_member_sees_the_suggestion_without_apply(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    answer = await suggested(fake, adapter, redis_client, permissions=0)
    shown = json.dumps(answer.body, ensure_ascii=False)
    assert "(Witkoff) -opinion" in shown
    assert "removed 3 of the 3 marked not relevant and lost 1 of the 4 kept" in shown
    assert set(ui.buttons(ui.message_of(fake, answer))) == {"Edit"}


async def test_apply_is_for_admins_and_saves_the_refined_query(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    answer = await suggested(fake, adapter, redis_client, permissions=dc.MANAGE_GUILD)
    message = ui.message_of(fake, answer)
    assert set(ui.buttons(message)) == {"Apply", "Edit"}
    apply = ui.press("Apply", message)
    [refused] = await dc.invoke(fake, adapter, apply, kind=ui.COMPONENT, message=message)
    assert refused.body["type"] == 4 and "Manage Server" in json.dumps(refused.body)
    rule = await TeamStore(redis_client).rule(team, "witkoff")
    assert rule is not None and rule.query == "Witkoff"
    [applied] = await dc.invoke(
        fake, adapter, apply, kind=ui.COMPONENT, message=message, permissions=dc.MANAGE_GUILD
    )
    assert applied.body["type"] == 7 and "Updated rule witkoff" in json.dumps(applied.body)
    rule = await TeamStore(redis_client).rule(team, "witkoff")
    assert rule is not None and rule.query == "(Witkoff) -opinion"
    assert rule.channels == [f"discord:{next(iter(fake.channels))}"]
