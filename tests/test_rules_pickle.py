"""A compiled rule set read back from a pickle (the disk cache) is the same matcher: the same
matches and hits, the same specs, and it is read as built rather than built again."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from peacewatch.models import Article, Severity
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec
from tests.helpers import REPO_ROOT

SPECS = [
    RuleSpec(id="envoy", query="Witkoff OR Уиткофф", channels=["slack:C0123ABCD"]),
    RuleSpec(id="talks", query="ceasefire NEAR/5 talks", min_sources=2, severity=Severity.HIGH),
    RuleSpec(id="nested", query="(Geneva AND (talks OR truce)) OR (Kyiv AND -opinion)"),
    RuleSpec(id="source", query="talks source:example.org", digest="daily"),
    RuleSpec(id="prefix", query="negotiat* -opinion"),
    RuleSpec(id="never", query="Donbas AND Crimea"),
]
ARTICLES = [
    Article(
        id=f"a{n}",
        title=title,
        link="",
        published=datetime(2026, 1, 6, tzinfo=UTC),
        source="example.org",
        outlet="Example",
        summary=body,
    )
    for n, (title, body) in enumerate(
        [
            ("Уиткоффа ждут в Москве", "Ceasefire talks resume in Geneva. Kyiv waits."),
            ("Negotiators meet", "Talks on a ceasefire went on; far later, a truce in Geneva."),
            ("Opinion: Kyiv", "An opinion on negotiations, not news."),
            ("Nothing here", "Weather."),
        ]
    )
]


def compiled() -> RuleEngine:
    return RuleEngine.compile([TeamRuleSet("t1", SPECS)])


def results(engine: RuleEngine) -> list[tuple[str, str, tuple[str, ...], tuple[object, ...]]]:
    return [(m.article_id, m.rule_id, m.matched, m.hits) for a in ARTICLES for m in engine.match(a)]


def test_a_read_back_engine_matches_as_the_compiled_one() -> None:
    cold = compiled()
    warm = pickle.loads(pickle.dumps(compiled()))
    found = results(warm)
    assert found == results(cold)
    assert {rule for _, rule, _, _ in found} == {"envoy", "talks", "nested", "source", "prefix"}


def test_specs_come_back_with_every_value_and_the_fields_given() -> None:
    warm = pickle.loads(pickle.dumps(compiled()))
    for spec in SPECS:
        again = warm.rule_spec("t1", spec.id)
        assert again == spec
        assert again is not None and again.model_fields_set == spec.model_fields_set
        assert again.destinations() == spec.destinations()
    assert warm.rule_spec("t1", "missing") is None
    assert warm.rule_spec("t2", "envoy") is None


def test_the_pickle_holds_the_built_matcher_and_no_spec_models() -> None:
    blob = pickle.dumps(compiled())
    # the indexes are stored as built (a load reads them, it does not build them again) ...
    assert b"RuleIndex" in blob and b"TermIndex" in blob and b"Layout" in blob
    # ... and the rules' specs as plain values, not as pydantic models
    assert b"RuleSpec" not in blob


def test_a_pickle_written_by_another_process_matches_as_a_fresh_compile(tmp_path: Path) -> None:
    """Another process (another string hash seed) writes the pickle, a third reads it back:
    nothing in it depends on the process that built it."""
    script = (
        "import pickle, sys\n"
        "from tests.test_rules_pickle import compiled, results\n"
        "path = sys.argv[2]\n"
        "if sys.argv[1] == 'write':\n"
        "    open(path, 'wb').write(pickle.dumps(compiled()))\n"
        "else:\n"
        "    print(repr(results(pickle.loads(open(path, 'rb').read()))))\n"
    )
    path = str(tmp_path / "engine.pickle")

    def run(mode: str, seed: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script, mode, path],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    run("write", "1")
    assert run("read", "2") == repr(results(compiled()))
