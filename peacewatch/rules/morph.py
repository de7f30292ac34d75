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
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

from peacewatch.rules import formstore

__all__ = ["EVERYDAY_WORDS", "detect_cyrillic_lang", "surface_forms"]

Lang = Literal["uk", "ru"]

_UK_ONLY = frozenset("іїєґ")
_RU_ONLY = frozenset("ыэъё")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})

_CASES: tuple[str, ...] = (
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
# A word without a second genitive/accusative/locative takes the first one instead.
_CASE_FALLBACK = {"gen2": "gent", "acc2": "accs", "loc2": "loct"}
_NUMBERS: tuple[str, ...] = ("sing", "plur")
_PROPER = frozenset({"Surn", "Name", "Patr", "Geox", "Orgn", "Trad"})
_PERSONAL = frozenset({"Surn", "Name", "Patr"})
_ODD = frozenset({"Arch", "Infr", "Slng", "Erro", "Dist", "Supr", "Cmp2", "compr", "supr"})
_ADJECTIVAL = frozenset({"ADJF", "PRTF"})
_INFLECTABLE_POS = _ADJECTIVAL | {"NOUN"}
# A participle's lexeme is its verb's: keep forms of the same participle only.
_PARTICIPLE_KIND = frozenset({"actv", "pssv", "pres", "past", "futr"})
_MIN_LEN = 4
# Bounds the cartesian product of spelling variants in one case of a long phrase.
_MAX_VARIANTS_PER_CASE = 64

EVERYDAY_WORDS: frozenset[str] = frozenset(
    {
        # Found by checking every form of the built-in names against the dictionaries' common
        # words; listed when the common reading is far more frequent than the name's rare case.
        "мерці",  # locative of `Мерц`, but "the dead"
        "грушка",  # genitive of `Грушко`, but "pear"
        "грушку",  # dative of `Грушко`, but "pear" (accusative)
        "оріхове",  # vocative of `Оріхів`, but "nutty" and a village's name
    }
)


class _Tag(Protocol):
    grammemes: frozenset[str]

    @property
    def POS(self) -> str | None: ...  # pymorphy3's attribute name


class _Parse(Protocol):
    word: str
    normal_form: str
    tag: _Tag
    is_known: bool

    @property
    def lexeme(self) -> list[_Parse]: ...


class _Analyzer(Protocol):
    def parse(self, word: str) -> list[_Parse]: ...


@functools.cache
def _analyzer(lang: Lang) -> _Analyzer:
    import pymorphy3

    return cast(_Analyzer, pymorphy3.MorphAnalyzer(lang=lang))


def detect_cyrillic_lang(text: str) -> Literal["uk", "ru", "cyr"] | None:
    """Say which Cyrillic language `text` is written in.

    None when `text` has no Cyrillic letter; "uk" when it has one of `іїєґ` and none of
    `ыэъё`; "ru" for the opposite; "cyr" when neither (or both) kinds of letter occur, so the
    text could be either language (`Путин`, `Херсон`). Callers treat "cyr" as both.
    """
    low = text.casefold()
    if not any(_is_cyrillic(ch) for ch in low):
        return None
    uk = any(ch in _UK_ONLY for ch in low)
    ru = any(ch in _RU_ONLY for ch in low)
    if uk and not ru:
        return "uk"
    if ru and not uk:
        return "ru"
    return "cyr"


@functools.lru_cache(maxsize=8192)
def surface_forms(name: str) -> frozenset[str]:
    """All case-folded surface forms of a name: itself plus, for Cyrillic words, their inflections.

    A name without Cyrillic letters returns only itself, case-folded (apostrophes normalised).
    Never raises for any string; a name that cannot be inflected returns only itself.
    """
    base = " ".join(name.translate(_APOSTROPHES).split())
    own = base.casefold()
    if detect_cyrillic_lang(base) is None or not own:
        return frozenset(_with_yo_variants({own}))
    return formstore.forms(base, _inflected)


def _inflected(base: str) -> frozenset[str]:
    """``surface_forms`` of a Cyrillic name (spaces and apostrophes already normalised)."""
    own = base.casefold()
    forms: set[str] = {own}
    lang = detect_cyrillic_lang(base)
    if lang is not None:
        tokens = base.split(" ")
        for chosen in _languages(tokens, lang):
            forms |= _phrase_forms(tokens, chosen, own)
    return frozenset(_with_yo_variants(forms))


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


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
        candidate: sum(1 for t in tokens if _nominative_readings(t, candidate, known_only=True))
        for candidate in ("uk", "ru")
    }
    best = max(known.values())
    if best == 0:
        return ("uk", "ru")
    langs: tuple[Lang, ...] = ("uk", "ru")
    return tuple(c for c in langs if known[c] == best)


