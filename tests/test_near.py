"""NEAR/n: exact distances, one field at a time, either order, with groups on either side."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from peacewatch.models import Article, Match
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec

WHEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
DISTANCES = (1, 2, 5, 10, 100)


def article(title: str, body: str = "") -> Article:
    return Article(
        id="a1", title=title, link="https://example.org/a", published=WHEN,
        source="example.org", outlet="Example", summary=body, lang="en",
    )  # fmt: skip


def found(query: str, art: Article) -> list[Match]:
    engine = RuleEngine.compile([TeamRuleSet("t", [RuleSpec(id="r", query=query)])])
    assert not engine.errors, engine.errors
    return engine.match(art)


def apart(left: str, right: str, k: int) -> str:
    """``left`` and ``right`` exactly ``k`` words apart (``k - 1`` filler words between)."""
    return " ".join([left, *["filler"] * (k - 1), right])


@pytest.mark.parametrize("n", DISTANCES)
@pytest.mark.parametrize("field", ["title", "body"])
@pytest.mark.parametrize("first", ["alpha", "omega"])
def test_n_words_apart_is_near_and_n_plus_one_is_not(n: int, field: str, first: str) -> None:
    second = "omega" if first == "alpha" else "alpha"

    def text(k: int) -> Article:
        words = "lead words " + apart(first, second, k) + " trailing words"
        return article(words) if field == "title" else article("headline", words)

    query = f"alpha NEAR/{n} omega"
    assert found(query, text(n)), f"{n} apart in the {field}"
    assert not found(query, text(n + 1)), f"{n + 1} apart in the {field}"


@pytest.mark.parametrize("n", DISTANCES)
def test_groups_on_both_sides_keep_the_same_boundary(n: int) -> None:
    query = f'(alpha OR beta*) NEAR/{n} (omega OR "peace plan" OR gamma)'
    # a phrase counts from its last word when it comes first, from its first word after
    assert found(query, article(apart("peace plan", "betamax", n)))
    assert not found(query, article(apart("peace plan", "betamax", n + 1)))
    assert found(query, article("x", apart("beta", "gamma", n)))
    assert not found(query, article("x", apart("beta", "gamma", n + 1)))
    assert found(query, article("x", apart("omega", "alpha", n)))
    assert not found(query, article("x", apart("omega", "alpha", n + 1)))


@pytest.mark.parametrize("n", DISTANCES)
def test_a_title_hit_and_a_body_hit_are_never_near(n: int) -> None:
    # joined as one text, the last word of the title and the first of the body would be adjacent
    for title, body in (("about alpha", "omega said"), ("about omega", "alpha said")):
        assert not found(f"alpha NEAR/{n} omega", article(title, body))
        assert not found(f"(alpha OR beta) NEAR/{n} (omega OR gamma)", article(title, body))
    # a pair in one field still counts when the other field has hits too
    assert found(f"alpha NEAR/{n} omega", article("alpha omega", "omega alpha"))
    assert found(f"alpha NEAR/{n} omega", article("only alpha", "omega alpha"))


def test_title_side_is_near_only_within_the_title() -> None:
    query = "title:(alpha OR beta) NEAR/2 omega"
    assert found(query, article("beta and omega"))
    assert not found(query, article("headline", "beta and omega"))
    assert not found(query, article("headline beta", "omega"))


def test_one_hit_never_serves_both_sides() -> None:
    query = "(Putin OR Kremlin) NEAR/3 (Putin OR talks)"
    assert not found(query, article("Putin spoke"))
    assert found(query, article("Putin spoke of Putin"))
    assert found(query, article("Kremlin backs Putin"))


def test_entity_terms_are_near_by_any_of_their_names() -> None:
    query = "(Zelensky OR actor:witkoff) NEAR/2 (talks OR plan)"
    assert found(query, article("Zelenskyy rejects plan"))
    assert found(query, article("Віткофф: talks"))
    assert not found(query, article("Zelenskyy rejects the plan"))


def test_only_the_hits_that_are_near_are_reported() -> None:
    art = article(
        "Crimea mentioned first",
        "Donbas withdrawal is demanded in talks. " + "Other news. " * 10 + "Crimea plan",
    )
    query = "(Donbas OR Crimea OR Kherson) NEAR/3 (talks OR withdraw* OR plan)"
    (match,) = found(query, art)
    where = sorted((h.term, h.field, h.text) for h in match.hits)
    assert where == [
        ("Crimea", "body", "Crimea"),
        ("Donbas", "body", "Donbas"),
        ("plan", "body", "plan"),
        ("withdraw*", "body", "withdraw"),
    ]
    assert "Kherson" not in match.matched and "talks" not in match.matched


def test_the_example_territory_rule() -> None:
    query = "(Donbas OR Zaporizhzhia OR Crimea) NEAR/10 (talks OR plan OR concession* OR withdraw*)"
    assert found(query, article("Kremlin wants Donbas as a concession"))
    assert found(query, article("Talks stall", "Putin insists Ukraine withdraw from Zaporizhzhia"))
    assert not found(query, article("Crimea bridge closed", "The peace talks resume in Geneva"))


def test_rules_explain_prints_positions_and_the_distance(tmp_path: Path) -> None:
    item = {"id": "a1", "title": "Kremlin wants Donbas as a concession", "summary": "Talks."}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(item))
    query = "(Donbas OR Crimea) NEAR/3 concession*"
    result = subprocess.run(
        [sys.executable, "-m", "peacewatch", "rules", "explain", "--rule", query,
         "--article", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"MATCHES: {query}\n")
    assert (
        "✓ NEAR/3: closest pair 3 words apart in the title (within 3): 'Donbas' title word 3"
        " and 'concession' title word 6"
    ) in result.stdout


def test_the_benchmarks_regex_reference_decides_near_groups_alike() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ holds scripts
    from bench import rules as bench

    queries = [
        "(Donbas OR Crimea) NEAR/3 (talks OR plan*)",
        'alpha NEAR/2 (omega OR "peace plan")',
        "title:(alpha OR beta) NEAR/1 omega",
    ]
    texts = [
        ("Crimea", "talks went on"),  # adjacent only across the title/body boundary
        ("Donbas plans", ""),
        ("x", "Crimea a b talks"),
        ("x", "Crimea a b c talks"),
        ("alpha x peace plan", ""),
        ("alpha x y peace plan", ""),
        ("beta omega", "alpha omega"),
        ("gamma", "beta omega"),
    ]
    articles = [replace(article(title, body), id=f"a{i}") for i, (title, body) in enumerate(texts)]
    result = bench.cross_check(bench.make_teams(queries, 1), articles)
    assert result.agree, (sorted(result.only_ours), sorted(result.only_regex))
    assert sorted((a, r) for a, _, r in result.ours) == [
        ("a1", "r0"),
        ("a2", "r0"),
        ("a4", "r1"),
        ("a6", "r1"),
        ("a6", "r2"),
    ]
