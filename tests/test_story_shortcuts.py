"""The story index's shortcuts decide as the plain definitions do: window counts kept for a
moving span, IDF filled as a decision reads it, stories ruled out by a bound."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from peacewatch.app import entity_names
from peacewatch.stories.bounds import may_reach
from peacewatch.stories.counts import SpanCounts
from peacewatch.stories.features import entity_engine
from peacewatch.stories.memory import WindowIndex
from peacewatch.stories.rarity import WindowIdf, builtin_background, idf_table
from peacewatch.stories.scoring import near_members, story_score
from peacewatch.stories.signals import probe_of, story_view
from tests.faults.samples_stream import day_articles
from tests.helpers import samples_dir

TOKENS = [f"s:w{i}" for i in range(12)]


def by_hand(
    articles: list[tuple[float, list[str]]], low: float, high: float
) -> tuple[int, dict[str, int]]:
    inside = [tokens for published, tokens in articles if low <= published <= high]
    counts: dict[str, int] = {}
    for tokens in inside:
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
    return len(inside), counts


def test_span_counts_are_the_counts_of_the_articles_in_the_span() -> None:
    rng = random.Random(7)
    span = SpanCounts()
    articles: list[tuple[float, list[str]]] = []
    checked = 0
    for step in range(600):
        # Mostly in time order, some late, some at the same second; spans move both ways,
        # jump past every article, or hold none.
        published = float(step // 2 + (rng.randint(-40, 0) if rng.random() < 0.2 else 0))
        tokens = rng.sample(TOKENS, rng.randint(0, 4))
        span.add(published, tokens)
        articles.append((published, tokens))
        if step % 3 == 0:
            centre = published + rng.choice([0, 0, 0, -60, 30, 500, -500])
            low, high = centre - rng.randint(0, 50), centre + rng.randint(-5, 50)
            if low <= high:
                total, counts = span.span(low, high)
                assert (total, dict(counts)) == by_hand(articles, low, high)
                checked += 1
        if step % 97 == 96:
            horizon = published - 60
            span.drop_before(horizon)
            articles = [a for a in articles if a[0] >= horizon]
    assert checked > 150


def test_window_idf_is_the_idf_table_of_the_tokens_it_covers() -> None:
    counts = {"s:talk": 40, "e:witkoff": 3, "n:28": 1}
    tokens = ["s:talk", "e:witkoff", "n:28", "s:unseen", "s:talk"]
    idf = WindowIdf(counts, 200, builtin_background())
    idf.cover(tokens[:2])
    idf.cover(tokens)
    assert idf == idf_table(tokens, counts, 200, builtin_background())


@pytest.mark.skipif(not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports")
def test_the_bound_never_rules_out_a_story_the_article_would_join() -> None:
    """Every candidate story of a whole stream is scored in full; each that reaches the
    threshold must pass the bound, and the bound must rule out most of the others."""
    index = WindowIndex(timedelta(hours=48), entity_engine(entity_names()))
    model, threshold = index.model, index.threshold
    joins = ruled_out = scored = 0
    for article in day_articles("2026-01-06")[:1500]:
        feats = index.features_of(article)
        chosen, idf = index.candidates(feats)
        probe = probe_of(feats, idf)
        for members in chosen.values():
            near = near_members(feats, members, index.window)
            if not near:
                continue
            scored += 1
            reaches = story_score(feats, near, idf, model) >= threshold
            passes = may_reach(probe, story_view(probe, near, idf), idf, model, threshold)
            assert passes or not reaches, (article.title, [m.title for m in near])
            joins += reaches
            ruled_out += not passes
        index.place(article, feats=feats)
    assert joins > 50
    assert ruled_out > scored / 2
