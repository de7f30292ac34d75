"""The rules benchmark's cross-check: our matcher and the per-rule regex loop decide alike."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ is run as scripts, not installed

from bench import rules as bench  # noqa: E402
from bench.vocab import build_vocabulary  # noqa: E402
from peacewatch.models import Article  # noqa: E402
from peacewatch.rules.entities import builtin_dictionary  # noqa: E402
from peacewatch.watchers.text import html_to_text  # noqa: E402

WHEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def article(article_id: str, title: str, body: str) -> Article:
    return Article(
        id=article_id, title=title, link=f"https://example.org/{article_id}", published=WHEN,
        source="example.org", outlet="Example", summary=body, lang="en",
    )  # fmt: skip


def feed_articles(name: str, per_article: int) -> list[Article]:
    """Real entries of a test feed file, joined a few at a time into longer articles."""
    entries = feedparser.parse(str(ROOT / "tests" / "data" / name)).entries
    texts = [f"{html_to_text(e.get('title'))}\n{html_to_text(e.get('summary'))}" for e in entries]
    return [
        article(f"{name}-{i}", texts[i].split("\n")[0], "\n\n".join(texts[i : i + per_article]))
        for i in range(0, len(texts), per_article)
    ]


def check(queries: list[str], articles: list[Article]) -> bench.CrossCheck:
    teams = bench.make_teams(queries, 7)
    result = bench.cross_check(teams, articles)
    assert result.agree, (sorted(result.only_ours)[:5], sorted(result.only_regex)[:5])
    return result


def test_hand_made_cases_match_the_same_way() -> None:
    queries = [
        "Zelensky",  # possessive, and every spelling of the entity
        "brien",  # not a word inside O'Brien
        '"cease fire"',  # hyphen or space
        "Putin NEAR/3 talks",  # an inflected Cyrillic form, by word positions
        "negotiat* -football",
        "title:Witkoff",
        "Witkoff -Moscow",
    ]
    articles = [
        article("a", "Zelensky's office", "O'Brien spoke of a cease-fire. Путина talks soon."),
        article("b", "Football", "Negotiations stalled; Witkoff in Moscow; football tonight."),
        article(
            "c", "Witkoff arrives", "Negotiators met Putin; the long awaited and delayed talks."
        ),
    ]
    result = check(queries, articles)
    rules = {(pair[0], pair[2]) for pair in result.ours}
    assert rules == {
        ("a", "r0"),
        ("a", "r2"),
        ("a", "r3"),
        ("c", "r4"),
        ("c", "r5"),
        ("c", "r6"),
    }


def test_drawn_rules_over_real_feed_items_agree() -> None:
    articles = feed_articles("bbc.xml", 6) + feed_articles("liga_ru.xml", 3)
    vocabulary = build_vocabulary((f"{a.title}\n{a.body}" for a in articles), builtin_dictionary())
    queries = [text for text, _ in bench.valid_queries(vocabulary, 300, seed=5)]
    assert any("NEAR/" in t for t in queries) and any(" -" in t for t in queries)
    result = check(queries, articles)
    assert len(result.ours) >= 5


@pytest.mark.skipif(not (bench.DEFAULT_SAMPLES / "items.jsonl").is_file(), reason="no sample data")
def test_benchmark_size_on_sample_articles_agrees() -> None:
    samples = bench.DEFAULT_SAMPLES
    articles = bench.talks_articles(samples, 4_500)[:3] + bench.feed_articles(samples, 4_500)[:2]
    vocabulary = build_vocabulary((f"{a.title}\n{a.body}" for a in articles), builtin_dictionary())
    rules = bench.valid_queries(vocabulary, 300, seed=1)
    budget = bench.Budget(repeats=1, pass_seconds=0.01, regex_seconds=60, regex_rules=300)
    result = bench.run_size(rules, 10, articles, budget)
    assert result.check.articles == len(articles)
    assert result.check.agree, (sorted(result.check.only_ours)[:5], result.check.only_regex)
    assert len(result.check.ours) >= 5
    assert result.rules == 300 and result.ours > 0 and result.bare > 0 and result.regex > 0
