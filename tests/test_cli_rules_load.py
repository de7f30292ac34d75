"""How `peacewatch match` and `rules check` load a rules file: without a cyclic collection,
every object then alive frozen out of the collector."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peacewatch.cli.rules import load_frozen

RULES = "rules:\n" + "".join(
    f"  - id: r{i}\n    query: 'ceasefire{i} AND (Zelensky OR \"security guarantees\")'\n"
    for i in range(300)
)


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every cyclic collection that starts while the test runs."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        gc.unfreeze()


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_rules_load_without_a_collection_and_stay_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collections: list[int], cache: str
) -> None:
    monkeypatch.setenv("PEACEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    if cache == "warm":
        load_frozen(rules)
        gc.unfreeze()
    gc.collect()
    collections.clear()
    engine, errors = load_frozen(rules)
    assert collections == []
    assert gc.isenabled()
    assert errors == []
    assert engine.rule_count == 300
    # the engine's objects are in the permanent generation: no collection walks them again
    assert gc.get_freeze_count() > 0
    assert not any(o is engine for o in gc.get_objects())


def test_rules_read_from_the_cache_need_no_yaml_parser(tmp_path: Path) -> None:
    """A warm start reads the compiled rules and parses no YAML: PyYAML is never imported, nor
    the rules file's schema (its pydantic models)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    env = {**os.environ, "PEACEWATCH_CACHE_DIR": str(tmp_path / "cache")}
    script = (
        "import sys; from pathlib import Path; from peacewatch.cli.rules import load_frozen; "
        f"engine, _ = load_frozen(Path({str(rules)!r})); "
        "loaded = ['yaml' in sys.modules, 'peacewatch.rules.rulefile' in sys.modules]; "
        "print(engine.rule_count, *loaded, engine.rule_spec('file', 'r7').query)"
    )
    run = [sys.executable, "-c", script]
    cold = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120, check=True)
    warm = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120, check=True)
    spec = ["ceasefire7", "AND", "(Zelensky", "OR", '"security', 'guarantees")']
    assert cold.stdout.split() == ["300", "True", "True", *spec]
    assert warm.stdout.split() == ["300", "False", "False", *spec]
