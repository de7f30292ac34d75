"""A feed whose text looks garbled (mojibake) is flagged where a team looks at its feeds: the
Slack App Home (through the real bolt app), Discord's /peacewatch home (through discord.py),
and /metrics, whose gauge counts such feeds. The feeds are read by the real poller from a
local feed server; the warning goes once the publisher's feed reads clean again."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from peacewatch.app import App
from peacewatch.bot.discord_adapter import DiscordAdapter
from peacewatch.http_server import HttpServer
from peacewatch.status import Status, collect
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.parse import parse_bytes
from peacewatch.watchers.poller import PollPolicy
from tests import test_discord_commands as dc
from tests import test_slack_commands
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.feed_server import FeedServer
from tests.helpers import Clock, open_app, redis_url
from tests.test_encoding import LIGA, double_encoded
from tests.test_metrics import scrape
from tests.test_slack_commands import Env
from tests.test_slack_home import open_home, texts

env = test_slack_commands.env
slack = test_slack_commands.slack
fake = dc.fake
adapter = dc.adapter

__all__ = ["adapter", "env", "fake", "slack"]  # the fixtures

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
GARBLED = double_encoded(LIGA.decode("utf-8")).encode("utf-8")
ITEMS = len(parse_bytes(GARBLED).entries)
WARNING = f"text looks garbled (mojibake) in {ITEMS} of {ITEMS} items, last seen 2026-01-06"


@dataclass
class Feeds:
    """Two feeds every team receives, read by the real poller: one garbled, one clean."""

    app: App
    server: FeedServer
    specs: tuple[FeedSpec, FeedSpec]

    async def poll(self) -> None:
        for spec in self.specs:
            assert (await self.app.poller.poll(spec)).status == "ok"

    async def fix(self) -> None:
        """The publisher fixes its feed; the next poll reads it clean."""
        self.server.set_feed("/double.xml", LIGA, "application/rss+xml; charset=utf-8")
        assert (await self.app.poller.poll(self.specs[0])).status == "ok"


@pytest.fixture
async def feeds(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> AsyncIterator[Feeds]:
    async with FeedServer() as server:
        server.set_feed("/double.xml", GARBLED, "application/rss+xml; charset=utf-8")
        server.set_feed("/clean.xml", LIGA, "application/rss+xml; charset=utf-8")
        app = await open_app(
            redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO(),
            policy=PollPolicy(backfill=None, max_age=None),
        )  # fmt: skip
        try:
            specs = (
                FeedSpec("doubled", server.url("/double.xml"), 600, "Doubled"),
                FeedSpec("clean", server.url("/clean.xml"), 600, "Clean"),
            )
            for spec in specs:
                await app.feeds.put(spec)
            found = Feeds(app, server, specs)
            await found.poll()
            yield found
        finally:
            await app.close()


def feed_lines(view: dict[str, Any]) -> dict[str, str]:
    """The App Home's feed lines by feed name."""
    lines = [
        line
        for block in view["blocks"]
        if block.get("type") == "section"
        for line in block["text"]["text"].split("\n:white_check_mark: ")
    ]
    return {name: line for name in ("Doubled", "Clean") for line in lines if f"|{name}>" in line}


async def test_app_home_and_metrics_flag_the_garbled_feed(env: Env, feeds: Feeds) -> None:
    async def status() -> Status:
        app = feeds.app
        return await collect(app.feeds, app.teams, app.queue, app.articles)

    http = HttpServer("127.0.0.1", 0, status)
    await http.start()
    try:
        shown = feed_lines(await open_home(env, "UMEMBER"))
        assert f":warning: {WARNING}" in shown["Doubled"]
        assert "garbled" not in shown["Clean"]
        samples, types = await scrape(http.port)
        assert samples[("peacewatch_feeds_garbled", ())] == 1
        assert types["peacewatch_feeds_garbled"] == "gauge"

        await feeds.fix()
        assert "garbled" not in texts(await open_home(env, "UMEMBER"))
        samples, _ = await scrape(http.port)
        assert samples[("peacewatch_feeds_garbled", ())] == 0
    finally:
        await http.stop()


async def test_discord_home_flags_the_garbled_feed(
    fake: FakeDiscord, adapter: DiscordAdapter, feeds: Feeds
) -> None:
    [answer] = await dc.invoke(fake, adapter, dc.command("home"))
    description = answer.body["data"]["embeds"][0]["description"]
    assert f"• Doubled: warning, {WARNING}" in description
    assert "Clean: warning" not in description

    await feeds.fix()
    [again] = await dc.invoke(fake, adapter, dc.command("home"))
    assert "garbled" not in again.body["data"]["embeds"][0]["description"]
