"""The language identifier's transition table is read from a file beside the disk cache, mapped
rather than copied: the same answers as the table in memory, and a file that does not match
the model is written again, never used. A text seen before is not classified again."""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import py3langid.langid as langid
import pytest

from peacewatch.rules import diskcache
from peacewatch.watchers import language

TEXTS = (
    "Witkoff and Kushner met Putin in Moscow to discuss the peace plan for Ukraine",
    "Віткофф зустрівся з Путіним у Москві щодо мирного плану для України",
    "Переговоры в Женеве: делегации обсудили гарантии безопасности и прекращение огня",
    "Selenskyj trifft die Koalition der Willigen in Paris zu Sicherheitsgarantien",
    "Rozmowy pokojowe w Genewie: delegacje omówiły gwarancje bezpieczeństwa",
)


def parts() -> tuple[language.Model, str]:
    language._identifier.cache_clear()  # one loaded under another cache folder wrote there
    language._identifier()  # writes the cache entry and the table
    key = language.cache_key()
    stored = diskcache.read("langid", key)
    assert isinstance(stored, language.Model)
    return stored, key


def table_file(key: str) -> Path:
    base = diskcache.cache_dir()
    assert base is not None
    return base / f"langid-{key}.table"


def test_the_mapped_table_gives_the_answers_of_the_table_in_memory() -> None:
    model, key = parts()
    mapped = language._mapped_table(model, key)
    assert isinstance(mapped, memoryview)
    in_memory = language._build(langid, model)
    from_file = language._build(langid, model, mapped)
    assert [from_file.classify(t) for t in TEXTS] == [in_memory.classify(t) for t in TEXTS]
    assert isinstance(language._identifier().tk_nextmove, memoryview)
    assert os.stat(table_file(key)).st_mode & 0o077 == 0


def test_the_compact_table_gives_py3langids_answers_in_two_bytes_a_transition() -> None:
    model, _ = parts()
    own = langid.LanguageIdentifier.from_modelpath(
        Path(langid.MODEL_DIR) / langid.MODEL_FILE, norm_probs=True
    )
    own.set_languages(list(language.LANGUAGES))
    compact = language._build(langid, model)
    noise = random.Random(7)
    texts = [
        *TEXTS,
        "",
        "ok",
        "Zürich, Kraków, İstanbul, Tbilisi (თბილისი), Μόσχα, 日本語 — “quotes” ✓",
        *(bytes(noise.randrange(256) for _ in range(400)).decode("latin-1") for _ in range(50)),
    ]
    assert [compact.classify(t) for t in texts] == [own.classify(t) for t in texts]
    assert [compact.rank(t) for t in TEXTS] == [own.rank(t) for t in TEXTS]
    # a transition takes two bytes (py3langid's four), and a byte class a column (not 256)
    assert model.nextmove_type == "H"
    assert len(model.nextmove) < len(own.tk_nextmove) * 2 * 200 // 256


def test_a_table_file_that_does_not_match_the_model_is_written_again() -> None:
    model, key = parts()
    path = table_file(key)
    damaged = bytearray(path.read_bytes())
    damaged[1000:1004] = b"\xff\xff\xff\xff"  # a transition to a state that does not exist
    path.write_bytes(bytes(damaged))
    mapped: Any = language._mapped_table(model, key)
    assert mapped is not None and mapped.tobytes() == model.nextmove
    assert path.read_bytes() == model.nextmove


def test_without_a_cache_the_table_stays_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    model, key = parts()
    monkeypatch.setenv("PEACEWATCH_CACHE_DIR", "off")
    assert language._mapped_table(model, key) is None


def test_a_text_seen_before_is_answered_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "_seen", {})
    monkeypatch.setattr(language, "SEEN_TEXTS", 3)
    first = [language.detect(t) for t in TEXTS[:3]]
    assert len(language._seen) == 3
    # the identifier is not asked again: an answer planted for the first text comes back
    key = next(iter(language._seen))
    language._seen[key] = "fi"
    assert language.detect(TEXTS[0]) == "fi"
    assert [language.detect(t, "xx") for t in TEXTS[1:3]] == [a or "xx" for a in first[1:]]
    language.detect(TEXTS[3])  # one more than it keeps: the oldest is forgotten
    assert len(language._seen) == 3 and key not in language._seen
    assert language.detect(TEXTS[0]) == first[0]


@pytest.fixture
def fresh_identifier() -> Iterator[None]:
    """The identifier built anew in the test, and again after it (for the tests after)."""
    language._identifier.cache_clear()
    yield
    language._identifier.cache_clear()


def shipped() -> Any:
    own = langid.LanguageIdentifier.from_modelpath(
        Path(langid.MODEL_DIR) / langid.MODEL_FILE, norm_probs=True
    )
    own.set_languages(list(language.LANGUAGES))
    return own


def test_a_first_start_builds_the_parts_in_a_child_process(
    cache: Path, fresh_identifier: None
) -> None:
    assert diskcache.read("langid", language.cache_key()) is None
    assert language._build_apart()
    stored = diskcache.read("langid", language.cache_key())
    assert isinstance(stored, language.Model)
    assert pickle.dumps(stored) == pickle.dumps(language._compact(shipped()))
    assert [language._identifier().classify(t) for t in TEXTS] == [
        shipped().classify(t) for t in TEXTS
    ]


def test_when_the_child_process_fails_the_parts_are_built_here(
    cache: Path,
    fresh_identifier: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PYTHONHOME", str(cache / "no-python-here"))  # the child cannot start
    assert [language._identifier().classify(t) for t in TEXTS] == [
        shipped().classify(t) for t in TEXTS
    ]
    assert "building them here" in caplog.text
    assert isinstance(diskcache.read("langid", language.cache_key()), language.Model)
