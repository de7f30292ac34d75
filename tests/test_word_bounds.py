"""Word boundaries of the matcher: the fast path (no underscore, no combining marks in the
text) finds exactly the words of the full definition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from peacewatch.rules.marking import WHOLE_WORD, word_bounds

ALPHABET = "abs's'Zп'ї _1\u0301\u0483-.é’"


def exact(text: str) -> tuple[set[int], set[int]]:
    spans = [m.span() for m in WHOLE_WORD.finditer(text)]
    return {s for s, _ in spans}, {e for _, e in spans}


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_fast_and_full_word_bounds_agree(text: str) -> None:
    assert word_bounds(text) == exact(text)


def test_possessives_and_inner_apostrophes() -> None:
    text = "zelensky's o'brien перемир'я it's"
    starts, ends = word_bounds(text)
    assert starts == {0, 9, 11, 19, 29, 32}  # zelensky|'s|, o'brien, перемир'я, it|'s|
    assert ends == {8, 10, 18, 28, 31, 33}
    assert word_bounds("a_b") == ({0, 2}, {1, 3})  # an underscore is not part of a word
