"""Rules that are ANDs, ORs and NOTs of terms are decided by set operations on the terms an
article holds; they decide exactly what the query tree decides."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from peacewatch.models import Article
from peacewatch.rules import compiled as c
from peacewatch.rules import fastpath as fp
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec

WHEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
WORDS = ["kyiv", "moscow", "truce", "ceasefire", "talks", "envoy", "oil"]
TERMS = [*WORDS, "title:talks", "tal*", '"peace talks"', "Putin"]


def _query(depth: int) -> st.SearchStrategy[str]:
    term = st.sampled_from(TERMS)
    if depth == 0:
        return term
    inner = _query(depth - 1)
    return st.one_of(
        term,
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " AND ".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")"),
        st.tuples(inner, inner).map(lambda ab: f"({ab[0]} AND NOT {ab[1]})"),
    )


TEXT = st.lists(st.sampled_from([*WORDS, "peace", "putin", "путина"]), max_size=12).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_query(2), min_size=1, max_size=6), TEXT, TEXT)
def test_flat_rules_decide_as_the_query_tree(queries: list[str], title: str, body: str) -> None:
    rules = [RuleSpec(id=f"r{i}", query=q) for i, q in enumerate(queries)]
    engine = RuleEngine.compile([TeamRuleSet("t", rules)])
    assert not engine.errors, engine.errors
    art = Article(
        id="a", title=title, link="https://example.org/a", published=WHEN,
        source="example.org", outlet="example.org", summary=body, lang="en",
    )  # fmt: skip
    expected = set()
    for rule in rules:
        parts = engine.explain_parts("t", rule.id, art)
        assert parts is not None
        node, ctx, _, _ = parts
        if c.evaluate(node, ctx):
            expected.add(rule.id)
    assert {m.rule_id for m in engine.match(art)} == expected


def test_flat_sets_of_a_query() -> None:
    a, b, d = c.TermRef(0, "a"), c.TermRef(1, "b"), c.TermRef(2, "d")
    assert fp.flat(a) == (frozenset({0}), (), frozenset())
    node = c.AllOf((a, c.AnyOf((b, d)), c.NoneOf(c.AnyOf((b, d)))))
    assert fp.flat(node) == (frozenset({0}), (frozenset({1, 2}),), frozenset({1, 2}))
    assert fp.flat(c.AnyOf((a, c.AllOf((b, d))))) is None
    assert fp.flat(c.AllOf((a, c.Near((b,), (d,), 3)))) is None
