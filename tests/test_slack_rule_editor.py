"""The rule editor: the query checked as typed, a backtest over stored history, admin-only saves.

Service-level figures are checked against articles stored in the history; the Slack flow goes
through the real bolt handlers (button in App Home -> views.open, typing -> views.update,
submission -> saved or refused) against the fake Slack, which checks every view as Block Kit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import redis.asyncio as aioredis

from peacewatch.bot.slack_adapter.editor import (
    ACTION_QUERY,
    BLOCK_CHANNELS,
    BLOCK_DIGEST,
    BLOCK_ID,
    BLOCK_MIN,
    BLOCK_QUERY,
    CALLBACK_RULE_MODAL,
    rule_modal,
)
from peacewatch.bot.slack_adapter.home import ACTION_RULE_EDIT, ACTION_RULE_NEW, ACTION_RULE_SUGGEST
from peacewatch.models import Article
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.services.replies import Caller
from peacewatch.services.views import RuleForm
from peacewatch.store.articles import ArticleStore
from peacewatch.store.history import HistoryIndex
from peacewatch.store.teams import TeamStore
from tests import test_rules_suggest, test_slack_commands
from tests.test_slack_commands import Env, signed_headers

env = test_slack_commands.env
slack = test_slack_commands.slack

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ADMIN = Caller("slack", "slack:T1", "UADMIN", "slack:C1", platform_admin=True)
MEMBER = Caller("slack", "slack:T1", "UMEMBER", "slack:C1")
GOLDEN = Path(__file__).parent / "golden" / "slack_rule_modal.json"
COUNTS = (0, 2, 5, 1, 0, 3, 4)


async def store(
    redis: aioredis.Redis, history: HistoryIndex, aid: str, title: str, age: timedelta
) -> None:
    article = Article(
        id=aid,
        title=title,
        link=f"https://example.org/{aid}",
        published=NOW - age,
        source="example.org",
        summary=title,
    )
    await ArticleStore(redis).save(article)
    await history.index(article)


async def seed_history(redis: aioredis.Redis) -> None:
    history = HistoryIndex(redis, clock=lambda: NOW)
    await store(redis, history, "a1", "Witkoff lands in Moscow", timedelta(hours=1))
    await store(redis, history, "a2", "Witkoff meets Dmitriev", timedelta(days=1, hours=1))
    await store(redis, history, "a3", "Witkoff briefs Rubio", timedelta(days=1, hours=3))
    await store(redis, history, "a4", "Witkoff plan, first draft", timedelta(days=3))
    await store(redis, history, "a5", "Witkoff in Geneva", timedelta(days=10))  # too old
    await store(redis, history, "a6", "Umerov in Miami", timedelta(hours=2))  # no match


def service_at(redis: aioredis.Redis) -> CommandService:
    return CommandService(redis, clock=lambda: NOW, history=HistoryIndex(redis, clock=lambda: NOW))


async def test_the_backtest_counts_matches_per_day_from_history(
    redis_client: aioredis.Redis,
) -> None:
    await seed_history(redis_client)
    backtest = await service_at(redis_client).backtest(ADMIN, "Witkoff")
    days = dict(backtest.days)
    assert len(days) == 7 and min(days) == date(2026, 11, 26) and max(days) == date(2026, 12, 2)
    assert days[date(2026, 12, 2)] == 1
    assert days[date(2026, 12, 1)] == 2
    assert days[date(2026, 11, 29)] == 1
    assert sum(days.values()) == backtest.total == 4 and backtest.exact
    assert [t for t, _ in backtest.examples] == [
        "Witkoff lands in Moscow",
        "Witkoff meets Dmitriev",
        "Witkoff briefs Rubio",
    ]


async def test_a_bad_query_is_reported_with_its_column(redis_client: aioredis.Redis) -> None:
    service = service_at(redis_client)
    check = await service.check_query(ADMIN, "Witkoff AND (Donbas")
    assert not check.ok and check.column == 20
    editor = await service.rule_editor(ADMIN, RuleForm(query="Witkoff AND (Donbas"))
    assert editor.backtest is None
    shown = json.dumps(rule_modal(editor), ensure_ascii=False)
    assert ":x: column 20:" in shown and " " * 19 + "^" in shown


async def test_saving_needs_an_admin_and_a_refusal_changes_nothing(
    redis_client: aioredis.Redis,
) -> None:
    service = service_at(redis_client)
    form = RuleForm("w1", "Witkoff", ("slack:C1",), 2, "daily")
    refused = await service.save_rule(MEMBER, form)
    assert refused.error and "Only workspace admins" in refused.text
    assert await redis_client.keys("*") == []
    saved = await service.save_rule(ADMIN, form)
    assert not saved.error, saved.text
    rule = await TeamStore(redis_client).rule("slack:T1", "w1")
    assert rule is not None and (rule.min_sources, rule.digest) == (2, "daily")


def test_the_modal_matches_the_golden_block_kit() -> None:
    from peacewatch.services.views import Backtest, QueryCheck, RuleEditor

    editor = RuleEditor(
        RuleForm("witkoff-donbas", 'Witkoff AND (Donbas OR "security guarantees")',
                 ("slack:C0123ABCD",), 1, "none", existing=True),
        QueryCheck(True),
        Backtest(
            tuple((date(2026, 11, 26) + timedelta(days=i), n) for i, n in enumerate(COUNTS)),
            15,
            True,
            (("Witkoff meets Umerov in Miami", "https://example.org/1"),
             ("Dmitriev: security guarantees first", "https://example.org/2"),
             ("Donbas line talks resume", "https://example.org/3")),
        ),
        True,
    )  # fmt: skip
    assert rule_modal(editor) == json.loads(GOLDEN.read_text())


# The Slack flow ---------------------------------------------------------------------------------


async def interact(env: Env, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Post an interaction payload; return the JSON the app answered with (None if empty)."""
    body = urlencode({"payload": json.dumps(payload)})
    async with env.http.post(env.events_url, data=body, headers=signed_headers(body)) as response:
        assert response.status == 200
        text = await response.text()
    return json.loads(text) if text.strip() else None