def _inflectable(token: str) -> bool:
    letters = token.replace("-", "").replace("'", "")
    # Mixed scripts (a Latin homoglyph inside a Cyrillic word) are not a dictionary word.
    if not letters.isalpha() or not all(_is_cyrillic(ch) for ch in letters):
        return False
    # An abbreviation in capitals (`АЕС`, `ЗАЕС`, `ООН`) is indeclinable in running text.
    return not (len(letters) >= 2 and letters.isupper())


def _number(tag: _Tag) -> str:
    return "plur" if "plur" in tag.grammemes else "sing"


def _gender(tag: _Tag) -> str | None:
    for g in ("masc", "femn", "neut"):
        if g in tag.grammemes:
            return g
    return None


def _case(tag: _Tag) -> str | None:
    for c in _CASES:
        if c in tag.grammemes:
            return c
    # The Ukrainian dictionary leaves the case off some headwords (`зона`: "NOUN,inan femn").
    return "nomn" if tag.POS in _INFLECTABLE_POS else None


def _nominative_readings(token: str, lang: Lang, *, known_only: bool = False) -> list[_Parse]:
    if not _inflectable(token):
        return []
    return _nominative_parses(token, lang, known_only=known_only)


def _nominative_parses(token: str, lang: Lang, *, known_only: bool = False) -> list[_Parse]:
    readings = [
        p
        for p in _analyzer(lang).parse(token)
        if p.tag.POS in _INFLECTABLE_POS and _case(p.tag) == "nomn"
    ]
    known = [p for p in readings if p.is_known]
    return known if (known or known_only) else readings


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of a name with the readings chosen for it (none: the word stays as it is)."""

    text: str
    readings: tuple[_Parse, ...]
    role: Literal["fixed", "adj", "noun"]


def _choose(token: str, lang: Lang, role: Literal["adj", "noun"]) -> tuple[_Parse, ...]:
    readings = _nominative_readings(token, lang)
    wanted = _ADJECTIVAL if role == "adj" else {"NOUN"}
    same_pos = [p for p in readings if p.tag.POS in wanted] or readings
    if not token[:1].isupper():
        return tuple(same_pos)
    if all(p.is_known for p in same_pos):
        # A dictionary word written with a capital is a name.
        proper = [p for p in same_pos if _PROPER & p.tag.grammemes]
        return tuple(proper or same_pos)
    # An unknown capitalised word is most likely a surname; the predictor often ranks other
    # paradigms first (`Сирський` as a first name) or offers only an indeclinable surname
    # (`Уиткофф`), in which case every predicted noun reading is kept.
    surname = [p for p in same_pos if "Surn" in p.tag.grammemes and "Fixd" not in p.tag.grammemes]
    return tuple(surname or same_pos)


def _restrict(readings: tuple[_Parse, ...], person: bool, hint: str | None) -> tuple[_Parse, ...]:
    """Keep a person's animate readings, and feminine ones only for a feminine name."""
    # Predicted readings of an unknown surname are often inanimate but decline like the name.
    known = all(p.is_known for p in readings)
    if person and known and any("anim" in p.tag.grammemes for p in readings):
        readings = tuple(p for p in readings if "anim" in p.tag.grammemes)
    genders = {_gender(p.tag) for p in readings}
    if hint is not None and hint in genders:
        return tuple(p for p in readings if _gender(p.tag) in {hint, None})
    if "masc" in genders and "femn" in genders:
        return tuple(p for p in readings if _gender(p.tag) != "femn")
    return readings


