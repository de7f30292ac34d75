"""Inflected surface forms of Ukrainian and Russian entity names for the literal matcher.

The matcher finds literal, case-folded strings, so a Cyrillic name must be expanded into every
form it takes in running text (`Путин` → `путина`, `путину`, `путиным`, ...). This module does
that at compile time with pymorphy3 and its Ukrainian and Russian dictionaries.

How a name is expanded
----------------------
- The name is split on whitespace. A word stays as it is when it has no Cyrillic letter, is an
  abbreviation in capitals (`АЕС`, `ЗАЕС`, `ООН`), or has no noun or adjective reading in the
  nominative (the case a name is written in).
- Leading adjectives agree with the head noun that follows them (`Запорізька АЕС`,
  `Білий дім`). Capitalised nouns right after a capitalised head form one personal name and
  agree with it (`Володимир Олександрович Зеленський`). Every word after that is a dependent in
  its own case and stays as it is (`гарантії безпеки` → `гарантіями безпеки`).
- For each case, every inflectable word takes that case and the number the head is written
  in; the words are joined again. A name in the plural stays plural (`вибори` must not become
  `вибір`, "choice"); a one-word name in the singular also gets its plural (`Зеленських`).
- A name with `іїєґ` is Ukrainian, one with `ыэъё` Russian; any other Cyrillic name is
  analysed in the language(s) whose dictionary knows most of its words, or both if neither does.
- A proper-name reading (Surn, Name, Patr, Geox, Orgn, Trad) is preferred for a capitalised
  word; otherwise nouns before adjectives (participles count as adjectives). An unknown
  capitalised word (`Віткофф`, `Сирський`) takes the predictor's declinable surname readings,
  or, when it offers none, every predicted noun reading (`Уиткофф`), so a declinable reading is
  kept beside an indeclinable one. Readings of one word are united, which yields both masculine
  paradigms where a dictionary has two (`Путіном` and `Путіним`).
- Feminine forms are produced only when the name is feminine: a word whose nominative
  readings are both masculine and feminine (`Трамп`, `Єрмак`) counts as masculine unless a first
  name in the same phrase is feminine (`Юлія Свириденко`).
- Forms marked archaic, informal, slang, erroneous or distorted, comparative and superlative
  adjectives, short adjectives, and spelling variants with another first letter (`ґарантія`)
  are never produced.

Precision guards (a generated form is dropped when)
---------------------------------------------------
1. it is shorter than 4 characters and is not the name itself;
2. it is a plural form of a proper name that the dictionary also reads as a form of a different
   common (non-proper) word, e.g. `лавровых` (plural of the surname `Лавров`, but also of the
   adjective `лавровый`). Singular forms are kept even then (`путина` is also a rare common
   noun, but it is above all the genitive of `Путин`), because they carry nearly all mentions;
3. it is one of the everyday words in `EVERYDAY_WORDS`, a short built-in list of words that
   inflecting a name can reach but that are read as common words far more often.

Text normalisation
------------------
Apostrophes `’ ʼ ‘` become the ASCII `'` (the matcher normalises text the same way), and every
form with `ё` is produced a second time with `е`, since Russian text mostly omits the dots.
Results are cached per process; the analyzers are built once, on first use.

Modules
-------
``morph`` (this one) is the entry point: languages, `ё` variants and the caches.
``morphword`` reads one word (analyzers, case, number, gender), ``morphphrase`` gives the
words of a name their roles, and ``morphforms`` inflects the name and applies the guards.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Literal

from peacewatch.rules import formstore
from peacewatch.rules.morphforms import EVERYDAY_WORDS, phrase_forms
from peacewatch.rules.morphword import (
    APOSTROPHES,
    Lang,
    analyzer,
    detect_cyrillic_lang,
    nominative_readings,
)

__all__ = ["EVERYDAY_WORDS", "detect_cyrillic_lang", "release_dictionaries", "surface_forms"]


@functools.lru_cache(maxsize=8192)
def surface_forms(name: str) -> frozenset[str]:
    """All case-folded surface forms of a name: itself plus, for Cyrillic words, their inflections.

    A name without Cyrillic letters returns only itself, case-folded (apostrophes normalised).
    Never raises for any string; a name that cannot be inflected returns only itself.
    """
    base = " ".join(name.translate(APOSTROPHES).split())
    own = base.casefold()
    if detect_cyrillic_lang(base) is None or not own:
        return frozenset(_with_yo_variants({own}))
    return formstore.forms(base, _inflected)


def release_dictionaries() -> None:
    """Let go of pymorphy3's Ukrainian and Russian dictionaries (about 40 MB, loaded when a name
    is first inflected; most names' forms come from the disk table on later starts). The forms
    found so far are kept; a name not seen yet loads the dictionaries again."""
    analyzer.cache_clear()


def _inflected(base: str) -> frozenset[str]:
    """``surface_forms`` of a Cyrillic name (spaces and apostrophes already normalised)."""
    own = base.casefold()
    forms: set[str] = {own}
    lang = detect_cyrillic_lang(base)
    if lang is not None:
        tokens = base.split(" ")
        for chosen in _languages(tokens, lang):
            forms |= phrase_forms(tokens, chosen, own)
    return frozenset(_with_yo_variants(forms))


def _with_yo_variants(forms: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for form in forms:
        out.add(form)
        if "ё" in form:
            out.add(form.replace("ё", "е"))
    return out


def _languages(tokens: Sequence[str], lang: Literal["uk", "ru", "cyr"]) -> tuple[Lang, ...]:
    """The analyzers to use: the sure language, or those that know the most words of the name."""
    if lang != "cyr":
        return (lang,)
    known = {
        candidate: sum(1 for t in tokens if nominative_readings(t, candidate, known_only=True))
        for candidate in ("uk", "ru")
    }
    best = max(known.values())
    if best == 0:
        return ("uk", "ru")
    langs: tuple[Lang, ...] = ("uk", "ru")
    return tuple(c for c in langs if known[c] == best)
