"""The history index's words of ASCII text (found by a plain word pattern) are those the full
pattern, which adds the combining marks of other scripts, finds. An equivalence guard of that
shortcut: it holds with the shortcut removed too, and fails if the two patterns ever part."""

from __future__ import annotations

import string

from peacewatch.store.historytokens import _word_pattern, word_tokens
from tests.faults.samples_stream import day_articles
from tests.helpers import samples_dir


def test_ascii_text_gives_the_runs_of_the_full_word_pattern() -> None:
    texts = [
        "witkoff_met putin's envoy at 10:30, 2026-01-07 (talks) -- x1y2 z",
        string.printable,
        "__init__ a_b_c 1_000 _",
        "",
    ]
    if (samples_dir() / "feeds-2026-01").is_dir():
        texts += [a.title + " " + a.summary for a in day_articles("2026-01-07", limit=400)]
    ascii_texts = [t.lower() for t in texts if t.isascii()]
    assert len(ascii_texts) > 4
    for text in ascii_texts:
        assert word_tokens(text) == _word_pattern().findall(text.replace("_", " ")), text
    # and text that is not ASCII still keeps its combining marks inside words
    assert word_tokens("dvi\u0301 kri\u0308") == ["dvi\u0301", "kri\u0308"]