def _analyse(tokens: Sequence[str], lang: Lang) -> tuple[_Word, ...]:
    """Give each word a role: leading adjectives, the head, its name parts, fixed dependents."""
    words: list[_Word] = []
    i = 0
    n = len(tokens)
    while i < n - 1 and _is_modifier(tokens[i], tokens[i + 1], lang):
        words.append(_Word(tokens[i], _choose(tokens[i], lang, "adj"), "adj"))
        i += 1
    head_readings = _nominative_readings(tokens[i], lang)
    if not head_readings:
        words.append(_Word(tokens[i], (), "fixed"))
    else:
        has_noun = any(p.tag.POS == "NOUN" for p in head_readings)
        role: Literal["adj", "noun"] = "noun" if has_noun else "adj"
        words.append(_Word(tokens[i], _choose(tokens[i], lang, role), role))
    head = words[-1]
    j = i + 1
    person = False
    while j < n:
        if _is_name_part(head, tokens[j], lang):
            words.append(_Word(tokens[j], _choose(tokens[j], lang, "noun"), "noun"))
            person = True
        elif (
            j + 1 < n and _is_initial(tokens[j], lang) and _is_name_part(head, tokens[j + 1], lang)
        ):
            # `Джей Ді Венс`: an indeclinable middle part does not end the name.
            words.append(_Word(tokens[j], (), "fixed"))
        else:
            break
        j += 1
    words.extend(_Word(t, (), "fixed") for t in tokens[j:])
    hint = _person_gender(words[i]) if person else None
    return tuple(
        _Word(w.text, _restrict(w.readings, person, hint), w.role) if w.readings else w
        for w in words
    )


def _agreement(readings: Iterable[_Parse]) -> set[tuple[str, str | None]]:
    return {(_number(p.tag), _gender(p.tag)) for p in readings}


