"""One word of a Cyrillic name as pymorphy3 reads it: the analyzers, the language a text is
written in, and the grammemes (case, number, gender) of a reading.

``morphphrase`` builds on this to give each word of a name its role, ``morphforms`` to inflect
the name; ``morph`` is the public entry point.
"""

from __future__ import annotations

import functools
from typing import Literal, Protocol, cast

Lang = Literal["uk", "ru"]

_UK_ONLY = frozenset("іїєґ")
_RU_ONLY = frozenset("ыэъё")
APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})

CASES: tuple[str, ...] = (
    "nomn",
    "gent",
    "gen2",
    "datv",
    "accs",
    "acc2",
    "ablt",
    "loct",
    "loc2",
    "voct",
)
PROPER = frozenset({"Surn", "Name", "Patr", "Geox", "Orgn", "Trad"})
ADJECTIVAL = frozenset({"ADJF", "PRTF"})
_INFLECTABLE_POS = ADJECTIVAL | {"NOUN"}


class Tag(Protocol):
    grammemes: frozenset[str]

    @property
    def POS(self) -> str | None: ...  # pymorphy3's attribute name


class Parse(Protocol):
    word: str
    normal_form: str
    tag: Tag
    is_known: bool

    @property
    def lexeme(self) -> list[Parse]: ...


class Analyzer(Protocol):
    def parse(self, word: str) -> list[Parse]: ...


@functools.cache
def analyzer(lang: Lang) -> Analyzer:
    import pymorphy3

    return cast(Analyzer, pymorphy3.MorphAnalyzer(lang=lang))


def detect_cyrillic_lang(text: str) -> Literal["uk", "ru", "cyr"] | None:
    """Say which Cyrillic language `text` is written in.

    None when `text` has no Cyrillic letter; "uk" when it has one of `іїєґ` and none of
    `ыэъё`; "ru" for the opposite; "cyr" when neither (or both) kinds of letter occur, so the
    text could be either language (`Путин`, `Херсон`). Callers treat "cyr" as both.
    """
    low = text.casefold()
    if not any(is_cyrillic(ch) for ch in low):
        return None
    uk = any(ch in _UK_ONLY for ch in low)
    ru = any(ch in _RU_ONLY for ch in low)
    if uk and not ru:
        return "uk"
    if ru and not uk:
        return "ru"
    return "cyr"


def is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def inflectable(token: str) -> bool:
    letters = token.replace("-", "").replace("'", "")
    # Mixed scripts (a Latin homoglyph inside a Cyrillic word) are not a dictionary word.
    if not letters.isalpha() or not all(is_cyrillic(ch) for ch in letters):
        return False
    # An abbreviation in capitals (`АЕС`, `ЗАЕС`, `ООН`) is indeclinable in running text.
    return not (len(letters) >= 2 and letters.isupper())


def number_of(tag: Tag) -> str:
    return "plur" if "plur" in tag.grammemes else "sing"


def gender_of(tag: Tag) -> str | None:
    for g in ("masc", "femn", "neut"):
        if g in tag.grammemes:
            return g
    return None


def case_of(tag: Tag) -> str | None:
    for c in CASES:
        if c in tag.grammemes:
            return c
    # The Ukrainian dictionary leaves the case off some headwords (`зона`: "NOUN,inan femn").
    return "nomn" if tag.POS in _INFLECTABLE_POS else None


def nominative_readings(token: str, lang: Lang, *, known_only: bool = False) -> list[Parse]:
    if not inflectable(token):
        return []
    return nominative_parses(token, lang, known_only=known_only)


def nominative_parses(token: str, lang: Lang, *, known_only: bool = False) -> list[Parse]:
    readings = [
        p
        for p in analyzer(lang).parse(token)
        if p.tag.POS in _INFLECTABLE_POS and case_of(p.tag) == "nomn"
    ]
    known = [p for p in readings if p.is_known]
    return known if (known or known_only) else readings
