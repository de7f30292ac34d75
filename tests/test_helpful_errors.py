"""Errors that say what to do: a web page for a feed, a refused address, YAML, settings."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from peacewatch.cli.feedcheck import check_feed
from peacewatch.errors import ConfigError, ParseError, UrlRefused
from peacewatch.settings import Settings, load_settings
from peacewatch.watchers.parse import HtmlPageError, parse_bytes
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, dated, rss

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = Settings(PEACEWATCH_ALLOW_NETWORKS="127.0.0.1/32")
PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Kyiv Desk - News</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="All news" href="/rss/news.xml">
<link rel="alternate" hreflang="uk" href="/uk/">
</head><body><h1>News</h1><p>Talks in Geneva resumed on Monday.</p></body></html>"""


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, "-m", "peacewatch", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**clean, **env},
    )  # fmt: skip


def test_a_web_page_is_named_as_such_with_the_feeds_it_links() -> None:
    with pytest.raises(HtmlPageError) as caught:
        parse_bytes(PAGE, "text/html; charset=utf-8")
    assert str(caught.value) == "the server returned an HTML page, not a feed"
    assert caught.value.feed_links == ("/rss/news.xml",)  # the stylesheet and hreflang are not
    assert "SAXParseException" not in str(caught.value)


def test_a_feed_served_as_text_html_is_still_a_feed() -> None:
    items = dated(SAMPLE_ITEMS[:2], datetime.now(UTC), timedelta(minutes=1))
    parsed = parse_bytes(rss(items), "text/html")
    assert len(parsed.entries) == 2


async def test_feeds_check_offers_the_feed_a_page_links() -> None:
    async with FeedServer() as server:
        server.set_feed("/news", PAGE, content_type="text/html")
        server.set_feed(
            "/bare", b"<html><body>no feed here</body></html>", content_type="text/html"
        )
        with pytest.raises(ParseError) as linked:
            await check_feed(server.url("/news"), LOOPBACK)
        with pytest.raises(ParseError) as bare:
            await check_feed(server.url("/bare"), LOOPBACK)
    assert "HTML page, not a feed" in str(linked.value)
    assert f"peacewatch feeds check {server.url('/rss/news.xml')}" in str(linked.value)
    assert "links no feed" in str(bare.value)


def test_feeds_check_command_reports_the_page_and_exits_2() -> None:
    async def serve_and_check() -> subprocess.CompletedProcess[str]:
        import asyncio

        async with FeedServer() as server:
            server.set_feed("/news", PAGE, content_type="text/html")
            return await asyncio.to_thread(
                cli, "feeds", "check", server.url("/news"), PEACEWATCH_ALLOW_NETWORKS="127.0.0.1/32"
            )

    import asyncio

    done = asyncio.run(serve_and_check())
    assert done.returncode == 2
    assert "the server returned an HTML page, not a feed" in done.stderr
    assert "/rss/news.xml" in done.stderr and "Traceback" not in done.stderr


async def test_a_refused_loopback_feed_names_the_settings_that_allow_it() -> None:
    async with FeedServer() as server:
        server.set_feed("/feed.xml", rss([]))
        with pytest.raises(UrlRefused) as refused:
            await check_feed(server.url("/feed.xml"), Settings())
    message = str(refused.value)
    assert "loopback" in message
    assert "PEACEWATCH_ALLOW_NETWORKS=127.0.0.1/32" in message
    assert "PEACEWATCH_ALLOW_PRIVATE_FEEDS=true" in message


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    config = tmp_path / "desk.yaml"
    config.write_text(
        "rules:\n"
        "  - id: envoys\n"
        "    query: 'Witkoff OR Dmitriev\n"
        "    channels: ['console:desk']\n"
        "  - id: other\n"
        "    query: Lavrov\n"
    )
    for args in (("run", "--config", str(config)), ("config", "check", str(config))):
        done = cli(*args, PEACEWATCH_DATA_DIR=str(tmp_path / "data"))
        assert done.returncode == 2, done.stderr
        assert f"{config}:3:12: invalid YAML: a quote opened here is never closed" in (
            done.stdout + done.stderr
        )


def test_a_bad_setting_names_the_variable_without_a_dump() -> None:
    done = cli("feeds", "check", "https://example.org/rss", PEACEWATCH_HTTP_PORT="3000x")
    assert done.returncode == 2
    assert "PEACEWATCH_HTTP_PORT: input should be a valid integer" in done.stderr
    assert "'3000x'" in done.stderr
    assert "validation error" not in done.stderr and "errors.pydantic.dev" not in done.stderr


def test_a_bad_secret_is_named_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEACEWATCH_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("PEACEWATCH_LLM_TIMEOUT", "-1")
    monkeypatch.setenv("PEACEWATCH_HTTP_PORT", "70000")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "PEACEWATCH_HTTP_PORT",
        "PEACEWATCH_LLM_TIMEOUT",
    ]
    assert "sk-very-secret" not in str(caught.value)
