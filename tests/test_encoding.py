"""Feeds in the encodings Russian and Ukrainian outlets serve, declared or not."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.replies import Caller
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.encoding import as_parseable, garbled_share, looks_garbled
from peacewatch.watchers.parse import parse_bytes
from peacewatch.watchers.poller import PollPolicy
from tests.fakes.feed_server import FeedServer
from tests.helpers import REPO_ROOT, Clock, open_app, redis_url

LIGA = (Path(__file__).parent / "data" / "liga_ru.xml").read_bytes()
"""A real Russian-language feed (UTF-8, no XML declaration)."""
TITLE = "ЛІГА.Новости"


def first_titles(data: bytes, content_type: str | None) -> list[str]:
    return [e.title for e in parse_bytes(data, content_type).entries[:3]]


@pytest.mark.parametrize("codec", ["windows-1251", "koi8-r"])
def test_an_undeclared_cyrillic_encoding_is_detected(codec: str) -> None:
    text = LIGA.decode("utf-8").encode(codec, errors="replace").decode(codec)  # what it can say
    encoded = text.encode(codec)
    parsed = parse_bytes(encoded, "application/rss+xml")  # no charset anywhere
    assert parsed.encoding is not None
    assert first_titles(encoded, "application/rss+xml") == first_titles(text.encode(), None)
    assert parsed.title == parse_bytes(text.encode(), None).title


def test_a_wrong_declaration_is_overruled_and_a_right_one_is_kept() -> None:
    cp1251 = LIGA.decode("utf-8").encode("windows-1251", errors="replace")
    wrong = b'<?xml version="1.0" encoding="utf-8"?>\n' + cp1251
    assert parse_bytes(wrong, "text/xml; charset=utf-8").title == TITLE
    right = b'<?xml version="1.0" encoding="windows-1251"?>\n' + cp1251
    kept = as_parseable(right, "application/xml")
    assert kept.data == right and kept.detected is None
    assert parse_bytes(right, "application/xml").title == TITLE
    # the header's charset holds when the document names none
    assert parse_bytes(cp1251, "application/rss+xml; charset=windows-1251").title == TITLE
    assert as_parseable(LIGA, None).data is LIGA  # plain UTF-8 is left alone


async def test_a_windows_1251_feed_without_charset_matches_russian_rules(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    words = first_titles(LIGA, None)[0].split()
    word = max(words, key=len).strip(",.:;!?«»\"'")
    cp1251 = LIGA.decode("utf-8").encode("windows-1251", errors="replace")
    async with FeedServer() as server:
        server.set_feed("/liga.xml", cp1251, "application/rss+xml")
        app = await open_app(
            redis_url(redis_target), tmp_path, Clock(datetime.now(UTC)), io.StringIO(),
            policy=PollPolicy(backfill=None, max_age=None),
        )  # fmt: skip
        try:
            await app.teams.put_rule("t1", RuleSpec(id="ru", query=f'"{word}"',
                                                    channels=["console:desk"]))  # fmt: skip
            result = await app.poller.poll(FeedSpec("liga", server.url("/liga.xml"), 600, "", "t1"))
            assert result.status == "ok"
            await app.assigner.drain()
            assert app.pipeline.stats.matched >= 1  # the Cyrillic words read right and match
        finally:
            await app.close()


def double_encoded(text: str) -> str:
    """``text`` as a publisher that encodes UTF-8 twice sends it: its UTF-8 bytes read as
    windows-1251 (ftfy's codec keeps the five bytes that code page leaves undefined)."""
    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1251)

    return text.encode("utf-8").decode("sloppy-windows-1251")


@pytest.mark.parametrize(
    "garbled",
    [
        double_encoded("Переговоры в Женеве продолжатся"),  # РџРµСЂРµРіРѕРІРѕСЂС‹
        "Zelenskyy’s plan".encode().decode("cp1252"),  # Zelenskyyâ€™s
        "Café de la Paix".encode().decode("latin-1"),  # CafÃ©
        "Переговоры в Женеве".encode().decode("koi8-r"),  # п÷п╣я─п╣пЁп╬п╡я▀
        "Переговоры".encode("cp1251").decode("utf-8", errors="replace"),  # ����������
    ],
)
def test_mojibake_is_told_from_text(garbled: str) -> None:
    assert looks_garbled(garbled)


