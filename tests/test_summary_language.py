"""A story summary is written in one language: the team's (English by default) when any of the
story's sources is in it; other-language sources are not mixed into the text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from peacewatch.models import Article
from peacewatch.pipeline.story_summary import summarise_story

T0 = datetime(2025, 12, 2, 18, 0, tzinfo=UTC)
EN = Article(
    "en", "Witkoff and Kushner meet Putin in Moscow", "https://www.bbc.com/news/1", T0, "bbc.com",
    summary="Steve Witkoff and Jared Kushner met Vladimir Putin in the Kremlin for five hours. "
    "The talks covered the US peace plan for Ukraine.",
    lang="en",
)  # fmt: skip
RU = Article(
    "ru", "Уиткофф и Кушнер встретились с Путиным", "https://meduza.io/news/1",
    T0 + timedelta(minutes=30), "meduza.io",
    summary="Стив Уиткофф и Джаред Кушнер провели в Кремле пять часов переговоров с Владимиром "
    "Путиным. Обсуждался американский мирный план по Украине.",
    lang="ru",
)  # fmt: skip
CYRILLIC = re.compile(r"[а-яА-ЯёЁіІїЇєЄ]")


def test_a_story_with_an_english_source_is_summarised_in_english_only() -> None:
    summary = summarise_story([RU, EN])
    assert summary and not CYRILLIC.search(summary)
    assert "Kremlin" in summary


def test_a_story_with_no_source_in_the_team_language_keeps_its_own() -> None:
    assert CYRILLIC.search(summarise_story([RU]))
    assert not CYRILLIC.search(summarise_story([RU, EN], language="en"))
    assert CYRILLIC.search(summarise_story([RU, EN], language="ru"))
