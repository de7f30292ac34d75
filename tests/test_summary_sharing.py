"""One article matched by many rules: its sentences are split and scored once, and each rule's
summary is the one ``summarise`` would write for that rule's hits alone."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from peacewatch.models import Article, Hit
from peacewatch.pipeline.summarise import (
    MAX_CHARS,
    MAX_SENTENCES,
    ArticleSummariser,
    candidates,
    centrality,
    clip,
    content_tokens,
    join_sentences,
    pick,
    term_forms,
    terms_in,
)
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.watchers.text import html_to_text
from tests.helpers import samples_dir

QUERIES = [
    "Witkoff", "Zelensky OR Зеленський", "Putin AND talks", "peace*", "ceasefire OR truce",
    '"security guarantees"', "Kyiv NEAR/10 Moscow", "Ukraine -Trump", "title:Ukraine",
    "Russia AND (Ukraine OR Kyiv)", "war", "minister*", "Kushner OR Witkoff", "plan",
    "Donbas OR Донбас", "energy", "president NEAR/5 said", "Macron OR Starmer", "Paris",
]  # fmt: skip


def reference(article: Article, hits: Sequence[Hit], limit: int = MAX_SENTENCES) -> str:
    """The summary computed from scratch for one set of hits, step by step as documented (at
    most ``limit`` sentences)."""
    cands = candidates(article)
    if not cands:
        return ""
    body_hits = [h for h in hits if h.field == "body"]
    forms = term_forms(hits)
    title_tokens = content_tokens(article.title)
    scored = []
    for cand in cands:
        terms = terms_in(cand, body_hits, forms)
        overlap = len(cand.tokens & title_tokens) / (len(title_tokens) or 1)
        central = centrality(cand, (c.tokens for c in cands if c is not cand))
        score = 3.0 * len(terms) + 1.5 * overlap + 1.0 / (1 + cand.index) + 0.5 * central
        if len(cand.text) < 25:
            score -= 1.0
        scored.append((score, cand))
    chosen = pick(scored, limit, MAX_CHARS)
    return clip(join_sentences(c.text for c in sorted(chosen, key=lambda c: c.index)), MAX_CHARS)


def sample_articles(count: int) -> list[Article]:
    path = samples_dir() / "items.jsonl"
    if not path.is_file():
        pytest.skip("no sample items")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        body = html_to_text(item.get("summary"))
        if len(body) < 400:
            continue
        out.append(
            Article(
                id=str(item.get("id") or len(out)),
                title=html_to_text(item.get("title")),
                link="",
                published=datetime(2026, 1, 6, tzinfo=UTC),
                source="example.org",
                outlet="Example",
                summary=body,
                lang="en",
            )
        )
        if len(out) == count:
            break
    return out


def test_each_rule_gets_the_summary_of_its_own_hits() -> None:
    engine = RuleEngine.compile(
        [TeamRuleSet("t", [RuleSpec(id=f"r{i}", query=q) for i, q in enumerate(QUERIES)])]
    )
    compared = distinct = 0
    for article in sample_articles(40):
        matches = engine.match(article)
        shared = ArticleSummariser(article)
        summaries = set()
        for m in matches:
            assert shared.summary(m.hits) == reference(article, m.hits), (article.id, m.rule_id)
            summaries.add(shared.summary(m.hits))
            compared += 1
        distinct += len(summaries) > 1
    assert compared > 100
    assert distinct > 0  # the rules' hits do steer the summaries apart


def test_no_hits_and_limits_are_kept_apart() -> None:
    article = sample_articles(1)[0]
    shared = ArticleSummariser(article)
    assert shared.summary(()) == reference(article, ())
    short = shared.summary((), max_sentences=1, max_chars=120)
    assert len(short) <= 120 and short != shared.summary(())


def test_a_short_form_found_elsewhere_counts_as_a_whole_word_in_every_sentence() -> None:
    # the hit is in the title: the body's sentences that hold its form as a whole word (not
    # the "un" of "under") are the ones the summary is made of
    term = "UN"
    body = (
        "The weather stayed mild under clear skies across the region on Monday morning. "
        f"Delegates gathered at the {term} venue to discuss a ceasefire for eastern Ukraine. "
        "Markets in Asia were mixed as traders awaited new data from Beijing and Tokyo. "
        f"A spokesperson said the {term} round would resume after a short break."
    )
    article = Article(
        id="t1",
        title=f"{term} resume",
        link="",
        published=datetime(2026, 1, 6, tzinfo=UTC),
        source="example.org",
        outlet="Example",
        summary=body,
        lang="en",
    )
    hits = [Hit(term=term, field="title", start=0, end=len(term), text=term)]
    summary = ArticleSummariser(article).summary(hits, max_sentences=2)
    assert summary == (
        f"Delegates gathered at the {term} venue to discuss a ceasefire for eastern Ukraine. "
        f"A spokesperson said the {term} round would resume after a short break."
    )


def test_short_forms_are_found_where_a_whole_word_regex_finds_them() -> None:
    # forms under four characters count only with no word character either side (``\w``:
    # letters, digits of any script, the underscore); the summaries hold the sentences that
    # ``terms_in`` (a regex with look-arounds) finds them in, whatever stands next to them
    rnd = random.Random(5)
    words = "un UN sun uno un_ _un un2 ²un un² ün u.n u.n. ООН оон ООНі talks peace eu eu's (un)"
    words += " un-led résumé"
    forms = ["un", "UN", "u.n", "ООН", "eu", "n", "²"]
    compared = 0
    for case in range(300):
        sentences = [
            " ".join(rnd.choice(words.split()) for _ in range(rnd.randrange(3, 9))).capitalize()
            + "."
            for _ in range(rnd.randrange(1, 6))
        ]
        article = Article(
            id=f"f{case}",
            title="Talks resume",
            link="",
            published=datetime(2026, 1, 6, tzinfo=UTC),
            source="example.org",
            outlet="Example",
            summary=" ".join(sentences),
            lang="en",
        )
        form = rnd.choice(forms)
        hits = [Hit(term=form, field="title", start=0, end=len(form), text=form)]
        shared = ArticleSummariser(article)
        for limit in (1, 3):
            assert shared.summary(hits, max_sentences=limit) == reference(article, hits, limit), (
                sentences,
                form,
            )
            compared += 1
    assert compared == 600