@pytest.mark.parametrize(
    "clean",
    [
        "Переговоры в Женеве продолжатся",
        "Зеленський: ЄС обговорює мирний план і гарантії",
        "Café naïve — “quoted” · 5 € · ©2026",
        "Zima paraliżuje Europę. Setki odwołanych lotów",
        "one stray \ufffd in a headline is not enough",
        "┌─┐ a table │ x │",
    ],
)
def test_clean_text_is_not_mojibake(clean: str) -> None:
    assert not looks_garbled(clean)


def test_the_garbled_share_counts_items() -> None:
    texts = ["Переговоры", double_encoded("Переговоры"), "Talks", double_encoded("Кремль")]
    assert garbled_share(texts) == (2, 4)
    assert garbled_share(iter([double_encoded("Кремль")] * 600)) == (500, 500)  # bounded


async def peacewatch_status(target: dict[str, Any], data: Path) -> str:
    env = {**os.environ, "REDIS_URL": redis_url(target), "PEACEWATCH_DATA_DIR": str(data)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peacewatch", "status", cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_a_feed_garbled_at_the_publisher_is_reported_in_status(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    """A feed whose publisher encoded UTF-8 twice is valid UTF-8, so no charset check can
    undo it: its poll succeeds and status says its text is garbled. A windows-1251 feed
    without a charset is decoded right and gets no warning."""
    text = LIGA.decode("utf-8")
    garbled = double_encoded(text).encode("utf-8")
    cp1251 = text.encode("windows-1251", errors="replace")
    async with FeedServer() as server:
        server.set_feed("/double.xml", garbled, "application/rss+xml; charset=utf-8")
        server.set_feed("/cp1251.xml", cp1251, "application/rss+xml")
        app = await open_app(
            redis_url(redis_target), tmp_path, Clock(datetime(2026, 1, 6, 12, 0, tzinfo=UTC)),
            io.StringIO(), policy=PollPolicy(backfill=None, max_age=None),
        )  # fmt: skip
        try:
            feeds = [
                FeedSpec("doubled", server.url("/double.xml"), 600, "", "slack:T1"),
                FeedSpec("liga1251", server.url("/cp1251.xml"), 600, "", "slack:T1"),
            ]
            for feed in feeds:
                await app.feeds.put(feed)
                assert (await app.poller.poll(feed)).status == "ok"
            caller = Caller("slack", "slack:T1", "U1", "slack:C1")
            reply = await app.commands.handle_text(caller, "status")
            cli = (await peacewatch_status(redis_target, tmp_path)).splitlines()
            # The publisher fixes its feed: the next read clears the warning.
            server.set_feed("/double.xml", LIGA, "application/rss+xml; charset=utf-8")
            assert (await app.poller.poll(feeds[0])).status == "ok"
            fixed = await app.commands.handle_text(caller, "status")
        finally:
            await app.close()
    assert all(i.text == "" for i in fixed.items)
    items = len(parse_bytes(garbled).entries)
    warning = f"text looks garbled (mojibake) in {items} of {items} items, last seen 2026-01-06"
    chat = {i.title.rpartition("(")[2].rstrip(")"): i.text for i in reply.items}
    assert chat["doubled"].startswith(f"Warning: {warning} 12:00 UTC")
    assert chat["liga1251"] == ""

    assert "feeds: 2, 1 with warnings" in cli
    rows = {line.split()[0]: n for n, line in enumerate(cli) if line.startswith("  ")}
    assert cli[rows["doubled"] + 1].split() == ["WARNING", *warning.split(), "12:00", "UTC"]
    assert " ok " in cli[rows["liga1251"]]
    assert sum("garbled" in line for line in cli) == 1  # the doubled feed's, none for liga1251
