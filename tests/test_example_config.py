"""The README's run config, peacewatch.example.yaml, loads and every one of its rules compiles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from peacewatch.config import load_config
from peacewatch.configcheck import check_config
from peacewatch.models import Article
from peacewatch.rules.engine import RuleEngine, TeamRuleSet

EXAMPLE = Path(__file__).resolve().parents[1] / "peacewatch.example.yaml"


def test_the_example_config_loads_and_all_its_rules_compile() -> None:
    config = load_config(EXAMPLE)
    assert config.feeds and {r.id for r in config.rules} >= {"envoys", "territory"}
    entities = [e.to_entity() for e in config.entities]
    engine = RuleEngine.compile([TeamRuleSet(config.team, config.rules, entities)])
    assert engine.errors == []
    assert engine.rule_count == len(config.rules)
    art = Article(
        id="a1", title="Kremlin demands Ukraine withdraw from Zaporizhzhia",
        link="https://example.org/a", published=datetime(2026, 1, 6, tzinfo=UTC),
        source="example.org", outlet="Example", summary="", lang="en",
    )  # fmt: skip
    assert [m.rule_id for m in engine.match(art)] == ["territory"]


def test_the_example_config_passes_config_check() -> None:
    assert [str(p) for p in check_config(EXAMPLE)] == []
