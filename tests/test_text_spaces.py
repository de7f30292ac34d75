"""Plain text from a feed field has each run of spaces made one space and each run of white
space around a line break made one line break, as the two substitutions below would make them."""

from __future__ import annotations

import itertools
import re

from peacewatch.watchers.text import html_to_text

SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")
NEWLINES = re.compile(r"\s*\n\s*")
PIECES = ["a", "b", " ", "  ", "\t", "\u00a0", "\u2009", "\u202f", "\n", "\r", "\u2028", "\x0b"]


def reference(text: str) -> str:
    """What html_to_text makes of plain text without entities or furniture."""
    return NEWLINES.sub("\n", SPACES.sub(" ", text)).strip()


def test_every_short_mix_of_spaces_and_breaks_is_tidied_as_the_substitutions_do() -> None:
    for size in range(1, 5):
        for parts in itertools.product(PIECES, repeat=size):
            text = "x" + "".join(parts) + "y"
            assert html_to_text(text) == reference(text), repr(text)
            assert html_to_text(text[1:]) == reference(text[1:]) or not text[1:].strip()


def test_a_paragraph_keeps_its_lines_and_single_spaces() -> None:
    text = "Talks in Geneva.  \n \n\tEnvoys met\u00a0at noon.\nA third line \u2009ends here."
    assert html_to_text(text) == "Talks in Geneva.\nEnvoys met at noon.\nA third line ends here."
    assert html_to_text("One line, one space each.") == "One line, one space each."
