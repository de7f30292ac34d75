"""Rules YAML: parsed once (by libyaml where PyYAML has it), errors at the place of their cause."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from peacewatch.rules.compile import check_text
from peacewatch.rules.rulefile import parse_rules
from peacewatch.rules.yamlload import LOADER, compose_load

ROOT = Path(__file__).resolve().parents[1]
UNCLOSED = (
    "rules:\n  - id: envoys\n    query: 'Witkoff OR Dmitriev\n  - id: other\n    query: Lavrov\n"
)
QUERIES = (
    "entities:\n"
    "  - id: envoy\n"
    "    kind: actor\n"
    "    names: [Witkoff, Уиткофф]\n"
    "rules:\n"
    "  - id: a\n"
    "    query: 'Putin''s AND (Donbas'\n"
    "  - id: b\n"
    '    query: "\\"Путин\\" AND (Donbas"\n'
    "  - id: c\n"
    "    query: >-\n"
    "      Witkoff AND (Donbas\n"
    "  - id: d\n"
    "    query: actor:envoy NEAR5 Kyiv\n"
)


def test_rules_check_points_at_the_quote_that_is_never_closed(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(UNCLOSED, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "peacewatch", "rules", "check", str(rules)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    # where the quote opens (line 3, column 12), not line 6 where the parser ran out of text
    assert done.stdout.startswith(f"{rules}:3:12: invalid YAML: a quote opened here is never")


def test_parse_rules_places_an_unclosed_quote_where_it_opens() -> None:
    _, errors = parse_rules(UNCLOSED, "r.yaml")
    assert [(e.line, e.column) for e in errors] == [(3, 12)]
    assert "never closed" in errors[0].message


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_the_c_loader_is_used_where_pyyaml_has_it() -> None:
    assert LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("loader", [yaml.SafeLoader, LOADER])
def test_one_parse_gives_the_data_and_the_nodes_of_either_loader(
    loader: type[yaml.SafeLoader],
) -> None:
    root, data = compose_load(QUERIES, loader)
    assert data == yaml.safe_load(QUERIES)
    pure = yaml.compose(QUERIES, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)
    assert _marks(root) == _marks(pure)


def test_query_errors_and_warnings_are_placed_in_the_file_text() -> None:
    warnings: list = []  # type: ignore[type-arg]
    _, errors = check_text(QUERIES, "r.yaml", warnings)
    lines = QUERIES.splitlines()
    places = sorted((e.line, e.column) for e in [*errors, *warnings])
    assert [line for line, _ in places] == [7, 9, 12, 14]
    for line, column in places[:3]:  # just after 'Donbas', where the ')' is missing
        assert lines[line - 1][column - 2] == "s", (line, column)
    line, column = places[3]
    assert lines[line - 1][column - 1 :].startswith("NEAR5")


def _marks(node: yaml.Node) -> list[tuple[int, int, int]]:
    out = [(node.start_mark.line, node.start_mark.column, node.start_mark.index)]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out += _marks(key) + _marks(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out += _marks(item)
    return out
