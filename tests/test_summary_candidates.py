"""The candidate sentences of a summary carry the content words ``content_tokens`` finds in
their text, whatever case-folding does to the article's characters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peacewatch.models import Article
from peacewatch.pipeline.summarise import candidates, content_tokens


def article(body: str) -> Article:
    return Article(
        id="a", title="Talks", link="", published=datetime(2026, 1, 6, tzinfo=UTC),
        source="x.example", outlet="x.example", summary=body, lang="de",
    )  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        "Kyiv and Moscow sent their envoys to Geneva. The talks lasted seven hours.",
        # ß folds to ss: every later character moves one place
        "Die Straße nach Genf ist lang. Der Außenminister sprach über Gespräche in Genf.",
        # İ folds to i and a combining dot (not a word character): the word splits
        "İstanbul hosted the İSTİNYE round. Delegates met on the İstinye shore for hours.",
        # U+0345 folds to ι, a word character, while it is none itself
        "The text abc\u0345\u0345xy holds a Greek mark. Another sentence ends the text here.",
        "Переговоры в Женеве ШЛИ семь часов. Делегации обсудили ПЕРЕГОВОРНЫЕ позиции.",
    ],
)
def test_tokens_are_those_of_the_sentence_text(body: str) -> None:
    cands = candidates(article(body))
    assert len(cands) == 2
    for cand in cands:
        assert cand.tokens == content_tokens(cand.text)


def test_content_tokens_fold_stem_and_drop_stopwords() -> None:
    assert content_tokens("The ПЕРЕГОВОРЫ and Straße, negotiations") == {
        "перего", "strass", "negoti",
    }  # fmt: skip
    assert content_tokens("of it, to") == frozenset()
