"""Slack channel names where an id is needed: looked up through conversations.list when Slack is
connected (chat, `peacewatch run`), refused with how to find the id otherwise (`rules import`)."""

# ruff: noqa: F811  (the fixtures imported below are used by name)
from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

from peacewatch.services.rules_io import import_rules_text
from peacewatch.store.teams import TeamStore
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.helpers import SAMPLE_ITEMS, dated, free_port, rss, start_run
from tests.test_slack_commands import SECRET, Env, env, slack  # noqa: F401


async def test_rules_add_with_a_channel_name_uses_its_id(env: Env) -> None:
    for n in range(150):  # more than one page of conversations.list
        env.slack.add_channel(f"C{n:04d}X", f"desk-{n}")
    env.slack.add_channel("CGEN0001", "general")
    env.slack.add_channel("GPRIV001", "negotiations", private=True)
    added = await env.command("rules add envoys Witkoff #general", user="UADMIN")
    assert "slack:CGEN0001" in json.dumps(added)
    (rule,) = await TeamStore(env.redis).rules("slack:T1")
    assert rule.channels == ["slack:CGEN0001"]
    private = await env.command("subscribe envoys slack:#negotiations", user="UADMIN")
    assert "slack:GPRIV001" in json.dumps(private)
    assert len(env.slack.calls_to("conversations.list")) >= 3  # paged through

    missing = await env.command("rules add other Lavrov #no-such-channel", user="UADMIN")
    text = json.dumps(missing)
    assert "no Slack channel named #no-such-channel" in text and "Channel ID" in text
    typo = await env.command("rules add other Lavrov slak:C0123ABCD", user="UADMIN")
    assert "did you mean 'slack'?" in json.dumps(typo)
    assert [r.id for r in await TeamStore(env.redis).rules("slack:T1")] == ["envoys"]


async def test_rules_import_refuses_destinations_nothing_can_serve(
    redis_client: aioredis.Redis,
) -> None:
    text = (
        "rules:\n"
        "  - {id: a, query: Witkoff, channels: ['slak:C0123ABCD']}\n"
        "  - {id: b, query: Witkoff, channels: ['slack:#general']}\n"
        "  - {id: c, query: Witkoff, channels: []}\n"
        "  - {id: d, query: Witkoff, channels: [], digest: daily}\n"
    )
    errors = await import_rules_text(redis_client, "slack:T1", text, "desk.yaml")
    assert [e.split(": ")[0] for e in errors] == [
        "desk.yaml:2:40",
        "desk.yaml:3:40",
        "desk.yaml:4:39",
    ]
    assert "did you mean 'slack'" in errors[0]
    assert "names a channel, but alerts need its id" in errors[1] and "Channel ID" in errors[1]
    assert "alerts would go nowhere" in errors[2]
    assert await TeamStore(redis_client).rules("slack:T1") == []  # all or nothing


async def test_run_looks_up_a_config_channel_name_or_refuses_to_start(tmp_path: Path) -> None:
    items = dated(SAMPLE_ITEMS[:1], datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeSlack() as slack:
        slack.add_channel("CGEN0001", "general")
        feeds.set_feed("/feed.xml", rss(items))
        env = {
            "SLACK_MODE": "http",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
        }
        config = tmp_path / "config.yaml"
        rule = "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['slack:#%s']}\n"
        config.write_text(
            f"feeds:\n  - {{id: local, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
            "rules:\n" + rule % "no-such"
        )
        refused = await start_run(config, tmp_path / "data", free_port(), env)
        _, stderr = await asyncio.wait_for(refused.communicate(), 60)
        assert refused.returncode == 2
        assert "rule 'envoys': 'slack:#no-such'" in stderr.decode()
        assert "Channel ID" in stderr.decode()

        config.write_text(
            f"feeds:\n  - {{id: local, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
            "rules:\n" + rule % "general"
        )
        proc = await start_run(config, tmp_path / "data", free_port(), env)
        try:
            await slack.wait_for(lambda: bool(slack.top_level("CGEN0001")), 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        log = stderr.decode()
        assert proc.returncode == 0, log[-2000:]
        assert "rule envoys: slack:#general is slack:CGEN0001" in log
        assert "Slack: connected (http mode); serves 1 destination" in log
