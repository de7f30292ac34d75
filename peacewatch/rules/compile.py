"""A rules file to a compiled engine, with every error located at file:line:col."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from peacewatch.rules import diskcache
from peacewatch.rules.engine import RuleEngine, TeamRuleSet, validate_query
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.rules.query import QueryWarning, query_warnings
from peacewatch.rules.rulemeta import Located

if TYPE_CHECKING:
    from peacewatch.rules.rulefile import RulesFile, RuleSpec

FILE_TEAM = "file"
_CACHE_KIND = "rules"
_CACHE_KEEP = 16
"""Compiled rules files kept (one of 10,000 rules takes 5 to 6 MiB: its indexes are stored as
built)."""
TEAMS_CACHE_KIND = "teams"
_TEAMS_KEEP = 4
"""Compiled rule sets of every team kept: the current one and a few before it (each change
to any team's rules is a new entry)."""


def _checker(rule: RuleSpec, rules_file: RulesFile) -> Sequence[QueryWarning]:
    dictionary = builtin_dictionary().extended(rules_file.team_entities())
    validate_query(rule.query, dictionary)
    return query_warnings(rule.query)


def load_engine(
    path: Path, team_id: str = FILE_TEAM, warnings: list[Located] | None = None
) -> tuple[RuleEngine, list[Located]]:
    """Compile the valid rules of ``path``; return the engine and the errors of the others.
    Warnings (look-alikes of operators in rules that load) are added to ``warnings``.

    The result is kept in the disk cache (``diskcache``) under a hash of the file's path and
    text, the team id and the code: loading the same file again costs a read, not a compile."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    key = None if text is None else diskcache.digest(str(path), team_id, text)
    found = None if key is None else diskcache.read(_CACHE_KIND, key)
    if _is_entry(found):
        if warnings is not None:
            warnings.extend(found[2])
        return found[0], list(found[1])
    # the schema and the YAML loader are imported only to compile: a cached rule set needs
    # neither
    from peacewatch.rules.rulefile import load_rules, parse_rules

    found_warnings: list[Located] = []
    if text is None:
        rules_file, errors = load_rules(path, _checker, found_warnings)
    else:
        rules_file, errors = parse_rules(text, str(path), _checker, found_warnings)
    engine = RuleEngine.compile(
        [TeamRuleSet(team_id, rules_file.rules, rules_file.team_entities())]
    )
    for error in engine.errors:  # anything the checker could not see
        errors.append(Located(str(path), 1, 1, f"rule {error.rule_id!r}: {error.message}"))
    if key is not None:
        entry = (engine, tuple(errors), tuple(found_warnings))
        diskcache.write(_CACHE_KIND, key, entry, keep=_CACHE_KEEP)
    if warnings is not None:
        warnings.extend(found_warnings)
    return engine, errors


def _is_entry(
    found: object,
) -> TypeGuard[tuple[RuleEngine, tuple[Located, ...], tuple[Located, ...]]]:
    return (
        isinstance(found, tuple)
        and len(found) == 3
        and isinstance(found[0], RuleEngine)
        and all(isinstance(e, Located) for e in (*found[1], *found[2]))
    )


def check_text(
    text: str, name: str = "<rules>", warnings: list[Located] | None = None
) -> tuple[RulesFile, list[Located]]:
    """Validate rules YAML held in memory (chat imports) the same way as a file."""
    from peacewatch.rules.rulefile import parse_rules

    return parse_rules(text, name, _checker, warnings)


def compile_teams(teams: Sequence[TeamRuleSet]) -> RuleEngine:
    """``RuleEngine.compile`` of every team's rules, kept in the disk cache (``diskcache``)
    under a hash of every team's rules and entities and of the code: compiling the same rules
    again (a restart) costs a read, not a compile."""
    key = diskcache.digest(teams_text(teams))
    found = diskcache.read(TEAMS_CACHE_KIND, key)
    if isinstance(found, RuleEngine):
        return found
    engine = RuleEngine.compile(teams)
    diskcache.write(TEAMS_CACHE_KIND, key, engine, keep=_TEAMS_KEEP)
    return engine


def teams_text(teams: Sequence[TeamRuleSet]) -> str:
    """Everything of the teams' rule sets that a compiled engine holds, as one text."""
    return json.dumps(
        [
            [
                team.team_id,
                [spec.model_dump(mode="json") for spec in team.rules],
                [[e.id, e.kind, list(e.names), e.description] for e in team.entities],
            ]
            for team in teams
        ],
        ensure_ascii=False,
        sort_keys=True,
    )
