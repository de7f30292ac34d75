"""The matcher's character table is applied by replacing the characters a text holds; the
result is the table's own (``str.translate``) on real news and on text made of the table."""

from __future__ import annotations

import random

import pytest

from peacewatch.rules.textnorm import _TABLE, normalise, translate
from tests.faults.samples_stream import day_articles
from tests.helpers import samples_dir


def test_every_character_of_the_table_becomes_what_the_table_says() -> None:
    for code, into in _TABLE.items():
        c = chr(code)
        assert translate(f"a{c}b{c}") == f"a{into}b{into}"
        # one character for one, and never one the table changes again
        assert len(str(into)) == 1 and ord(str(into)) not in _TABLE


def test_mixed_text_of_table_characters_reads_as_the_table_gives_it() -> None:
    rnd = random.Random(7)
    pool = [chr(k) for k in _TABLE] + list("abz ЁёЕе'\"….xé") + ["\u0301", "\U0001f600"]
    for _ in range(3000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randrange(0, 60)))
        assert translate(text) == text.translate(_TABLE)


@pytest.mark.skipif(not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports")
def test_a_day_of_news_normalises_as_with_the_table() -> None:
    articles = day_articles("2026-01-06")
    assert len(articles) > 1000
    for article in articles:
        for text in (article.title, article.summary):
            assert translate(text) == text.translate(_TABLE)
    # the hyphens, quotes and spaces of a headline, as the matcher reads it
    assert normalise("Peace‐talks — «Donbas»\u00a0plan").text == 'peace talks   "donbas" plan'


def test_folding_brings_back_no_character_of_the_table_in_place() -> None:
    # normalise applies the table before folding only: a character that folded to one of the
    # table's in place would be left unreplaced; the one that folds to a table character
    # (U+0149, to two characters) takes the slower way, where each character is done apart
    folds_into = [
        chr(code)
        for code in range(0x110000)
        if code not in _TABLE and any(ord(c) in _TABLE for c in chr(code).casefold())
    ]
    assert folds_into == ["\u0149"]
    assert len("\u0149".casefold()) == 2


def test_normalised_text_holds_no_character_of_the_table() -> None:
    rnd = random.Random(11)
    pool = [chr(k) for k in _TABLE] + list("abzABZ ЁёЕе'\"….xéŉ") + ["\u0301", "ß"]
    for _ in range(3000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randrange(0, 40)))
        normed = normalise(text).text
        assert normed == normed.translate(_TABLE)
        if len(text.casefold()) == len(text) and "\u0301" not in text:
            assert normed == text.translate(_TABLE).casefold()
