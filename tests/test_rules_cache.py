"""Compiled rule sets and inflected names kept on disk: a warm start reads them, a change to
the rules is never answered from an old entry, and a damaged file is ignored and written again."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from peacewatch.models import Article
from peacewatch.rules import diskcache, formstore
from peacewatch.rules.compile import load_engine
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.morph import _inflected
from peacewatch.rules.rulefile import Located, RuleSpec

RULES = """\
rules:
  - id: envoy
    query: Witkoff OR Уиткофф
  - id: talks
    query: ceasefire NEAR/5 talks
  - id: odd
    query: Witkoff near/5 Kyiv
"""
ARTICLE = Article(
    id="a1",
    title="Уиткоффа ждут в Москве",
    link="",
    published=datetime(2026, 1, 6, tzinfo=UTC),
    source="example.org",
    outlet="Example",
    summary="Ceasefire talks resume in Geneva. Kyiv waits.",
)


def matched(engine: RuleEngine) -> list[str]:
    return sorted(m.rule_id for m in engine.match(ARTICLE))


def key_of(entry: Path) -> str:
    return entry.stem.split("-", 1)[1]


def entries(cache: Path, kind: str) -> list[Path]:
    return sorted(cache.glob(f"{kind}-*.pickle"))


def test_a_warm_load_reads_the_compiled_rules(tmp_path: Path, cache: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    warned: list[Located] = []
    engine, errors = load_engine(rules, warnings=warned)
    assert matched(engine) == ["envoy", "talks"] and not errors
    [entry] = entries(cache, "rules")
    # the entry is what a second load returns: put another rule set in its place to see it read
    other = RuleEngine.compile([TeamRuleSet("file", [RuleSpec(id="kyiv", query="Kyiv")])])
    assert diskcache.write("rules", key_of(entry), (other, (), ()))
    again: list[Located] = []
    engine2, _ = load_engine(rules, warnings=again)
    assert matched(engine2) == ["kyiv"]


def test_warnings_and_matches_survive_the_cache(tmp_path: Path, cache: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    first: list[Located] = []
    cold, _ = load_engine(rules, warnings=first)
    second: list[Located] = []
    warm, _ = load_engine(rules, warnings=second)
    assert first and first == second  # "near/5" is a look-alike of NEAR/5
    assert matched(warm) == matched(cold) == ["envoy", "talks"]
    assert warm.rule_spec("file", "envoy") == cold.rule_spec("file", "envoy")


def test_a_changed_rules_file_is_compiled_again(tmp_path: Path, cache: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    load_engine(rules)
    rules.write_text(RULES.replace("ceasefire NEAR/5 talks", "Geneva"), encoding="utf-8")
    engine, _ = load_engine(rules)
    assert matched(engine) == ["envoy", "talks"]
    assert engine.rule_spec("file", "talks") == RuleSpec(id="talks", query="Geneva")
    assert len(entries(cache, "rules")) == 2
    # another code version is another key: nothing cached under the old one is read
    assert diskcache.digest("x") != diskcache.digest("y")


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path: Path, cache: Path, damage: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    load_engine(rules)
    [entry] = entries(cache, "rules")
    blob = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        entry.write_bytes(blob[:-10] + bytes(b ^ 0xFF for b in blob[-10:]))
    else:
        entry.write_bytes(b"not a cache file at all")
    engine, errors = load_engine(rules)
    assert matched(engine) == ["envoy", "talks"] and not errors
    # written again: the next load reads it
    assert isinstance(diskcache.read("rules", key_of(entry)), tuple)


def test_an_unpicklable_payload_with_a_good_digest_is_a_miss(cache: Path) -> None:
    assert diskcache.write("rules", "k", 1)
    path = cache / "rules-k.pickle"
    payload = pickle.dumps(1)[:-3]  # a pickle cut short, under its own (valid) digest
    path.write_bytes(b"PWCACHE1" + hashlib.sha256(payload).digest() + payload)
    assert diskcache.read("rules", "k") is None


def test_an_entry_others_could_write_is_never_read(cache: Path) -> None:
    assert diskcache.write("rules", "k", {"compiled": 1})
    assert diskcache.read("rules", "k") == {"compiled": 1}
    path = cache / "rules-k.pickle"
    path.chmod(0o666)  # anyone could have replaced it: its digest proves nothing
    assert diskcache.read("rules", "k") is None
    path.chmod(0o600)
    cache.chmod(0o777)  # a folder others may write to: neither read nor written
    assert diskcache.read("rules", "k") is None
    assert not diskcache.write("rules", "other", 2)
    cache.chmod(0o700)
    assert diskcache.read("rules", "k") == {"compiled": 1}


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEACEWATCH_CACHE_DIR", "off")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    engine, _ = load_engine(rules)
    assert matched(engine) == ["envoy", "talks"]
    assert not diskcache.write("rules", "k", 1) and diskcache.read("rules", "k") is None


def test_inflected_names_are_kept_for_the_next_run(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(formstore, "_table", None)  # as a new process: nothing read yet
    monkeypatch.setattr(formstore, "_new", {})
    name = "Кирило Буданов"
    computed = formstore.forms(name, _inflected)
    assert "кирила буданова" in computed
    formstore.save()
    [entry] = entries(cache, "forms")
    table = diskcache.read("forms", key_of(entry))
    assert table[name] == computed
    # a later run reads the table instead of computing
    formstore._table = None
    assert formstore.forms(name, lambda _: frozenset({"from the table? no"})) == computed


def test_the_language_model_is_read_from_the_cache(cache: Path) -> None:
    from peacewatch.watchers import language

    text = "Zelensky and Putin envoys meet for ceasefire talks in Istanbul on Monday"
    language._identifier.cache_clear()
    try:
        assert language.detect(text) == "en"
        [entry] = entries(cache, "langid")
        # the entry is what the next process loads: one that knows only German says so
        stored = diskcache.read("langid", key_of(entry))
        german = dataclasses.replace(stored, classes=("de",) * len(stored.classes))
        assert diskcache.write("langid", key_of(entry), german)
        language._identifier.cache_clear()
        language._seen.clear()  # texts seen before are not classified again
        assert language.detect(text) == "de"
    finally:
        language._identifier.cache_clear()
        language._seen.clear()
