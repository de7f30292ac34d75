"""/peacewatch home on Discord: the team dashboard as an embed only the caller sees."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter import DiscordAdapter
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.store.teams import TeamStore
from tests import test_discord_commands as dc
from tests.fakes.discord_api import FakeDiscord

fake = dc.fake
adapter = dc.adapter


async def test_home_shows_the_dashboard_to_the_caller_alone(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    rule = RuleSpec(id="witkoff", query="Witkoff AND Dmitriev", channels=["discord:1234567890"])
    await TeamStore(redis_client).put_rule(team, rule)
    [answer] = await dc.invoke(fake, adapter, dc.command("home"))
    assert dc.flags(answer) & dc.EPHEMERAL
    shown = json.dumps(answer.body, ensure_ascii=False)
    assert "Your team's dashboard: 1 rules" in shown
    assert "witkoff (active)" in shown and "0 alerts in 7 days" in shown
    assert "Witkoff AND Dmitriev" in shown
