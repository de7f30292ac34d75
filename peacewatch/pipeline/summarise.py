"""Extractive summaries: up to three whole sentences, chosen for the matched terms."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from peacewatch.models import Article, Hit

MAX_SENTENCES = 3
MAX_CHARS = 600
_PYSBD_LANGS = frozenset(
    [
        "en",
        "hi",
        "mr",
        "zh",
        "es",
        "am",
        "ar",
        "hy",
        "bg",
        "ur",
        "ru",
        "pl",
        "fa",
        "nl",
        "da",
        "fr",
        "my",
        "el",
        "it",
        "ja",
        "de",
        "kk",
        "sk",
    ]
)
_TOKEN = re.compile(r"\w{3,}")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: int
    end: int


@functools.lru_cache(maxsize=32)
def _segmenter(lang: str) -> object:
    import pysbd

    return pysbd.Segmenter(language=lang, clean=False, char_span=True)


def sentences(text: str, lang: str | None = None) -> list[Sentence]:
    """Sentences of ``text`` with their character spans, split by pysbd."""
    if not text.strip():
        return []
    code = (lang or "en").lower()
    code = (
        "ru" if code == "uk" else code
    )  # pysbd has no Ukrainian; Russian rules fit its punctuation
    segmenter = _segmenter(code if code in _PYSBD_LANGS else "en")
    out = []
    for span in segmenter.segment(text):  # type: ignore[attr-defined]
        sent = span.sent.strip()
        if sent:
            start = text.find(sent, span.start)
            start = span.start if start < 0 else start
            out.append(Sentence(sent, start, start + len(sent)))
    return out


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def summarise(
    article: Article,
    hits: Sequence[Hit] = (),
    max_sentences: int = MAX_SENTENCES,
    max_chars: int = MAX_CHARS,
) -> str:
    """Up to ``max_sentences`` sentences of the article body, in their original order, at most
    ``max_chars`` characters, never cutting a word. Sentences that hold matched terms come first,
    then early ones and ones that share words with the headline."""
    body = article.body
    sents = sentences(body, article.lang)
    if not sents:
        return ""
    body_hits = [h for h in hits if h.field == "body"]
    title_tokens = {t.casefold() for t in _TOKEN.findall(article.title)}
    scored: list[tuple[float, int]] = []
    for index, sent in enumerate(sents):
        terms = {h.term for h in body_hits if sent.start <= h.start < sent.end}
        tokens = {t.casefold() for t in _TOKEN.findall(sent.text)}
        overlap = len(tokens & title_tokens) / (len(title_tokens) or 1)
        score = 3.0 * len(terms) + 1.5 * overlap + 1.0 / (1 + index)
        if len(sent.text) < 25:
            score -= 1.0  # fragments such as bylines or "Read more"
        scored.append((score, index))
    chosen: list[int] = []
    total = 0
    for _, index in sorted(scored, key=lambda s: (-s[0], s[1])):
        length = len(sents[index].text) + (1 if chosen else 0)
        if len(chosen) >= max_sentences:
            break
        if chosen and total + length > max_chars:
            continue
        chosen.append(index)
        total += length
    text = " ".join(sents[i].text for i in sorted(chosen))
    return clip(text, max_chars)
