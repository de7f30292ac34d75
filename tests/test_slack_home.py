"""App Home: published on app_home_opened through the real bolt app, refreshed after a change.

The fake Slack checks every published view with slack_sdk's Block Kit models, as Slack would
refuse a view that breaks a limit.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from peacewatch.bot.slack_adapter.home import ACTION_RULE_EDIT, ACTION_RULE_NEW, home_view
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.services.views import ChannelRow, FeedRow, Home, RuleRow, StoryRow
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.codec import alert_to_json
from peacewatch.store.teams import TeamStore
from tests import test_slack_commands
from tests.fakes.slack_api import sample_alert
from tests.test_slack_commands import Env, signed_headers

env = test_slack_commands.env
slack = test_slack_commands.slack

GOLDEN = Path(__file__).parent / "golden" / "slack_app_home.json"


def home_event(user: str, tab: str = "home") -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": f"Ev{user}{tab}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D1",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            },
        }
    )


async def open_home(env: Env, user: str) -> dict[str, Any]:
    body = home_event(user)
    headers = signed_headers(body) | {"Content-Type": "application/json"}
    before = len(env.slack.calls_to("views.publish"))
    response = await env.post(body, headers)
    assert response.status == 200
    await env.slack.wait_for(lambda: len(env.slack.calls_to("views.publish")) > before)
    return env.slack.home_views[user]


async def seed(redis: aioredis.Redis) -> None:
    teams = TeamStore(redis)
    now = datetime.now(UTC)
    await teams.put_rule("slack:T1", RuleSpec(id="witkoff", query="Witkoff", channels=["slack:C1"]))
    await teams.put_rule(
        "slack:T1", RuleSpec(id="quiet-one", query="Kellogg", channels=["slack:C2"])
    )
    await teams.mute("slack:T1", "quiet-one", now + timedelta(hours=3))
    for i, age in enumerate((timedelta(hours=2), timedelta(days=3), timedelta(days=10))):
        alert = replace(
            sample_alert(alert_id=f"a{i}", story_id=f"s{i}", outlets=("BBC", "Reuters")[: i + 1]),
            created=now - age,
            headline=f"Story {i}",
        )
        await teams.record_alert("slack:T1", alert_to_json(alert), now - age, alert.alert_id)
    await AlertQueue(redis).record_failure("slack:C2", "channel_not_found", now.timestamp())


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_opening_the_tab_publishes_the_teams_dashboard(env: Env) -> None:
    await seed(env.redis)
    view = await open_home(env, "UADMIN")
    assert view["type"] == "home"
    shown = texts(view)
    # rules with hits over 7 days (the 10-day-old alert is not counted), last alert, mute state
    assert "*witkoff* · active" in shown and "2 alerts in 7 days" in shown
    assert "*quiet-one* · :zzz: muted until" in shown and "0 alerts in 7 days" in shown
    assert "last alert: none in 30 days" in shown
    # delivery per channel, and the day's top stories (only the 2-hour-old one)
    assert ":x: slack:C2 · failing since" in shown and "channel_not_found" in shown
    assert ":white_check_mark: slack:C1 · ok" in shown
    assert "Story 0" in shown and "Story 1" not in shown
    # an admin gets the editing controls
    assert ACTION_RULE_NEW in shown and ACTION_RULE_EDIT in shown


async def test_a_member_sees_the_dashboard_without_editing_controls(env: Env) -> None:
    await seed(env.redis)
    shown = texts(await open_home(env, "UMEMBER"))
    assert "*witkoff*" in shown
    assert ACTION_RULE_NEW not in shown and ACTION_RULE_EDIT not in shown


async def test_the_messages_tab_is_left_alone(env: Env) -> None:
    body = home_event("UADMIN", tab="messages")
    response = await env.post(body, signed_headers(body) | {"Content-Type": "application/json"})
    assert response.status == 200
    await open_home(env, "UMEMBER")  # a later event is answered, the first one was not
    assert list(env.slack.home_views) == ["UMEMBER"]


async def test_a_rule_change_refreshes_the_open_homes(env: Env) -> None:
    first = texts(await open_home(env, "UMEMBER"))
    assert "No rules yet" in first
    published = len(env.slack.calls_to("views.publish"))
    answer = await env.command("rules add new-rule Dmitriev", user="UADMIN")
    assert "new-rule" in json.dumps(answer)
    await env.slack.wait_for(lambda: len(env.slack.calls_to("views.publish")) > published)
    refreshed = env.slack.home_views["UMEMBER"]
    assert "*new-rule*" in texts(refreshed)


def test_only_state_changing_commands_ask_for_a_refresh(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client)
    for text in ("rules add r1 Witkoff", "mute r1", "feeds remove f1", "quiet off", "admins list"):
        assert service.changes_state(text), text
    for text in ("rules list", "search Witkoff", "help", "status", "no such command"):
        assert not service.changes_state(text), text


def sample_home() -> Home:
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    return Home(
        team_id="slack:T1",
        user_id="UADMIN",
        can_edit=True,
        rules=(
            RuleRow(
                "witkoff-donbas",
                'Witkoff AND (Donbas OR "security guarantees")',
                ("slack:C0123ABCD",),
                12,
                now - timedelta(hours=1),
                None,
            ),
            RuleRow(
                "kellogg",
                "Kellogg NEAR/5 ceasefire",
                ("slack:C0456EFGH",),
                0,
                None,
                now + timedelta(hours=3),
            ),
        ),
        feeds=(
            FeedRow(
                "f1", "BBC News", "https://feeds.bbci.co.uk/news/rss.xml", True, "2026-12-02T07:58"
            ),
            FeedRow(
                "f2",
                "Meduza",
                "https://meduza.io/rss/en/all",
                False,
                "2026-12-02T07:55",
                "HTTP 503",
            ),
        ),
        channels=(
            ChannelRow("slack:C0123ABCD", True, "", 0),
            ChannelRow("slack:C0456EFGH", False, "2026-12-02 07:40:00 UTC", 3, "channel_not_found"),
        ),
        stories=(
            StoryRow(
                "Witkoff & Umerov meet in Miami <again>",
                "https://example.org/s1",
                7,
                ("witkoff-donbas",),
            ),
        ),
        rule_count=2,
        feed_count=2,
        generated=now,
    )


def test_the_rendered_home_matches_the_golden_block_kit() -> None:
    view = home_view(sample_home())
    assert "Witkoff &amp; Umerov meet in Miami &lt;again&gt;" in json.dumps(view)
    assert "slack:C" not in json.dumps(view)  # channels as mentions, never as ids
    assert view == json.loads(GOLDEN.read_text())


def test_a_home_with_many_rules_stays_within_slacks_limits() -> None:
    home = sample_home()
    rule = home.rules[0]
    many = tuple(replace(rule, rule_id=f"r{i}", query="x " * 900) for i in range(25))
    view = home_view(replace(home, rules=many, rule_count=400))
    assert len(view["blocks"]) <= 100
    assert "375 more" in json.dumps(view)
