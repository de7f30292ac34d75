"""An ASCII line with none of sentencex's ASCII stops is one sentence: the splitter is not
asked, and the spans are those it would give."""

from __future__ import annotations

import random
import string

from peacewatch.pipeline import sentences as s

LANGUAGES = ["en", "de", "pl", "fr", "es", "it", "ru", "uk", "el", "hy", "ja", "zh", "ar", "xx"]


def test_sentencex_ends_an_ascii_line_only_at_the_stops_named() -> None:
    others = [chr(c) for c in range(128) if chr(c) not in s._STOPS + "\n" and not chr(c).isalnum()]
    for code in LANGUAGES:
        for char in others:
            for line in (f"Hello there{char} The next one", f"Hello {char} The next one"):
                assert len(s._boundaries(line, code)) == 1, (code, char)
    # and each of the stops does end one somewhere
    for stop, code in (".", "en"), ("!", "en"), ("?", "en"), (";", "el"), (":", "hy"):
        assert len(s._boundaries(f"Hello there{stop} The next one", code)) == 2


def test_lines_without_a_stop_split_as_the_splitter_splits_them() -> None:
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(128) if chr(c) not in s._STOPS + "\n"]
    words = ["Hello", "U", "S", "Mr", "Dr", "(", ")", '"', "'", " ", "\t", "1", "St", "vs", "A"]
    for n in range(20_000):
        if n % 2:
            line = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        else:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(1, 15)))
        if line.isspace():
            continue
        assert not s._may_split(line)
        pieces = s._boundaries(line, rng.choice(LANGUAGES))
        first, last = len(line) - len(line.lstrip()), len(line.rstrip())
        assert [(p["start_index"], p["end_index"]) for p in pieces] == [(0, len(line))], line
        assert s._line_spans(line, "en") == ([(first, last)] if last > first else []), line
    assert s._may_split("Talks resumed. Kyiv") and s._may_split("Київ") and s._may_split("a: b")
    assert not s._may_split(string.ascii_letters + " 123 ,-'\"()")
