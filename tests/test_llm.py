"""The LLM summariser against a fake OpenAI-compatible server on 127.0.0.1, and its fallback."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from peacewatch.errors import ConfigError
from peacewatch.models import Article, Hit
from peacewatch.pipeline.llm import (
    ExtractiveSummariser,
    LlmSummariser,
    Summariser,
    build_summariser,
)
from peacewatch.pipeline.summarise import sentences, summarise

KEY = "sk-test-9f8e7d6c5b4a"
ANSWER = (
    "Britain and France said they would deploy troops to Ukraine after a ceasefire. "
    "The United States would lead the monitoring of the truce."
)
BODY = (
    "Britain and France have declared they are ready to deploy troops to Ukraine in the "
    "aftermath of a peace deal. The announcement came after a summit in Paris attended by the "
    "US envoy Steve Witkoff. The United States would lead a ceasefire monitoring mechanism, "
    "Emmanuel Macron said. Moscow has said any foreign troops would be legitimate targets."
)


@dataclass
class FakeChat:
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint that answers as it is told."""

    mode: str = "answer"  # answer | status | hang | garbage | shape
    content: Any = ANSWER
    status: int = 500
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((dict(request.headers), await request.json()))
        if self.mode == "hang":
            await self.stop.wait()
            return web.Response(status=503)
        if self.mode == "status":
            return web.json_response({"error": {"message": "overloaded"}}, status=self.status)
        if self.mode == "garbage":
            return web.Response(text="<html>gateway</html>", content_type="text/html")
        if self.mode == "shape":
            return web.json_response({"choices": []})
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.content},
                        "finish_reason": "stop",
                    }
                ],
            }
        )


@pytest.fixture
async def chat() -> AsyncIterator[tuple[FakeChat, str]]:
    fake = FakeChat()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    port = server.sockets[0].getsockname()[1]
    try:
        yield fake, f"http://127.0.0.1:{port}/v1"
    finally:
        fake.stop.set()
        await runner.cleanup()


def news(id: str = "a1", lang: str | None = "en", body: str = BODY) -> Article:
    return Article(
        id=id,
        title="UK and France ready to deploy troops to Ukraine after ceasefire",
        link=f"https://example.org/{id}",
        published=datetime(2026, 1, 6, 20, 26, tzinfo=UTC),
        source="example.org",
        outlet="Example News",
        summary=body,
        lang=lang,
    )


def witkoff_hits(article: Article) -> list[Hit]:
    start = article.body.index("Witkoff")
    return [Hit("Witkoff", "body", start, start + 7, "Witkoff")]


