"""The roles of the words of a Cyrillic name: leading adjectives, the head noun, the parts of
a personal name that agree with it, and dependents that stay as they are (see ``morph``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from peacewatch.rules.morphword import (
    ADJECTIVAL,
    PROPER,
    Lang,
    Parse,
    gender_of,
    nominative_parses,
    nominative_readings,
    number_of,
)

_PERSONAL = frozenset({"Surn", "Name", "Patr"})


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a name with the readings chosen for it (none: the word stays as it is)."""

    text: str
    readings: tuple[Parse, ...]
    role: Literal["fixed", "adj", "noun"]


def _choose(token: str, lang: Lang, role: Literal["adj", "noun"]) -> tuple[Parse, ...]:
    readings = nominative_readings(token, lang)
    wanted = ADJECTIVAL if role == "adj" else {"NOUN"}
    same_pos = [p for p in readings if p.tag.POS in wanted] or readings
    if not token[:1].isupper():
        return tuple(same_pos)
    if all(p.is_known for p in same_pos):
        # A dictionary word written with a capital is a name.
        proper = [p for p in same_pos if PROPER & p.tag.grammemes]
        return tuple(proper or same_pos)
    # An unknown capitalised word is most likely a surname; the predictor often ranks other
    # paradigms first (`Сирський` as a first name) or offers only an indeclinable surname
    # (`Уиткофф`), in which case every predicted noun reading is kept.
    surname = [p for p in same_pos if "Surn" in p.tag.grammemes and "Fixd" not in p.tag.grammemes]
    return tuple(surname or same_pos)


def _restrict(readings: tuple[Parse, ...], person: bool, hint: str | None) -> tuple[Parse, ...]:
    """Keep a person's animate readings, and feminine ones only for a feminine name."""
    # Predicted readings of an unknown surname are often inanimate but decline like the name.
    known = all(p.is_known for p in readings)
    if person and known and any("anim" in p.tag.grammemes for p in readings):
        readings = tuple(p for p in readings if "anim" in p.tag.grammemes)
    genders = {gender_of(p.tag) for p in readings}
    if hint is not None and hint in genders:
        return tuple(p for p in readings if gender_of(p.tag) in {hint, None})
    if "masc" in genders and "femn" in genders:
        return tuple(p for p in readings if gender_of(p.tag) != "femn")
    return readings


def analyse(tokens: Sequence[str], lang: Lang) -> tuple[Word, ...]:
    """Give each word a role: leading adjectives, the head, its name parts, fixed dependents."""
    words: list[Word] = []
    i = 0
    n = len(tokens)
    while i < n - 1 and _is_modifier(tokens[i], tokens[i + 1], lang):
        words.append(Word(tokens[i], _choose(tokens[i], lang, "adj"), "adj"))
        i += 1
    head_readings = nominative_readings(tokens[i], lang)
    if not head_readings:
        words.append(Word(tokens[i], (), "fixed"))
    else:
        has_noun = any(p.tag.POS == "NOUN" for p in head_readings)
        role: Literal["adj", "noun"] = "noun" if has_noun else "adj"
        words.append(Word(tokens[i], _choose(tokens[i], lang, role), role))
    head = words[-1]
    j = i + 1
    person = False
    while j < n:
        if _is_name_part(head, tokens[j], lang):
            words.append(Word(tokens[j], _choose(tokens[j], lang, "noun"), "noun"))
            person = True
        elif (
            j + 1 < n and _is_initial(tokens[j], lang) and _is_name_part(head, tokens[j + 1], lang)
        ):
            # `Джей Ді Венс`: an indeclinable middle part does not end the name.
            words.append(Word(tokens[j], (), "fixed"))
        else:
            break
        j += 1
    words.extend(Word(t, (), "fixed") for t in tokens[j:])
    hint = _person_gender(words[i]) if person else None
    return tuple(
        Word(w.text, _restrict(w.readings, person, hint), w.role) if w.readings else w
        for w in words
    )


def _agreement(readings: Iterable[Parse]) -> set[tuple[str, str | None]]:
    return {(number_of(p.tag), gender_of(p.tag)) for p in readings}


def _is_modifier(token: str, following: str, lang: Lang) -> bool:
    """True when `token` is an adjective that agrees with the word after it."""
    readings = [p for p in nominative_readings(token, lang) if p.tag.POS in ADJECTIVAL]
    if not readings:
        return False
    follow = nominative_parses(following, lang)
    # `Зеленський Володимир`: a surname with an adjective reading before a first name is a noun.
    surname = token[:1].isupper() and any(
        _PERSONAL & p.tag.grammemes for p in nominative_readings(token, lang)
    )
    if (
        surname
        and following[:1].isupper()
        and any(p.tag.POS == "NOUN" and "anim" in p.tag.grammemes for p in follow)
    ):
        return False
    if not follow:
        return True
    for number, gender in _agreement(readings):
        for f_number, f_gender in _agreement(follow):
            if number == f_number and (
                number == "plur" or gender is None or f_gender is None or gender == f_gender
            ):
                return True
    return False


def _is_name_part(head: Word, token: str, lang: Lang) -> bool:
    if head.role != "noun" or not head.text[:1].isupper() or not token[:1].isupper():
        return False
    readings = [p for p in nominative_readings(token, lang) if p.tag.POS == "NOUN"]
    head_numbers = {number_of(p.tag) for p in head.readings}
    # `Рада Безпеки`: `Безпеки` reads as a nominative only in the plural, so it is a dependent.
    return any(number_of(p.tag) in head_numbers for p in readings)


def _is_initial(token: str, lang: Lang) -> bool:
    """A capitalised part of a name that does not decline: an initial or a short particle."""
    if not token[:1].isupper():
        return False
    return token.endswith(".") or not nominative_readings(token, lang)


def _person_gender(first: Word) -> str | None:
    """The gender of a personal name, when its first word has one unambiguously."""
    animate = [p for p in first.readings if "anim" in p.tag.grammemes] or list(first.readings)
    genders = {gender_of(p.tag) for p in animate} - {None}
    return genders.pop() if len(genders) == 1 else None