def _is_modifier(token: str, following: str, lang: Lang) -> bool:
    """True when `token` is an adjective that agrees with the word after it."""
    readings = [p for p in _nominative_readings(token, lang) if p.tag.POS in _ADJECTIVAL]
    if not readings:
        return False
    follow = _nominative_parses(following, lang)
    # `Зеленський Володимир`: a surname with an adjective reading before a first name is a noun.
    surname = token[:1].isupper() and any(
        _PERSONAL & p.tag.grammemes for p in _nominative_readings(token, lang)
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


def _is_name_part(head: _Word, token: str, lang: Lang) -> bool:
    if head.role != "noun" or not head.text[:1].isupper() or not token[:1].isupper():
        return False
    readings = [p for p in _nominative_readings(token, lang) if p.tag.POS == "NOUN"]
    head_numbers = {_number(p.tag) for p in head.readings}
    # `Рада Безпеки`: `Безпеки` reads as a nominative only in the plural, so it is a dependent.
    return any(_number(p.tag) in head_numbers for p in readings)


def _is_initial(token: str, lang: Lang) -> bool:
    """A capitalised part of a name that does not decline: an initial or a short particle."""
    if not token[:1].isupper():
        return False
    return token.endswith(".") or not _nominative_readings(token, lang)


def _person_gender(first: _Word) -> str | None:
    """The gender of a personal name, when its first word has one unambiguously."""
    animate = [p for p in first.readings if "anim" in p.tag.grammemes] or list(first.readings)
    genders = {_gender(p.tag) for p in animate} - {None}
    return genders.pop() if len(genders) == 1 else None


def _phrase_forms(tokens: Sequence[str], lang: Lang, own: str) -> set[str]:
    words = _analyse(tokens, lang)
    inflected = [w for w in words if w.readings]
    if not inflected:
        return set()
    head = next((w for w in words if w.role == "noun"), inflected[-1])
    # The name's own number: singular `вибір` is not `вибори`, nor `мелон` the name `Мелони`.
    # A one-word singular name also gets its plural (`Зеленських`, "the Zelenskys").
    numbers = {_number(p.tag) for p in head.readings}
    if len(words) == 1 and numbers == {"sing"}:
        numbers.add("plur")
    genders = {_gender(p.tag) for p in head.readings} - {None}
    animacy: set[str] = {a for p in head.readings for a in ("anim", "inan") if a in p.tag.grammemes}
    tables = {id(w): _form_table(w, lang) for w in inflected}
    out: set[str] = set()
    for number in _NUMBERS:
        if number not in numbers:
            continue
        for case in _CASES:
            slots: list[list[str]] = []
            for w in words:
                if not w.readings:
                    slots.append([w.text.casefold()])
                    continue
                found = _lookup(tables[id(w)], w, case, number, genders, animacy)
                if not found:
                    break
                slots.append(found)
            else:
                for combo in itertools.islice(itertools.product(*slots), _MAX_VARIANTS_PER_CASE):
                    out.add(" ".join(combo))
    return {f for f in out if _keep(f, own)}


_Entry = tuple[str, str, str, str | None, frozenset[str]]  # form, case, number, gender, grammemes


def _form_table(word: _Word, lang: Lang) -> list[_Entry]:
    """Every acceptable form of the word's readings, with the grammemes used to select it."""
    own_genders = {_gender(p.tag) for p in word.readings} - {None}
    initial = word.text[:1].casefold()
    table: dict[tuple[str, str, str, str | None], _Entry] = {}
    for reading in word.readings:
        pos = reading.tag.POS
        for form in reading.lexeme:
            gram = form.tag.grammemes
            case = _case(form.tag)
            if pos != form.tag.POS or case is None or gram & _ODD:
                continue
            if _PARTICIPLE_KIND & gram != _PARTICIPLE_KIND & reading.tag.grammemes:
                continue
            number = _number(form.tag)
            gender = _gender(form.tag)
            # The noun's own gender only: a Russian surname paradigm also holds the wife's forms.
            if (
                word.role == "noun"
                and number == "sing"
                and own_genders
                and gender not in own_genders
            ):
                continue
            text = form.word.translate(_APOSTROPHES).casefold()
            # Spelling variants that change the first letter (`ґарантія`) are other words.
            if text[:1] != initial:
                continue
            if _collides(text, number, reading, lang):
                continue
            table[(text, case, number, gender)] = (text, case, number, gender, gram)
    return list(table.values())


def _collides(text: str, number: str, reading: _Parse, lang: Lang) -> bool:
    """Guard 2: a plural form of a proper name that the dictionary reads as a common word."""
    if number != "plur" or not (_PROPER & reading.tag.grammemes):
        return False
    for other in _analyzer(lang).parse(text):
        if not other.is_known or other.normal_form == reading.normal_form:
            continue
        if not (_PROPER & other.tag.grammemes):
            return True
    return False


def _lookup(
    table: list[_Entry],
    word: _Word,
    case: str,
    number: str,
    head_genders: set[str | None],
    head_animacy: set[str],
) -> list[str]:
    for wanted in (case, _CASE_FALLBACK.get(case)):
        if wanted is None:
            continue
        if wanted != case and word.role == "noun":
            # A noun without gen2/loc2 has no such form; only agreeing adjectives fall back.
            break
        found = [
            text
            for text, c, num, gender, gram in table
            if c == wanted
            and num == number
            and _agrees(word, gender, gram, number, head_genders, head_animacy)
        ]
        if found:
            return sorted(set(found))
    return []


def _agrees(
    word: _Word,
    gender: str | None,
    gram: frozenset[str],
    number: str,
    head_genders: set[str | None],
    head_animacy: set[str],
) -> bool:
    if word.role != "adj":
        return True
    if number == "sing" and head_genders and gender is not None and gender not in head_genders:
        return False
    if number == "sing" and not head_genders:
        own = {_gender(p.tag) for p in word.readings} - {None}
        if own and gender is not None and gender not in own:
            return False
    animacy = {a for a in ("anim", "inan") if a in gram}
    return not (animacy and head_animacy and not animacy & head_animacy)


def _keep(form: str, own: str) -> bool:
    if form == own:
        return True
    if len(form) < _MIN_LEN:
        return False
    return not any(word in EVERYDAY_WORDS for word in form.split(" ") if word not in own.split())
