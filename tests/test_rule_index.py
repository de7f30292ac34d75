"""Rules filed under their two rarest required terms decide exactly as the query tree does,
before and after they are filed again by the rarity counted on the news."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from peacewatch.models import Article
from peacewatch.rules import compiled as c
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec
from tests.helpers import samples_dir

QUERIES = [
    "Ukraine", "Ukraine Russia", "Ukraine Russia talks", "Ukraine OR Russia", "talks -Ukraine",
    "(Ukraine OR Kyiv) (Russia OR Moscow)", "(Ukraine OR Kyiv) talks -Trump",
    "peace* Ukraine", "actor:zelensky Russia", "Trump NEAR/5 Putin", "Ukraine NEAR/3 war",
    "title:Ukraine Russia", "(ceasefire OR truce) NEAR/10 (Ukraine OR Russia)",
    "Russia AND NOT (Ukraine OR war)", "source:reuters.com Ukraine", "security guarantees",
    '"security guarantees" Ukraine', "war president", "Witkoff Kushner", "minister* Ukraine",
    "Ukraine the", "the of", "the OR of", "Russia (said OR says)", "Kremlin -Peskov",
]  # fmt: skip


def articles() -> list[Article]:
    out = []
    lines = (samples_dir() / "items.jsonl").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:400]):
        item = json.loads(line)
        out.append(
            Article(
                id=f"a{i}",
                title=item.get("title") or "",
                link="",
                published=datetime(2026, 1, 6, tzinfo=UTC),
                source=str(item.get("source_domain") or "example.org"),
                outlet=str(item.get("source_outlet") or "Example"),
                summary=item.get("summary") or "",
            )
        )
    return out


def test_filed_rules_decide_as_the_tree_before_and_after_filing_again() -> None:
    rules = [RuleSpec(id=f"r{i}", query=q) for i, q in enumerate(QUERIES)]
    engine = RuleEngine.compile([TeamRuleSet("t", rules)])
    assert not engine.errors
    filed_first = list(engine._index._trigger)
    matched = 0
    items = articles()
    assert len(items) > 300  # past the first two filings by counted rarity (64, 256)
    for article in items:
        scan, _, _ = engine.scan(article)
        ctx = c.Context(scan, article, engine._terms)
        want = [r.rule_id for r in engine._rules if c.evaluate(r.node, ctx)]
        assert [m.rule_id for m in engine.match(article)] == want, article.id
        matched += len(want)
    assert matched > 100
    # filing again moved some rule under another group of terms (what the news shows rarest)
    assert engine._index._trigger != filed_first
