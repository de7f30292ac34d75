"""``rules suggest ID``: a -word refinement from alerts marked not relevant, with its backtest."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from peacewatch.models import Article
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.services.replies import Caller
from peacewatch.store.articles import ArticleStore
from peacewatch.store.codec import alert_to_json
from peacewatch.store.teams import TeamStore
from tests.fakes.slack_api import sample_alert

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MEMBER = Caller("slack", "slack:T1", "U2", "slack:C1")
DISMISSED = (
    "Opinion: Witkoff is wrong about Donbas",
    "Witkoff's critics, an opinion column",
    "Why Witkoff fails, opinion by a pundit",
)
KEPT = (
    "Witkoff meets Umerov in Miami",
    "Witkoff and Dmitriev agree on a draft",
    "Witkoff lands in Moscow for talks",
    "Witkoff answers opinion polls on the plan",
)


async def seed(redis: aioredis.Redis, service: CommandService, now: datetime = NOW) -> None:
    teams = TeamStore(redis)
    await teams.put_rule("slack:T1", RuleSpec(id="witkoff", query="Witkoff", channels=["slack:C1"]))
    for i, title in enumerate(DISMISSED + KEPT):
        article = Article(
            id=f"art{i}", title=title, link=f"https://example.org/{i}", published=now,
            source="example.org", summary=title,
        )  # fmt: skip
        await ArticleStore(redis).save(article)
        alert = replace(
            sample_alert(alert_id=f"al{i}", story_id=f"s{i}"),
            article_id=article.id,
            rule_id="witkoff",
            created=now - timedelta(hours=i),
        )
        await teams.record_alert("slack:T1", alert_to_json(alert), alert.created, alert.alert_id)
        if title in DISMISSED:  # the real "Not relevant" button's path
            reply = await service.feedback(MEMBER, f"s{i}", "not_relevant", f"al{i}")
            assert not reply.error


async def test_a_refinement_is_proposed_with_its_backtest(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    await seed(redis_client, service)
    reply = await service.handle_text(MEMBER, "rules suggest witkoff")
    assert not reply.error, reply.text
    assert "`(Witkoff) -opinion`" in reply.text
    assert "removed 3 of the 3 marked not relevant and lost 1 of the 4 kept" in reply.text
    assert reply.footer == "Apply it: /peacewatch rules add witkoff (Witkoff) -opinion"
    # the suggestion only reads: the rule is as it was
    rule = await TeamStore(redis_client).rule("slack:T1", "witkoff")
    assert rule is not None and rule.query == "Witkoff"


async def test_without_feedback_it_says_how_to_give_some(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    await TeamStore(redis_client).put_rule(
        "slack:T1", RuleSpec(id="witkoff", query="Witkoff", channels=["slack:C1"])
    )
    reply = await service.handle_text(MEMBER, "rules suggest witkoff")
    assert "No alert of witkoff was marked not relevant yet" in reply.title
    unknown = await service.handle_text(MEMBER, "rules suggest nope")
    assert unknown.error and "There is no rule 'nope'" in unknown.text
