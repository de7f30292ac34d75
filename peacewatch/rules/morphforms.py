"""Every inflected form of an analysed Cyrillic name, less the forms the precision guards drop
(see ``morph`` for the rules).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from peacewatch.rules.morphphrase import Word, analyse
from peacewatch.rules.morphword import (
    APOSTROPHES,
    CASES,
    PROPER,
    Lang,
    Parse,
    analyzer,
    case_of,
    gender_of,
    number_of,
)

# A word without a second genitive/accusative/locative takes the first one instead.
_CASE_FALLBACK = {"gen2": "gent", "acc2": "accs", "loc2": "loct"}
_NUMBERS: tuple[str, ...] = ("sing", "plur")
_ODD = frozenset({"Arch", "Infr", "Slng", "Erro", "Dist", "Supr", "Cmp2", "compr", "supr"})
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


def phrase_forms(tokens: Sequence[str], lang: Lang, own: str) -> set[str]:
    words = analyse(tokens, lang)
    inflected = [w for w in words if w.readings]
    if not inflected:
        return set()
    head = next((w for w in words if w.role == "noun"), inflected[-1])
    # The name's own number: singular `вибір` is not `вибори`, nor `мелон` the name `Мелони`.
    # A one-word singular name also gets its plural (`Зеленських`, "the Zelenskys").
    numbers = {number_of(p.tag) for p in head.readings}
    if len(words) == 1 and numbers == {"sing"}:
        numbers.add("plur")
    genders = {gender_of(p.tag) for p in head.readings} - {None}
    animacy: set[str] = {a for p in head.readings for a in ("anim", "inan") if a in p.tag.grammemes}
    tables = {id(w): _form_table(w, lang) for w in inflected}
    out: set[str] = set()
    for number in _NUMBERS:
        if number not in numbers:
            continue
        for case in CASES:
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


def _form_table(word: Word, lang: Lang) -> list[_Entry]:
    """Every acceptable form of the word's readings, with the grammemes used to select it."""
    own_genders = {gender_of(p.tag) for p in word.readings} - {None}
    initial = word.text[:1].casefold()
    table: dict[tuple[str, str, str, str | None], _Entry] = {}
    for reading in word.readings:
        pos = reading.tag.POS
        for form in reading.lexeme:
            gram = form.tag.grammemes
            case = case_of(form.tag)
            if pos != form.tag.POS or case is None or gram & _ODD:
                continue
            if _PARTICIPLE_KIND & gram != _PARTICIPLE_KIND & reading.tag.grammemes:
                continue
            number = number_of(form.tag)
            gender = gender_of(form.tag)
            # The noun's own gender only: a Russian surname paradigm also holds the wife's forms.
            if (
                word.role == "noun"
                and number == "sing"
                and own_genders
                and gender not in own_genders
            ):
                continue
            text = form.word.translate(APOSTROPHES).casefold()
            # Spelling variants that change the first letter (`ґарантія`) are other words.
            if text[:1] != initial:
                continue
            if _collides(text, number, reading, lang):
                continue
            table[(text, case, number, gender)] = (text, case, number, gender, gram)
    return list(table.values())


def _collides(text: str, number: str, reading: Parse, lang: Lang) -> bool:
    """Guard 2: a plural form of a proper name that the dictionary reads as a common word."""
    if number != "plur" or not (PROPER & reading.tag.grammemes):
        return False
    for other in analyzer(lang).parse(text):
        if not other.is_known or other.normal_form == reading.normal_form:
            continue
        if not (PROPER & other.tag.grammemes):
            return True
    return False


def _lookup(
    table: list[_Entry],
    word: Word,
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
    word: Word,
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
        own = {gender_of(p.tag) for p in word.readings} - {None}
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
