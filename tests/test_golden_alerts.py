"""Golden files: real stories of the sample exports as Slack and Discord show them.

``tests/golden/alerts.jsonl`` holds the alerts the pipeline queued for the items of
``tests/data/golden_items.jsonl`` (entries copied verbatim from the sample exports of
2026-01-05..08; ``scripts/review_alerts.py --items ... --capture ...`` makes it again). Here they
go through the real alert queue, dispatcher and Slack sink to the local Slack fake (which also
records how the sink edits each story's first message), and are rendered as the Discord sink
posts and edits them. Each story's messages are compared with
``tests/golden/{slack,discord}/STORY.json`` and a plain preview ``tests/golden/STORY.txt``; every
Slack block is parsed by slack_sdk's Block Kit models and every embed checked against Discord's
limits. ``PEACEWATCH_UPDATE_GOLDEN=1 pytest tests/test_golden_alerts.py`` rewrites the files:
read the diff as an editor would before committing it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import discord
import redis.asyncio as aioredis
from slack_sdk.models.blocks import Block

from peacewatch.bot.discord_adapter import embeds
from peacewatch.bot.slack_adapter import ChannelPacer, SlackSink, SlackTokens
from peacewatch.models import Alert, AlertKind
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.codec import alert_from_json
from tests.fakes.slack_api import FakeSlack, Message

GOLDEN = Path(__file__).parent / "golden"
ALERTS = GOLDEN / "alerts.jsonl"
UPDATE = os.environ.get("PEACEWATCH_UPDATE_GOLDEN") == "1"


class _Time:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def load_alerts() -> list[Alert]:
    return [alert_from_json(line) for line in ALERTS.read_text(encoding="utf-8").splitlines()]


def slug(headline: str) -> str:
    words = re.findall(r"[a-z0-9]+", headline.lower())
    return "-".join(words[:7])


def preview(blocks: list[dict[str, Any]]) -> str:
    """The blocks as the lines a reader sees (mrkdwn left as it is)."""
    lines = []
    for block in blocks:
        if "text" in block and block["type"] in ("header", "section"):
            lines.append(block["text"]["text"])
        lines.extend(f["text"].replace("\n", ": ", 1) for f in block.get("fields", []))
        if block["type"] == "context":
            lines.append(" | ".join(e["text"] for e in block["elements"]))
        if block["type"] == "actions":
            lines.append(" ".join(f"[{e['text']['text']}]" for e in block["elements"]))
    return "\n".join(lines)


def valid_blocks(blocks: list[dict[str, Any]], text: str) -> None:
    """Every block parses as slack_sdk's Block Kit model and passes its validators."""
    assert 0 < len(blocks) <= 50 and 0 < len(text) <= 4000
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        assert block.to_dict()["type"] == raw["type"]


def valid_embed(data: dict[str, Any]) -> None:
    """Inside Discord's embed limits (title 256, description 4096, 25 fields of 256/1024,
    footer 2048, author 256, 6000 in all)."""
    embed = discord.Embed.from_dict(data)
    assert len(embed.title or "") <= embeds.TITLE_MAX
    assert len(embed.description or "") <= embeds.DESCRIPTION_MAX
    assert len(embed.fields) <= embeds.FIELDS_MAX
    for field in embed.fields:
        assert 0 < len(field.name or "") <= embeds.FIELD_NAME_MAX
        assert 0 < len(field.value or "") <= embeds.FIELD_VALUE_MAX
    assert len(embed.footer.text or "") <= embeds.FOOTER_MAX
    assert len(embed.author.name or "") <= embeds.AUTHOR_MAX
    assert len(embed) <= embeds.EMBED_TOTAL_MAX


async def post_to_slack(redis: aioredis.Redis, alerts: list[Alert]) -> list[Message]:
    """The alerts through the alert queue, the dispatcher and the Slack sink to the fake."""
    async with FakeSlack() as slack:
        time_ = _Time()
        sink = SlackSink(
            SlackTokens("xoxb-golden", None),
            redis,
            base_url=slack.base_url,
            pacer=ChannelPacer(clock=time_.clock, sleep=time_.sleep),
        )
        queue = AlertQueue(redis)
        await queue.ensure_group()
        dispatcher = Dispatcher(queue, {"slack": sink}, retry_idle_ms=0, clock=time_.clock)
        for alert in alerts:
            await queue.enqueue(alert)
            await dispatcher.drain()
        assert await sink.edits.flush()
        await sink.close()
        return list(slack.messages)


def slack_story(root: Message, messages: list[Message]) -> dict[str, Any]:
    out = [{"kind": "root", "text": root.text, "blocks": root.blocks}]
    out += [
        {"kind": "reply", "text": m.text, "blocks": m.blocks}
        for m in messages
        if m.thread_ts == root.ts
    ]
    if root.edits:
        last = root.edits[-1]
        out.append({"kind": "root as edited", "text": last["text"], "blocks": last["blocks"]})
    return {"messages": out}


def discord_story(story: list[Alert]) -> dict[str, Any]:
    """The embeds the Discord sink posts for one story's alerts, and its root as edited."""
    root = embeds.as_dict(embeds.alert_embed(story[0]))
    out: list[dict[str, Any]] = [{"kind": "root", "embed": root}]
    edited = root
    for alert in story[1:]:
        out.append({"kind": "reply", "embed": embeds.as_dict(embeds.followup_embed(alert))})
        edited = embeds.with_outlets(edited, alert)
    if len(story) > 1:
        out.append({"kind": "root as edited", "embed": edited})
    return {"messages": out}


def compare(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with PEACEWATCH_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs from what is rendered now"


async def test_real_stories_render_as_the_golden_files(redis_client: aioredis.Redis) -> None:
    alerts = load_alerts()
    messages = await post_to_slack(redis_client, alerts)
    roots = [m for m in messages if m.thread_ts is None]
    firsts = [a for a in alerts if a.kind is AlertKind.NEW]
    assert 6 <= len(roots) == len(firsts) <= 12
    names = set()
    for index, (root, first) in enumerate(zip(roots, firsts, strict=True), 1):
        story = slack_story(root, messages)
        for message in story["messages"]:
            valid_blocks(message["blocks"], message["text"])
        headline = root.blocks[0]["text"]["text"]
        name = f"{index:02d}-{slug(headline)}"
        names.add(name)
        assert headline == first.headline
        thread = [first] + [
            a
            for a in alerts
            if a.story_id == first.story_id
            and a.kind is AlertKind.FOLLOWUP
            and a.extra.get("parent_alert") == first.alert_id
        ]
        board = discord_story(thread)
        for message in board["messages"]:
            valid_embed(message["embed"])
        compare(GOLDEN / "slack" / f"{name}.json", dump(story))
        compare(GOLDEN / "discord" / f"{name}.json", dump(board))
        view = "\n\n".join(
            f"--- {m['kind']} ---\n{preview(m['blocks'])}" for m in story["messages"]
        )
        compare(GOLDEN / f"{name}.txt", view + "\n")
    # no golden file is left over from a story that is no longer rendered
    assert {p.stem for p in (GOLDEN / "slack").glob("*.json")} == names


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
