"""Feeds in the encodings Russian and Ukrainian outlets serve, declared or not."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from peacewatch.rules.rulefile import RuleSpec
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.encoding import as_parseable
from peacewatch.watchers.parse import parse_bytes
from peacewatch.watchers.poller import PollPolicy
from tests.fakes.feed_server import FeedServer
from tests.helpers import Clock, open_app, redis_url

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