def button(user: str, action_id: str, value: str = "") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "peace-desk"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "VHOME"},
        "trigger_id": "1.2.3",
        "view": {"id": "VHOME", "type": "home"},
        "actions": [
            {"type": "button", "action_id": action_id, "block_id": "b", "value": value,
             "action_ts": "1700000001.000001"}
        ],
    }  # fmt: skip


def state(query: str, rule_id: str = "", channels: tuple[str, ...] = ("C1",)) -> dict[str, Any]:
    values: dict[str, Any] = {
        BLOCK_QUERY: {ACTION_QUERY: {"type": "plain_text_input", "value": query}},
        BLOCK_CHANNELS: {
            "pw_rule_channels": {
                "type": "multi_conversations_select",
                "selected_conversations": list(channels),
            }
        },
        BLOCK_MIN: {"pw_rule_min": {"type": "number_input", "value": "1"}},
        BLOCK_DIGEST: {
            "pw_rule_digest": {"type": "static_select", "selected_option": {"value": "none"}}
        },
    }
    if rule_id:
        values[BLOCK_ID] = {"pw_rule_id": {"type": "plain_text_input", "value": rule_id}}
    return {"values": values}


def modal(view_id: str, opened: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": view_id,
        "hash": "1.abc",
        "type": "modal",
        "callback_id": CALLBACK_RULE_MODAL,
        "private_metadata": opened["private_metadata"],
        "state": values,
    }


async def typing(env: Env, user: str, view_id: str, query: str) -> dict[str, Any]:
    opened = env.slack.views[view_id]
    payload = button(user, ACTION_QUERY) | {
        "container": {"type": "view", "view_id": view_id},
        "view": modal(view_id, opened, state(query, "w-new")),
    }
    payload["actions"] = [
        {"type": "plain_text_input", "action_id": ACTION_QUERY, "block_id": BLOCK_QUERY,
         "value": query, "action_ts": "1700000002.000001"}
    ]  # fmt: skip
    before = len(env.slack.calls_to("views.update"))
    await interact(env, payload)
    await env.slack.wait_for(lambda: len(env.slack.calls_to("views.update")) > before)
    return env.slack.views[view_id]