async def test_the_model_answer_is_the_summary(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    article = news()
    async with LlmSummariser(url + "/", SecretStr(KEY), "small-model") as llm:
        summary = await llm.summarise(article, witkoff_hits(article))
    assert summary == ANSWER
    [(headers, payload)] = fake.requests
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert payload["model"] == "small-model"
    assert payload["max_tokens"] == 300 and payload["temperature"] == 0.2
    system, user = payload["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert "at most 3 sentences" in system["content"] and "600 characters" in system["content"]
    assert "in English" in system["content"] and "only facts" in system["content"]
    assert article.title in user["content"] and BODY in user["content"]
    assert "Matched terms: Witkoff" in user["content"]


async def test_the_prompt_asks_for_the_article_language(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    fake.content = "Британія та Франція готові направити війська в Україну після перемир'я."
    body = "Британія та Франція заявили, що готові направити війська в Україну після перемир'я."
    async with LlmSummariser(url, None, "m") as llm:
        summary = await llm.summarise(news(lang="uk-UA", body=body))
    assert summary == fake.content
    headers, payload = fake.requests[0]
    assert "in Ukrainian" in payload["messages"][0]["content"]
    assert "Authorization" not in headers  # no key configured, none sent


async def test_a_long_answer_is_cut_to_three_whole_sentences(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    fake.content = (
        "Summary: "
        + " ".join(
            f"Sentence number {n} says the talks in Paris went on for hours." for n in range(8)
        )
        + " "
        + "word " * 200
    )
    async with LlmSummariser(url, KEY, "m") as llm:
        summary = await llm.summarise(news())
    assert not summary.startswith("Summary")
    assert len(sentences(summary)) == 3 and len(summary) <= 600
    assert summary.endswith("Sentence number 2 says the talks in Paris went on for hours.")


@pytest.mark.parametrize("mode", ["status", "garbage", "shape"])
async def test_a_failing_endpoint_falls_back_to_the_extractive_summary(
    chat: tuple[FakeChat, str], mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = chat
    fake.mode = mode
    article = news()
    hits = witkoff_hits(article)
    with caplog.at_level(logging.DEBUG, logger="peacewatch.pipeline.llm"):
        async with LlmSummariser(url, SecretStr(KEY), "m") as llm:
            first = await llm.summarise(article, hits)
            second = await llm.summarise(news("a2"), hits)
    assert first == summarise(article, hits) and first
    assert second == summarise(news("a2"), hits)
    assert len(fake.requests) == 2  # a failure is not cached: each alert tries again
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # once, not once per alert
    assert KEY not in caplog.text


async def test_an_endpoint_that_hangs_falls_back_within_the_timeout(
    chat: tuple[FakeChat, str],
) -> None:
    fake, url = chat
    fake.mode = "hang"
    article = news()
    async with LlmSummariser(url, KEY, "m", timeout=0.3) as llm:
        started = time.monotonic()
        summary = await llm.summarise(article)
        elapsed = time.monotonic() - started
    assert summary == summarise(article)
    assert elapsed < 2.0
    assert len(fake.requests) == 1


async def test_an_unreachable_endpoint_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    article = news()
    with socket.socket() as sock:  # a loopback port that was free a moment ago: refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with LlmSummariser(f"http://127.0.0.1:{port}/v1", KEY, "m", timeout=2.0) as llm:
        assert await llm.summarise(article) == summarise(article)
    assert "failed" in caplog.text and KEY not in caplog.text


async def test_it_recovers_when_the_endpoint_answers_again(
    chat: tuple[FakeChat, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = chat
    fake.mode = "status"
    with caplog.at_level(logging.INFO, logger="peacewatch.pipeline.llm"):
        async with LlmSummariser(url, KEY, "m") as llm:
            assert await llm.summarise(news("a1")) == summarise(news("a1"))
            fake.mode = "answer"
            assert await llm.summarise(news("a2")) == ANSWER
    assert "answers again" in caplog.text


async def test_one_article_for_several_channels_asks_once(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    article = news()
    async with LlmSummariser(url, KEY, "m") as llm:
        results = {await llm.summarise(article, witkoff_hits(article)) for _ in range(3)}
        await llm.summarise(article)  # other matched terms: asked again
    assert results == {ANSWER}
    assert len(fake.requests) == 2


async def test_an_empty_body_needs_no_model(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    async with LlmSummariser(url, KEY, "m") as llm:
        assert await llm.summarise(news(body="")) == ""
    assert fake.requests == []


async def test_an_empty_answer_falls_back(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    fake.content = "   "
    async with LlmSummariser(url, KEY, "m") as llm:
        assert await llm.summarise(news()) == summarise(news())


async def test_the_extractive_summariser_is_the_plain_summary() -> None:
    article = news()
    summariser: Summariser = ExtractiveSummariser()
    assert await summariser.summarise(article, witkoff_hits(article)) == summarise(
        article, witkoff_hits(article)
    )
    short: Summariser = ExtractiveSummariser(max_sentences=1, max_chars=200)
    assert len(sentences(await short.summarise(article))) == 1


async def test_the_settings_choose_the_summariser(chat: tuple[FakeChat, str]) -> None:
    fake, url = chat
    assert isinstance(build_summariser("extractive"), ExtractiveSummariser)
    llm = build_summariser("LLM", url, SecretStr(KEY), "m", timeout=5)
    assert isinstance(llm, LlmSummariser)
    async with llm:
        assert await llm.summarise(news()) == ANSWER
    assert len(fake.requests) == 1
    for bad in (("abstractive",), ("llm", None, KEY, "m"), ("llm", url, KEY, None)):
        with pytest.raises(ConfigError):
            build_summariser(*bad)
    with pytest.raises(ConfigError, match="http"):
        build_summariser("llm", "127.0.0.1:8080/v1", KEY, "m")
