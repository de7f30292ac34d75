"""Flat rules decided one by one (a few listed for an article) and over arrays (many listed)
decide the same; and many rules of one article decide as their query trees."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np

from peacewatch.models import Article
from peacewatch.rules import compiled as c
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.rules.termgroups import FEW, FlatRules, TermGroups

WHEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def test_rules_decided_one_by_one_and_over_arrays_agree() -> None:
    rng = random.Random(3)
    terms = 12
    specs = []
    for _ in range(300):
        groups = [
            frozenset(rng.sample(range(terms), rng.randint(1, 3))) for _ in range(rng.randint(0, 3))
        ]
        nones = frozenset(rng.sample(range(terms), rng.randint(0, 2)))
        specs.append((groups, nones))
    flat = FlatRules(TermGroups(), specs)
    flat._groups.pack()
    everyone = np.arange(len(specs), dtype=np.intp)
    for _ in range(200):
        mask = np.zeros(terms + 1, dtype=np.bool_)
        present = rng.sample(range(terms), rng.randint(0, terms))
        mask[present] = True
        at_once = flat.holds(everyone, mask)  # over arrays
        assert len(everyone) > FEW
        one_by_one = np.concatenate(
            [flat.holds(everyone[i : i + 1], mask) for i in range(len(specs))]
        )
        # the single rules were decided one by one: each has its terms laid out for that
        assert len(flat._plain) == len(specs)
        expected = [
            all(not g.isdisjoint(present) for g in groups) and nones.isdisjoint(present)
            for groups, nones in specs
        ]
        assert at_once.tolist() == one_by_one.tolist() == expected


def test_many_rules_listed_for_one_article_decide_as_their_trees() -> None:
    words = ["kyiv", "moscow", "truce", "ceasefire", "talks", "envoy", "oil", "grain"]
    rng = random.Random(5)
    queries = []
    for _ in range(120):
        a, b, d, e = rng.sample(words, 4)
        queries.append(f"{a} AND ({b} OR {d}) AND NOT {e}")
        queries.append(f"{a} AND {b} AND {d}")
    rules = [RuleSpec(id=f"r{i}", query=q) for i, q in enumerate(queries)]
    engine = RuleEngine.compile([TeamRuleSet("t", rules)])
    assert not engine.errors
    for n in range(30):
        text = " ".join(rng.sample(words, rng.randint(2, len(words))))
        art = Article(
            id=f"a{n}", title="news", link="https://example.org/a", published=WHEN,
            source="example.org", outlet="example.org", summary=text, lang="en",
        )  # fmt: skip
        expected = set()
        for rule in rules:
            parts = engine.explain_parts("t", rule.id, art)
            assert parts is not None
            if c.evaluate(parts[0], parts[1]):
                expected.add(rule.id)
        assert {m.rule_id for m in engine.match(art)} == expected, text
