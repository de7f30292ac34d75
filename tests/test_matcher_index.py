"""The matcher's short cuts decide exactly as the term-by-term evaluation: present terms found
at once from the scan (TermIndex), and what fired taken from the present terms of a query
without NEAR."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peacewatch.models import Article
from peacewatch.rules import compiled as c
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec
from tests.helpers import SAMPLE_ITEMS

QUERIES = [
    "Witkoff", "title:Witkoff", "title:talk*", "peace*", "actor:zelensky", "Зеленский",
    '"security guarantees"', "Kyiv NEAR/10 Moscow", "(Kyiv OR Kiev) NEAR/5 talk*",
    "Ukraine -Trump", "ceasefire OR truce OR перемирие", "title:(Putin OR Trump) AND minister*",
    "Russia AND NOT (Ukraine OR war)", "source:reuters.com OR Zelensky's", "o'brien",
]  # fmt: skip


def articles() -> list[Article]:
    out = []
    for i, item in enumerate(SAMPLE_ITEMS):
        out.append(
            Article(
                id=f"a{i}", title=item["title"], link="", source="reuters.com", outlet="Reuters",
                published=datetime(2026, 1, 6, tzinfo=UTC), summary=item.get("summary", ""),
            )
        )  # fmt: skip
    out.append(
        Article(
            id="t", title="Talks in Kyiv: Witkoff meets Zelensky's team", link="",
            source="example.org", outlet="Example", published=datetime(2026, 1, 6, tzinfo=UTC),
            summary="Peace talks went on in Kyiv, far from Moscow. O'Brien spoke of truce.",
        )
    )  # fmt: skip
    out.append(
        Article(
            id="near", title="Kiev, the old spelling", link="", source="example.org",
            outlet="Example", published=datetime(2026, 1, 6, tzinfo=UTC),
            summary="Kiev was the name in many older English texts about the city and its long "
            "history of trade. Today Kyiv talks resumed.",
        )
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    rules = [RuleSpec(id=f"r{i}", query=q) for i, q in enumerate(QUERIES)]
    return RuleEngine.compile([TeamRuleSet("t", rules)])


def test_present_terms_at_once_are_the_terms_present_one_by_one(engine: RuleEngine) -> None:
    index = c.TermIndex(engine._terms)
    seen = 0
    for article in articles():
        scan, _, _ = engine.scan(article)
        lazy = c.Context(scan, article, engine._terms)
        at_once = index.present(scan)
        assert at_once == {t for t in range(len(engine._terms)) if lazy.present(t)}
        seen += len(at_once)
    assert seen > 10


def test_what_fired_is_reported_as_the_tree_says(engine: RuleEngine) -> None:
    matched = 0
    for article in articles():
        scan, _, _ = engine.scan(article)
        lazy = c.Context(scan, article, engine._terms)
        for match in engine.match(article):
            rule = engine._rules[engine._rule_index[(match.team_id, match.rule_id)]]
            fired: dict[c.TermRef, list[tuple[int, int]]] = {}
            c.fired(rule.node, lazy, fired)
            want: list[str] = []
            reported: set[int] = set()  # one entity named by two terms is reported once
            for ref in rule.labels:
                if fired.get(ref) and ref.label not in want and ref.tid not in reported:
                    want.append(ref.label)
                    reported.add(ref.tid)
            assert list(match.matched) == want, (article.id, match.rule_id)
            matched += 1
            if rule.near:  # only the hits near the other side are shown
                spans = {s for ref, found in fired.items() for s in found}
                assert len(match.hits) == len(spans), (article.id, match.rule_id)
    assert matched > 10