async def submit(
    env: Env, user: str, view_id: str, values: dict[str, Any]
) -> dict[str, Any] | None:
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "peace-desk"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": "1.2.4",
        "view": modal(view_id, env.slack.views[view_id], values),
    }
    return await interact(env, payload)


async def open_modal(env: Env, user: str, action: str, value: str = "") -> str:
    before = set(env.slack.views)
    await interact(env, button(user, action, value))
    await env.slack.wait_for(lambda: set(env.slack.views) - before)
    (view_id,) = set(env.slack.views) - before
    return view_id


async def test_new_rule_modal_checks_as_you_type_and_saves(env: Env) -> None:
    await seed_history(env.redis)
    view_id = await open_modal(env, "UADMIN", ACTION_RULE_NEW)
    assert env.slack.calls_to("views.open")[0].args["trigger_id"] == "1.2.3"
    broken = json.dumps(
        await typing(env, "UADMIN", view_id, "Witkoff AND (Donbas"), ensure_ascii=False
    )
    assert ":x: column 20:" in broken and "Backtest:" not in broken
    fixed = json.dumps(await typing(env, "UADMIN", view_id, "Witkoff"), ensure_ascii=False)
    assert ":white_check_mark: The query parses." in fixed
    assert "Backtest:" in fixed  # the real clock's history window; figures checked above
    answer = await submit(env, "UADMIN", view_id, state("Witkoff AND Dmitriev", "w-new"))
    assert answer is None  # an empty ack closes the modal
    rule = await TeamStore(env.redis).rule("slack:T1", "w-new")
    assert rule is not None and rule.query == "Witkoff AND Dmitriev"
    assert rule.channels == ["slack:C1"]


async def test_a_member_cannot_save_and_nothing_changes(env: Env) -> None:
    await TeamStore(env.redis).put_rule(
        "slack:T1", RuleSpec(id="r1", query="Witkoff", channels=["slack:C1"])
    )
    view_id = await open_modal(env, "UMEMBER", ACTION_RULE_EDIT, "r1")
    opened = env.slack.views[view_id]
    assert "Only workspace admins" in json.dumps(opened)
    answer = await submit(env, "UMEMBER", view_id, state("Putin"))
    assert answer is not None and answer["response_action"] == "errors"
    assert "Only workspace admins" in answer["errors"][BLOCK_QUERY]
    rule = await TeamStore(env.redis).rule("slack:T1", "r1")
    assert rule is not None and rule.query == "Witkoff"


async def test_editing_keeps_the_rule_id_and_updates_it(env: Env) -> None:
    await TeamStore(env.redis).put_rule(
        "slack:T1", RuleSpec(id="r1", query="Witkoff", channels=["slack:C1"])
    )
    view_id = await open_modal(env, "UADMIN", ACTION_RULE_EDIT, "r1")
    assert "Witkoff" in json.dumps(env.slack.views[view_id])
    assert (
        await submit(env, "UADMIN", view_id, state("Witkoff OR Kushner", channels=("C2",))) is None
    )
    rule = await TeamStore(env.redis).rule("slack:T1", "r1")
    assert rule is not None and rule.query == "Witkoff OR Kushner" and rule.channels == ["slack:C2"]
    assert [r.id for r in await TeamStore(env.redis).rules("slack:T1")] == ["r1"]


async def test_suggest_opens_the_refinement_and_its_backtest_in_a_modal(env: Env) -> None:
    service = CommandService(env.redis)
    await test_rules_suggest.seed(env.redis, service, datetime.now(UTC))
    view_id = await open_modal(env, "UMEMBER", ACTION_RULE_SUGGEST, "witkoff")
    await env.slack.wait_for(lambda: env.slack.calls_to("views.update"))  # the answer, after
    shown = json.dumps(env.slack.views[view_id], ensure_ascii=False)
    assert "(Witkoff) -opinion" in shown
    assert "removed 3 of the 3 marked not relevant and lost 1 of the 4 kept" in shown
