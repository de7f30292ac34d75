"""Ukrainian and Russian headlines: translated by the LLM endpoint when one is configured, else
shown with their language; through a Telegram channel polled by the real poller."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.settings import Settings
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.poller import PollPolicy
from tests.fakes.feed_server import FeedServer
from tests.helpers import Clock, redis_url

DATA = Path(__file__).parent / "data" / "sources"
NOW = datetime(2025, 11, 30, 23, 0, tzinfo=UTC)
RULE = RuleSpec(id="witkoff", query="Witkoff", channels=["console:desk"])
TRANSLATED = "Statement by the Russian MFA spokesperson on contacts on the Ukraine settlement"


class FakeModel:
    """An OpenAI-compatible endpoint: headlines get ``TRANSLATED``, summaries a fixed text."""

    def __init__(self) -> None:
        self.headlines: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body: Any = await request.json()
        system, user = body["messages"][0]["content"], body["messages"][1]["content"]
        if system.startswith("Translate the news headline"):
            assert "from Russian into English" in system
            self.headlines.append(user)
            content = f"«{TRANSLATED}»\nNote: an official statement."
        else:
            content = "Moscow expects consultations with the American side to continue."
        return web.json_response({"choices": [{"message": {"content": content}}]})


@pytest.fixture
async def model() -> AsyncIterator[tuple[FakeModel, str]]:
    fake = FakeModel()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


async def alerts_of_channel(settings: Settings) -> str:
    out = io.StringIO()
    async with FeedServer() as server:
        server.set_feed(
            "/s/MID_Russia",
            (DATA / "tg_mid_russia_1.html").read_bytes(),
            content_type="text/html; charset=utf-8",
        )
        app = await App.open(
            settings,
            poll_policy=PollPolicy(backfill=None),
            sinks=[ConsoleSink(out)],
            guard=GuardPolicy(allow_networks=("127.0.0.1/32",)),
            clock=Clock(NOW),
        )
        try:
            await app.teams.put_rule("t1", RULE)
            await app.poller.poll(FeedSpec("tg", server.url("/s/MID_Russia"), kind="telegram"))
            await app.assigner.drain()
            await app.dispatcher.drain()
        finally:
            await app.close()
    return out.getvalue()


async def test_a_russian_headline_gets_its_translation_from_the_configured_model(
    model: tuple[FakeModel, str], redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    fake, url = model
    settings = Settings(
        PEACEWATCH_DATA_DIR=tmp_path,
        REDIS_URL=redis_url(redis_target),
        PEACEWATCH_SUMMARISER="llm",
        PEACEWATCH_LLM_URL=url,
        PEACEWATCH_LLM_MODEL="test-model",
    )
    text = await alerts_of_channel(settings)
    lines = text.splitlines()
    headline = next(i for i, line in enumerate(lines) if "Заявление официального" in line)
    assert lines[headline + 1] == f"(English: {TRANSLATED})"  # one line, quotes and notes cut
    assert fake.headlines == [
        "🎙 Заявление официального представителя МИД России в связи с контактами по "
        "украинскому урегулированию"
    ]


async def test_without_a_model_the_original_headline_is_shown_with_its_language(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    settings = Settings(PEACEWATCH_DATA_DIR=tmp_path, REDIS_URL=redis_url(redis_target))
    lines = (await alerts_of_channel(settings)).splitlines()
    headline = next(i for i, line in enumerate(lines) if "Заявление официального" in line)
    assert lines[headline + 1] == "(Original in Russian)"
