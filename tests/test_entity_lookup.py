"""EntityDictionary.lookup: names as written, the answers it remembers, and pickling."""

from __future__ import annotations

import pickle

import pytest

from peacewatch.rules import entities
from peacewatch.rules.entities import Entity, EntityDictionary


def _dictionary() -> EntityDictionary:
    return EntityDictionary(
        [
            Entity("witkoff", "actor", ("Steve Witkoff", "Віткофф", "Уиткофф")),
            Entity("geneva", "place", ("Geneva", "Женева")),
        ]
    )


def test_lookup_finds_a_name_however_it_is_written() -> None:
    d = _dictionary()
    for name in ("Steve Witkoff", "STEVE  witkoff", "steve\u00a0Witkoff", "Witkoff"):
        found = d.lookup(name)
        assert found is not None and found.id == "witkoff", name
    assert d.lookup("ВІТКОФФ") is d.lookup("віткофф") is d.get("witkoff")
    assert d.lookup("Женева") is d.get("geneva")
    assert d.lookup("Berlin") is None
    # asked again, the remembered answers are the same ones
    assert d.lookup("STEVE  witkoff") is d.get("witkoff")
    assert d.lookup("Berlin") is None


def test_lookup_answers_stay_right_when_the_memo_starts_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(entities, "_LOOKUP_MEMO", 3)
    d = _dictionary()
    names = ["Geneva", "Berlin", "Женева", "Kyiv", "Witkoff", "Paris", "GENEVA", "Уиткофф"]
    for _ in range(3):
        got = [None if (e := d.lookup(n)) is None else e.id for n in names]
        assert got == ["geneva", None, "geneva", None, "witkoff", None, "geneva", "witkoff"]


def test_a_pickled_dictionary_leaves_its_lookups_behind() -> None:
    d = _dictionary()
    fresh = pickle.dumps(d)
    for n in range(1_000):
        d.lookup(f"name {n}")
    assert pickle.dumps(d) == fresh
    copy = pickle.loads(fresh)
    found = copy.lookup("WITKOFF")
    assert found is not None and found.id == "witkoff"
    assert copy.lookup("name 5") is None
