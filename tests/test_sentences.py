"""Sentences for summaries: spans that are the text's own, a line break as a boundary, and the
corrections made to sentencex's pieces (opening quotes, stops inside names, initialisms)."""

from __future__ import annotations

import itertools

import pytest

from peacewatch.pipeline.sentences import sentences
from tests.test_summary_sharing import sample_articles


def texts(text: str, lang: str = "en") -> list[str]:
    return [s.text for s in sentences(text, lang)]


def test_spans_are_the_texts_own() -> None:
    bodies = [a.body for a in sample_articles(40)]
    bodies += [
        "  Talks resume. Talks resume.  Talks resume.\u00a0Then what?  \n\n Next line. ",
        "Переговоры продолжатся. Т. е. завтра.   Переговоры продолжатся.",
    ]
    for body in bodies:
        found = sentences(body, "en")
        assert found
        for one in found:
            assert body[one.start : one.end] == one.text == one.text.strip()
        assert [s.start for s in found] == sorted(s.start for s in found)
        assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_a_line_break_ends_a_sentence() -> None:
    assert texts("Ukraine talks resume in Geneva\nThe envoys met on Monday. They spoke.") == [
        "Ukraine talks resume in Geneva",
        "The envoys met on Monday.",
        "They spoke.",
    ]


def test_an_opening_quote_starts_the_next_sentence() -> None:
    # feeds cut descriptions mid-quote; sentencex then leaves the opening quote at the end of the
    # sentence before it
    assert texts("Putin ended his remarks. “You have taken upon yourselves the duty of…") == [
        "Putin ended his remarks.",
        "“You have taken upon yourselves the duty of…",
    ]
    assert texts('The plan is ready, he said. "We will sign it and then […]') == [
        "The plan is ready, he said.",
        '"We will sign it and then […]',
    ]


def test_a_stop_without_a_space_ends_nothing() -> None:
    assert texts("A sensitive time for U.S.-U.K. relations. Talks go on.") == [
        "A sensitive time for U.S.-U.K. relations.",
        "Talks go on.",
    ]
    assert texts("Sondaż oddaje realne patrzenie na sprawy Wydarzenia w INTERIA.PL", "pl") == [
        "Sondaż oddaje realne patrzenie na sprawy Wydarzenia w INTERIA.PL"
    ]


def test_an_initialism_ends_a_sentence_only_before_a_usual_first_word() -> None:
    assert texts("Hegseth Warns U.S. Will Impose Costs on Russia.") == [
        "Hegseth Warns U.S. Will Impose Costs on Russia."
    ]
    assert texts("Zelensky flew to the U.S. The talks start today.") == [
        "Zelensky flew to the U.S.",
        "The talks start today.",
    ]


@pytest.mark.parametrize(
    ("lang", "text", "want"),
    [
        ("en", "Mr. Witkoff met Dr. Dmitriev at 10 a.m. on Monday. They spoke for 3.5 hours.", 2),
        (
            "uk",
            "Президент В. Зеленський заявив про переговори. Делегація вилетіла до м. Женева.",
            2,
        ),
        ("ru", "Встреча прошла в г. Москве. В 2025 г. переговоры не начались.", 2),
        ("de", "Die Gespräche gehen weiter, z. B. in Genf. Das sagte Dr. Wadephul.", 2),
    ],
)
def test_abbreviations_of_our_languages_end_no_sentence(lang: str, text: str, want: int) -> None:
    assert len(texts(text, lang)) == want


def test_blank_text_has_no_sentences() -> None:
    assert sentences("") == [] and sentences(" \n\t ") == []


@pytest.mark.parametrize("space", ["\u3000", "\u2002", "\u2003", "\u205f", "\x85", "\u2028"])
@pytest.mark.parametrize("lang", ["en", "uk"])
def test_a_capital_before_a_wide_space_and_a_stop_splits_without_failing(
    space: str, lang: str
) -> None:
    # the splitter underneath panics on these (a native error, not an Exception)
    text = f"The envoys discussed Plan B{space}. Talks resume on Monday in Geneva."
    found = sentences(text, lang)
    assert found and all(text[s.start : s.end] == s.text for s in found)
    assert found[-1].text.endswith("Talks resume on Monday in Geneva.")


@pytest.mark.parametrize("space", ["\u3000", "\u2002", "\u205f", "\x85", "\u2028", "\xa0"])
def test_a_wide_space_is_read_as_a_plain_one_so_the_rest_of_its_line_still_splits(
    space: str,
) -> None:
    # read as it is, the space makes the splitter fail, and the whole line would be one sentence
    text = f"The envoys discussed Plan B{space}. Talks resume on Monday in Geneva. Both sides met."
    found = sentences(text, "en")
    assert [s.text for s in found][-1] == "Both sides met."
    assert all(text[s.start : s.end] == s.text for s in found)
