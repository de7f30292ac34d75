"""Inflected surface forms of Cyrillic entity names: recall, near misses, agreement, caching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from peacewatch.rules.morph import EVERYDAY_WORDS, detect_cyrillic_lang, surface_forms

CASES_FILE = Path(__file__).resolve().parents[1] / "bench" / "data" / "morph_cases.yaml"
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})


def _load() -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


CASES = _load()


def _matches(name: str, text: str) -> bool:
    return " ".join(text.translate(_APOSTROPHES).casefold().split()) in surface_forms(name)


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['name']}->{case['text']}"


@pytest.mark.parametrize("case", CASES["positive"], ids=_case_id)
def test_inflected_form_matches_its_name(case: dict[str, Any]) -> None:
    if case.get("known_miss"):
        pytest.skip(case["reason"])
    assert _matches(case["name"], case["text"])


@pytest.mark.parametrize("case", CASES["near_miss"], ids=_case_id)
def test_near_miss_does_not_match(case: dict[str, Any]) -> None:
    assert not _matches(case["name"], case["text"])


def test_case_file_is_large_enough_and_known_misses_are_few() -> None:
    positive, near = CASES["positive"], CASES["near_miss"]
    assert len(positive) >= 60
    assert len(near) >= 40
    misses = [c for c in positive if c.get("known_miss")]
    assert all(c.get("reason") for c in misses)
    assert len(misses) <= len(positive) // 10


def test_inflection_is_what_makes_the_positives_match() -> None:
    # Without inflection only the name itself would match: most positives are other forms.
    literal = [c for c in CASES["positive"] if c["text"].casefold() == c["name"].casefold()]
    assert len(literal) <= 3


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Putin", None),
        ("", None),
        ("Віткофф", "uk"),
        ("Донбасі", "uk"),
        ("Ґданськ", "uk"),
        ("Крым", "ru"),
        ("Семёнов", "ru"),
        ("Путин", "cyr"),
        ("Херсон", "cyr"),
        ("Київ і Вэнс", "cyr"),
    ],
)
def test_detect_cyrillic_lang(text: str, lang: str | None) -> None:
    assert detect_cyrillic_lang(text) == lang


@pytest.mark.parametrize("name", ["Witkoff", "Zelenskyy", "Steve Witkoff", "NATO", "Šefčovič"])
def test_latin_names_return_only_themselves_casefolded(name: str) -> None:
    assert surface_forms(name) == frozenset({name.casefold()})


def test_single_word_keeps_masculine_paradigms_and_drops_feminine() -> None:
    putin_uk = surface_forms("Путін")
    assert {"путіним", "путіном"} <= putin_uk  # both masculine paradigms of the dictionary
    assert "зеленська" not in surface_forms("Зеленський")
    assert "зеленская" not in surface_forms("Зеленский")
    assert "путиной" not in surface_forms("Путин")


def test_feminine_name_inflects_as_feminine() -> None:
    forms = surface_forms("Мария Захарова")
    assert {"марии захаровой", "марию захарову"} <= forms
    assert "марии захарова" not in forms


def test_multi_word_names_agree_in_case() -> None:
    person = surface_forms("Володимир Зеленський")
    assert {"володимира зеленського", "володимиром зеленським"} <= person
    assert "володимиром зеленського" not in person
    assert "володимира зеленський" not in person

    plant = surface_forms("Запорізька АЕС")
    assert {"запорізької аес", "запорізькій аес", "запорізькою аес"} <= plant
    # The abbreviation stays as it is in every form.
    assert all(form.endswith(" аес") for form in plant)

    house = surface_forms("Белый дом")
    assert {"белого дома", "белом доме"} <= house
    assert "белом дома" not in house


def test_dependent_words_keep_their_case() -> None:
    guarantees = surface_forms("гарантії безпеки")
    assert "гарантіями безпеки" in guarantees
    assert all(form.endswith(" безпеки") for form in guarantees)
    council = surface_forms("Рада безпеки ООН")
    assert "радою безпеки оон" in council
    assert all(form.endswith(" безпеки оон") for form in council)


def test_plural_name_stays_plural() -> None:
    elections = surface_forms("вибори")
    assert "виборах" in elections
    assert "вибір" not in elections  # "choice", not "elections"


@pytest.mark.parametrize("name", ["перемир'я", "перемир’я", "перемирʼя"])
def test_apostrophes_are_normalised_to_ascii(name: str) -> None:
    forms = surface_forms(name)
    assert forms == surface_forms("перемир'я")
    assert "перемир'ям" in forms
    assert not any(ch in form for form in forms for ch in "’ʼ‘")


def test_yo_names_have_forms_with_and_without_yo() -> None:
    forms = surface_forms("Семёнов")
    assert {"семёнов", "семенов", "семёнова", "семенова"} <= forms
    assert "петра толстого" in surface_forms("Пётр Толстой")


def test_precision_guards() -> None:
    # Short forms are dropped unless they are the name itself.
    for name in ("Путін", "Крим", "Суми", "Мерц", "вибори", "Єрмак", "Херсон"):
        for form in surface_forms(name):
            assert len(form) >= 4 or form == name.casefold()
    # Everyday words a paradigm reaches are never produced.
    assert not EVERYDAY_WORDS & surface_forms("Мерц")
    assert not EVERYDAY_WORDS & surface_forms("Грушко")
    assert "мерца" in surface_forms("Мерц")
    # A plural surname form that is also a common adjective form is dropped.
    assert "лавровых" not in surface_forms("Лавров")
    assert "лавровым" in surface_forms("Лавров")


def test_words_that_cannot_be_inflected_stay_as_they_are() -> None:
    assert surface_forms("ООН") == frozenset({"оон"})
    assert surface_forms("Зеleнський") == frozenset({"зеleнський"})  # mixed scripts
    assert surface_forms("Рубіо") == frozenset({"рубіо"})  # indeclinable


def test_results_are_cached() -> None:
    first = surface_forms("Дмитриев")
    assert surface_forms("Дмитриев") is first
    assert isinstance(first, frozenset)
