"""A rules file to a compiled engine, with every error located at file:line:col."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from peacewatch.rules.engine import RuleEngine, TeamRuleSet, validate_query
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.rules.query import QueryWarning, query_warnings
from peacewatch.rules.rulefile import Located, RulesFile, RuleSpec, load_rules

FILE_TEAM = "file"


def _checker(rule: RuleSpec, rules_file: RulesFile) -> Sequence[QueryWarning]:
    dictionary = builtin_dictionary().extended(rules_file.team_entities())
    validate_query(rule.query, dictionary)
    return query_warnings(rule.query)


def load_engine(
    path: Path, team_id: str = FILE_TEAM, warnings: list[Located] | None = None
) -> tuple[RuleEngine, list[Located]]:
    """Compile the valid rules of ``path``; return the engine and the errors of the others.
    Warnings (look-alikes of operators in rules that load) are added to ``warnings``."""
    rules_file, errors = load_rules(path, _checker, warnings)
    engine = RuleEngine.compile(
        [TeamRuleSet(team_id, rules_file.rules, rules_file.team_entities())]
    )
    for error in engine.errors:  # anything the checker could not see
        errors.append(Located(str(path), 1, 1, f"rule {error.rule_id!r}: {error.message}"))
    return engine, errors


def check_text(
    text: str, name: str = "<rules>", warnings: list[Located] | None = None
) -> tuple[RulesFile, list[Located]]:
    """Validate rules YAML held in memory (chat imports) the same way as a file."""
    from peacewatch.rules.rulefile import parse_rules

    return parse_rules(text, name, _checker, warnings)
