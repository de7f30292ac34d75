"""The automaton over marked text finds exactly the hits a plain search keeps when it checks
word boundaries afterwards: whole words start and end where words do, word starts start where
one does, whatever apostrophes, possessives, underscores, combining marks or marker characters
the text or the pattern holds."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from peacewatch.rules.marking import _PLAIN_WORD, END, START, mark, word_bounds
from peacewatch.rules.scanner import FIELD_SEPARATOR, Scanner

PATTERNS = [
    "putin", "war", "rus", "zelensky", "zelensky's", "zelensky'", "o's", "o'", "o'brien",
    "brien", "s", "u.s.", "u.s", "peace talks", "talks", "a_b", "a", "b", "café", "cafe",
    "перемир'я", "перемир", "'s", "x\x01y", "9/11", "11", "de", "l'", "l'europe",
]  # fmt: skip
TEXTS = [  # as the matcher reads them: case-folded
    "putin and putinism; war toward the warlike",
    "zelensky's plan, zelensky'sx and zelensky' alone",
    "o'brien, o'sullivan, o's, o'",
    "u.s. talks and u.s talks; peace  talks, peace talks",
    "a_b a _b a_ b",
    "cafe\u0301 café cafe",
    "перемир'я и перемирие",
    "x\x01y and x\x02y \x02\x02 u.s.\x02",
    "9/11 and 11/9",
    "l'europe, l'europe's, de l'",
    "",
    "'s 's's s'",
]
PREFIXES = {i for i, _ in enumerate(PATTERNS)}


def expected(text: str, pattern: str, whole: bool) -> list[tuple[int, int]]:
    """Every place of ``pattern`` in ``text`` that starts a word (and, for ``whole``, ends
    one), the boundaries drawn on the text itself."""
    starts, ends = word_bounds(text)
    out = []
    at = text.find(pattern)
    while at >= 0:
        end = at + len(pattern)
        if at in starts and (not whole or end in ends):
            out.append((at, end))
        at = text.find(pattern, at + 1)
    return out


@pytest.mark.parametrize(("title", "body"), list(itertools.product(TEXTS[:4], TEXTS)))
def test_hits_are_the_boundary_checked_places_of_a_plain_search(title: str, body: str) -> None:
    scanner = Scanner(PATTERNS, PREFIXES)
    scan = scanner.scan(title, body)
    text = title + FIELD_SEPARATOR + body
    assert scan.text == text
    # NEAR counts words as runs of \w, placed from the pieces marking split the text into
    assert scan.word_starts() == [m.start() for m in re.finditer(r"\w+", text)]
    for index, pattern in enumerate(PATTERNS):
        words, prefixes = expected(text, pattern, True), expected(text, pattern, False)
        assert (index in scan.word_set, scan.word_spans(index)) == (bool(words), words), pattern
        assert (index in scan.prefix_set, scan.prefix_spans(index)) == (
            bool(prefixes),
            prefixes,
        ), pattern
    title_words, title_prefixes = scan.title_sets()
    in_title = len(title)
    for index, pattern in enumerate(PATTERNS):
        assert (index in title_words) == any(
            end <= in_title for _, end in expected(text, pattern, True)
        ), pattern
        assert (index in title_prefixes) == any(
            end <= in_title for _, end in expected(text, pattern, False)
        ), pattern


def test_a_pattern_not_searched_at_word_starts_reports_whole_words_only() -> None:
    scanner = Scanner(["rus", "russia"], prefixes={0})
    scan = scanner.scan("russia's", "")
    assert scan.word_set == {1} and scan.prefix_set == {0}
    assert scan.prefix_spans(1) == [] and scan.word_spans(1) == [(0, 6)]


def test_only_the_chosen_patterns_are_searched() -> None:
    scanner = Scanner(["kyiv", "talks"], only={1})
    scan = scanner.scan("kyiv talks", "")
    assert scan.word_set == {1}


def test_words_split_as_the_plain_word_pattern_splits_them() -> None:
    """Marking splits text into runs of word characters and joins runs across an inner
    apostrophe; the result is the split by the word pattern itself."""
    plain = re.compile(f"({_PLAIN_WORD.pattern})")
    pieces = ["a", "s", "b", "'", " ", "x", "1", ".", "'s", "é", "s "]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        parts = plain.split(text)
        want = (
            text
            if len(parts) == 1
            else "".join(f"{START}{p}{END}" if i % 2 else p for i, p in enumerate(parts))
        )
        assert mark(text) == want, text


JOINED = [  # words of several runs of \w, which NEAR counts one by one
    "o'brien", "brien", "o'b", "o", "talks", "peace talks", "l'europe", "europe", "rock'n'roll",
    "n'roll", "roll", "talks o'brien", "zelensky", "zelensky's plan", "plan", "de",
]  # fmt: skip
JOINED_TEXTS = [
    "o'brien talks; o'sullivan and l'europe",
    "rock'n'roll peace talks o'brien, zelensky's plan",
    "talks o'brien de l'europe o'b",
    "peace talks and zelensky",
    "",
]


@pytest.mark.parametrize(
    ("patterns", "title", "body"),
    [(PATTERNS, t, b) for t, b in itertools.product(TEXTS[:4], TEXTS)]
    + [(JOINED, t, b) for t, b in itertools.product(JOINED_TEXTS, JOINED_TEXTS)],
)
def test_word_places_counted_while_finding_hits_are_those_of_the_word_starts(
    patterns: list[str], title: str, body: str
) -> None:
    """The words a hit spans come from counting markers as it is found (and the apostrophes
    that joined runs of \\w into one marked word); they are the words ``word_index`` places
    it in."""
    scan = Scanner(patterns, set(range(len(patterns)))).scan(title, body)
    if not scan.counts_words():
        return
    for index in range(len(patterns)):
        for whole in (True, False):
            spans = scan.word_spans(index) if whole else scan.prefix_spans(index)
            assert scan.places(index, whole) == [
                (s >= scan.body_start, scan.word_index(s) + 1, scan.word_index(e - 1) + 1, (s, e))
                for s, e in spans
            ], (patterns[index], whole)


def test_texts_split_into_runs_count_words_while_finding_hits() -> None:
    scanner = Scanner(JOINED, set(range(len(JOINED))))
    assert scanner.scan("peace talks", "rock'n'roll o'brien").counts_words()
    assert not scanner.scan("talks_x", "").counts_words()  # an underscore: not split into runs
