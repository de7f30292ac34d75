"""Extractive summaries of a story told by several outlets, and what a later outlet adds to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from peacewatch.models import Article, Hit
from peacewatch.pipeline.summarise import (
    MAX_CHARS,
    MAX_SENTENCES,
    Candidate,
    candidates,
    centrality,
    clip,
    content_tokens,
    join_sentences,
    near_duplicate,
    pick,
    term_forms,
    terms_in,
)

__all__ = ["MAX_SOURCES", "summarise_story", "what_it_adds"]

MAX_SOURCES = 8
"""Sentences are drawn from at most this many of the story's best articles."""
MAX_EARLIER = 20
"""``what_it_adds`` compares with at most this many earlier articles (the latest ones)."""
COVERED_SHARE = 0.75
"""A sentence whose content words are at least this much in one earlier sentence is covered."""
MIN_NEW_WORDS = 2
"""A sentence must bring at least this many content words that no earlier article used."""


@dataclass(frozen=True, slots=True)
class _Source:
    article: Article
    candidates: tuple[Candidate, ...]
    tokens: frozenset[str]
    """Content words of the title and the whole scanned body."""


def _source(article: Article) -> _Source:
    cands = tuple(candidates(article))
    tokens = set(content_tokens(article.title))
    for cand in cands:
        tokens.update(cand.tokens)
    return _Source(article, cands, frozenset(tokens))


def _sources(articles: Sequence[Article]) -> list[_Source]:
    seen: set[str] = set()
    out = []
    for article in articles:
        if article.id not in seen:
            seen.add(article.id)
            out.append(_source(article))
    return out


DEFAULT_LANGUAGE = "en"
"""The language a story summary is written in when the team has not chosen one."""


def in_language(articles: Sequence[Article], language: str) -> Sequence[Article]:
    """The articles in ``language`` (or of unknown language) when there are any, else all."""
    own = [a for a in articles if not a.lang or a.lang[:2].lower() == language]
    return own or articles


def summarise_story(
    articles: Sequence[Article],
    hits_by_article: Mapping[str, Sequence[Hit]] = {},
    max_sentences: int = MAX_SENTENCES,
    max_chars: int = MAX_CHARS,
    max_sources: int = MAX_SOURCES,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """Up to ``max_sentences`` sentences (``max_chars`` characters, whole words) that tell the
    story as its outlets report it.

    A sentence scores for the matched terms it holds (``hits_by_article`` maps an article id to
    its hits; the surface forms of every hit count in every article), for centrality (how much
    of it the story's other outlets also say), and for an early position. The sentences come
    from the best ``max_sources`` articles (most central, matched, with the most text), and a
    sentence that says what a chosen one already says is skipped, so several outlets carrying
    the same wire copy give it once.

    One language per summary: when any article is in ``language`` (the team's; an article of
    unknown language counts as in it), only those are summarised; the others are listed with
    the story's outlets, never mixed into the text.
    """
    articles = in_language(articles, language)
    sources = [s for s in _sources(articles) if s.candidates]
    if not sources:
        return ""
    forms = term_forms(h for hits in hits_by_article.values() for h in hits)
    scored: list[tuple[float, Candidate]] = []
    quality: dict[str, float] = {}
    per_source: dict[str, list[tuple[float, Candidate]]] = {}
    for src in sources:
        others = [o.tokens for o in sources if o.article.source != src.article.source]
        body_hits = [h for h in hits_by_article.get(src.article.id, ()) if h.field == "body"]
        rows = []
        support_total = 0.0
        for cand in src.candidates:
            # Centrality per outlet: the share of the sentence each other outlet also says,
            # averaged, so a fact all outlets carry beats one that a single outlet repeats.
            support = (
                sum(centrality(cand, [tokens]) for tokens in others) / len(others)
                if others
                else 0.0
            )
            support_total += support
            terms = terms_in(cand, body_hits, forms)
            score = 3.0 * len(terms) + 2.0 * support + 1.0 / (1 + cand.index)
            if len(cand.text) < 25:
                score -= 1.0
            rows.append((score, cand))
        per_source[src.article.id] = rows
        matched = 1.0 if src.article.id in hits_by_article else 0.0
        length = min(len(src.article.body), 1500) / 1500
        quality[src.article.id] = support_total / len(src.candidates) + 0.5 * matched + 0.5 * length
    best = sorted(sources, key=lambda s: (-quality[s.article.id], s.article.published))
    owner: dict[int, tuple[int, Article]] = {}
    for rank, src in enumerate(best[:max_sources]):
        for score, cand in per_source[src.article.id]:
            scored.append((score + 0.5 * quality[src.article.id], cand))
            owner[id(cand)] = (rank, src.article)
    chosen = pick(scored, max_sentences, max_chars)
    # The best source's sentences lead; within one article they keep their order.
    chosen.sort(key=lambda c: (owner[id(c)][0], c.index))
    return clip(join_sentences(c.text for c in chosen), max_chars)


def what_it_adds(
    new: Article,
    earlier: Sequence[Article],
    max_chars: int = 300,
    max_sentences: int = 2,
) -> str:
    """The sentences of ``new`` that the ``earlier`` articles of its story did not already say:
    up to ``max_sentences`` of them, at most ``max_chars`` characters, in their order; "" when
    it adds nothing.

    A sentence is already said when it nearly repeats an earlier sentence or headline (fuzzy
    token-set match), when most of its content words are in one earlier sentence, or when it
    brings fewer than two content words that no earlier article used. Of the rest, the ones
    with the most new words (numbers count double) come first.
    """
    mine = [c for c in candidates(new) if not c.junk]
    if not mine:
        return ""
    before = [s for s in _sources(earlier[-MAX_EARLIER:]) if s.article.id != new.id]
    said: list[tuple[str, frozenset[str]]] = []
    known: set[str] = set()
    for src in before:
        said.append((src.article.title, content_tokens(src.article.title)))
        said.extend((c.text, c.tokens) for c in src.candidates)
        known.update(src.tokens)
    scored: list[tuple[float, Candidate]] = []
    for cand in mine:
        fresh = cand.tokens - known
        if len(fresh) < MIN_NEW_WORDS:
            continue
        if any(
            tokens and len(cand.tokens & tokens) >= COVERED_SHARE * len(cand.tokens)
            for _, tokens in said
        ):
            continue
        if any(near_duplicate(cand.text, text) for text, _ in said if text):
            continue
        weight = len(fresh) + sum(1 for t in fresh if any(ch.isdigit() for ch in t))
        scored.append((weight + 1.0 / (1 + cand.index), cand))
    chosen = pick(scored, max_sentences, max_chars)
    return clip(join_sentences(c.text for c in sorted(chosen, key=lambda c: c.index)), max_chars)
