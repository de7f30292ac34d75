"""The tokens an article is indexed under in the searchable history.

They are the maximal runs of word characters of its normalised headline and body, ``src:``
tokens for its domain and outlet, and a ``lang:`` token."""

from __future__ import annotations

import functools
import re
import unicodedata

from peacewatch.models import Article
from peacewatch.rules.textnorm import normalise, normalise_pattern

__all__ = ["MAX_TOKEN", "tokens_of", "word_tokens"]

MAX_TOKEN = 64
"""Longer word runs are not indexed (and do not narrow a search)."""


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    # The matcher's word characters are str.isalnum() plus combining marks (textnorm). \w is
    # isalnum() plus "_", so "_" is blanked before matching and the marks are added as ranges
    # (found once by scanning the planes that have any; ranges keep the class fast).
    spans: list[list[int]] = []
    for block in (range(0x20000), range(0xE0100, 0xE01F0)):
        for cp in block:
            c = chr(cp)
            if unicodedata.category(c).startswith("M") and not c.isalnum():
                if spans and spans[-1][1] == cp - 1:
                    spans[-1][1] = cp
                else:
                    spans.append([cp, cp])
    marks = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in spans
    )
    return re.compile(r"[\w" + marks + "]+")


_ASCII_WORD = re.compile(r"\w+")
"""The same runs in ASCII text, which has no combining marks (and is matched three times as
fast as by the class that adds them)."""


def word_tokens(normalised: str) -> list[str]:
    """The maximal runs of word characters of already normalised text, in order."""
    text = normalised.replace("_", " ")
    return (_ASCII_WORD if text.isascii() else _word_pattern()).findall(text)


def _source_tokens(article: Article) -> set[str]:
    out: set[str] = set()
    domain = article.source.lower()
    if domain:
        labels = domain.split(".")
        out.update("src:" + label for label in labels if label)
        out.update("src:" + ".".join(labels[i:]) for i in range(len(labels)))
    out.update("src:" + word for word in normalise_pattern(article.outlet).split())
    return out


def tokens_of(article: Article) -> set[str]:
    """Every index token of an article: its words, ``src:`` and ``lang:`` tokens."""
    words = word_tokens(normalise(article.title).text) + word_tokens(normalise(article.body).text)
    out = {w for w in words if len(w) <= MAX_TOKEN}
    out |= {t for t in _source_tokens(article) if len(t) <= MAX_TOKEN + 4}
    out.add("lang:" + (article.lang or "").lower())
    return out
