"""Marking over arrays of code points (``mark_words``) gives the text that splitting on the word
pattern gives (``mark``), and counts the same words: runs of ``\\w`` and the apostrophes that
join two runs into one marked word."""

from __future__ import annotations

import random
import re

import numpy as np

from peacewatch.rules.marking import _char_kinds, mark, mark_runs, mark_words, words_of_runs
from peacewatch.rules.scanner import FIELD_SEPARATOR, Scanner

PIECES = [
    "a", "s", "b", "'", " ", "x", "1", ".", "'s", "é", "s ", "я", "’", "\x01", "\x02", "ß",
    "٣", "²", "\u00ad", "-", "o'", "l'", "'n'",
]  # fmt: skip


def test_the_word_table_is_the_regex_word_class() -> None:
    kinds = _char_kinds()
    pattern = re.compile(r"\w")
    for code in range(0x10000):
        char = chr(code)
        if code == ord("_") or 0xD800 <= code < 0xE000:
            assert kinds[code] == 2
            continue
        assert (kinds[code] == 1) == (pattern.match(char) is not None), hex(code)
    assert kinds[0x301] == kinds[0x483] == 2 and kinds[ord("a")] == 1


def test_marked_text_and_words_are_those_of_the_word_split() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        title = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))
        body = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
        text = title + FIELD_SEPARATOR + body
        found = mark_words(text, len(title))
        assert found is not None, text
        marked, title_end, starts, joined = found
        marked_title, title_runs, _ = mark_runs(title)
        _, body_runs, _ = mark_runs(body)
        assert marked == mark(title) + FIELD_SEPARATOR + mark(body), text
        assert title_end == len(marked_title), text
        assert title_runs is not None and body_runs is not None
        want_starts, want_joined = words_of_runs(title_runs, body_runs, len(title) + 3)
        assert (
            starts.tolist()
            == want_starts.tolist()
            == [m.start() for m in re.finditer(r"\w+", text)]
        )
        assert joined == want_joined, text


def test_texts_it_leaves_to_the_regex_split() -> None:
    for text in ("a_b", "cafe\u0301", "emoji \U0001f600 talks", "и\u0483", "a \ud800 b"):
        assert mark_words(text, 0) is None
    marked, title_end, starts, joined = mark_words("", 0) or ("?", -1, np.ones(1), [0])
    assert (marked, title_end, starts.tolist(), joined) == ("", 0, [], [])


def test_hits_in_a_title_of_other_scripts_are_told_from_those_in_the_body() -> None:
    """The automaton reads the marked text's UTF-8: the title's hits are those that end
    before the title's last byte, however many bytes its characters take."""
    patterns = ["перемир'я", "talks", "café", "київ", "kyiv"]
    scanner = Scanner(patterns, set(range(len(patterns))))
    titles = ["перемир'я café", "київ talks", "talks", "café 😀 talks kyiv", ""]
    bodies = ["talks перемир'я київ café", "", "café київ", "😀 talks"]
    for title in titles:
        for body in bodies:
            scan = scanner.scan(title, body)
            words, prefixes = scan.title_sets()
            for index, pattern in enumerate(patterns):
                in_title = re.search(rf"(?<!\w){re.escape(pattern)}(?!\w)", title) is not None
                assert (index in words) == in_title, (title, body, pattern)
                assert index in scan.word_set or pattern not in title + " " + body
            assert {patterns[i] for i in prefixes} <= {p for p in patterns if p in title}
