"""Mutes stop alerts: a muted rule alerts nothing until it is unmuted, and a story muted in a
channel gets no more follow-ups there (other channels still do)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from peacewatch.bot.replies import Caller
from peacewatch.models import AlertKind, Article
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.store.codec import alert_from_json
from peacewatch.store.teams import TeamStore
from tests.helpers import SAMPLE_ITEMS
from tests.story_driver import Ingest

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
ADMIN = Caller("slack", "slack:T1", "U1", "slack:C1", platform_admin=True)
MT = (
    "Witkoff and Kushner Meet With Putin to Discuss Trump's Ukraine Peace Plan",
    "https://www.themoscowtimes.com/2025/12/02/a91303",
)
BBC = (
    "Witkoff and Kushner meet Putin in Moscow to discuss Trump's Ukraine peace plan",
    "https://www.bbc.com/news/articles/c0example",
)


def article(aid: str, title: str, link: str, minutes: int) -> Article:
    summary = "Trump's envoy sought Putin's buy-in on the peace framework."
    host = urlsplit(link).hostname or ""
    return Article(aid, title, link, NOW + timedelta(minutes=minutes), host, summary=summary)


async def alerts(teams: TeamStore) -> list[Any]:
    return [alert_from_json(t) for t in reversed(await teams.recent_alerts("slack:T1", 50))]


async def test_a_muted_rule_alerts_nothing_until_unmuted(redis_client: Any) -> None:
    teams = TeamStore(redis_client)
    await teams.put_rule("slack:T1", RuleSpec(id="envoys", query="Witkoff", channels=["slack:C1"]))
    service = CommandService(redis_client, clock=lambda: NOW)
    reply = await service.handle_text(ADMIN, "mute envoys for 2h")
    assert not reply.error, reply.text
    ingest = Ingest(redis_client, clock=lambda: NOW)
    await ingest.ingest([article("a1", *MT, 0)])
    assert await alerts(teams) == []
    assert not (await service.handle_text(ADMIN, "unmute envoys")).error
    await ingest.ingest([article("a2", SAMPLE_ITEMS[0]["title"], SAMPLE_ITEMS[0]["link"], 5)])
    assert [a.article_id for a in await alerts(teams)] == ["a2"]


async def test_a_story_muted_in_a_channel_gets_no_more_follow_ups_there(
    redis_client: Any,
) -> None:
    teams = TeamStore(redis_client)
    rule = RuleSpec(id="envoys", query="Witkoff", channels=["slack:C1", "slack:C2"])
    await teams.put_rule("slack:T1", rule)
    ingest = Ingest(redis_client, clock=lambda: NOW)
    await ingest.ingest([article("a1", *MT, 0)])
    root = (await alerts(teams))[0]
    service = CommandService(redis_client, clock=lambda: NOW)
    muted = await service.feedback(ADMIN, root.story_id, "mute_story", root.alert_id)
    assert not muted.error
    await ingest.ingest([article("a2", *BBC, 60)])
    got = await alerts(teams)
    follow_ups = [a for a in got if a.kind is AlertKind.FOLLOWUP]
    assert [str(a.destination) for a in follow_ups] == ["slack:C2"]  # C1 muted the story
    assert follow_ups[0].story_id == root.story_id
