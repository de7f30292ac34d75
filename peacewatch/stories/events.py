"""What happened, as a headline says it: the kind of development its decision words report.

Two reports of one development use different words in different languages, but they say the
same kind of thing happened: leaders agreed, signed, rejected, met, proposed, warned. Each
kind is listed by its words in the feeds' languages (English, Swedish, German, Polish,
Russian, Ukrainian); a word is matched by its story token (the stem
:mod:`peacewatch.stories.features` gives it), so "agreed", "agrees" and "agreement" meet.

A headline that denies the act still reports the same kind of development ("X did not reject
the plan" and "X rejects key parts of the plan" are both about a rejection): the negation is
a function word and carries no kind, so framing never separates two reports of one event.
"""

from __future__ import annotations

import functools

from peacewatch.stories.features import Tokens, word_token

_KINDS = {
    "agree": """
        agree agreed agrees agreement agreements deal deals accord consensus compromise
        enighet enades överens överenskommelse avtal uppgörelse
        einigung einigen geeinigt einig vereinbart vereinbarung abkommen
        porozumienie porozumienia porozumieniu zgoda uzgodnili uzgodniono ustalili ustalenia
        соглашение соглашения договорились договоренность согласились
        угода угоди домовилися домовленість погодилися
    """,
    "sign": """
        sign signs signed signing memorandum declaration treaty pact
        undertecknar undertecknade undertecknat skriver deklaration
        unterzeichnet unterzeichnen unterschreiben erklärung
        podpisano podpisali podpisał podpisanie memorandum deklaracja deklarację
        подписали подписал подписание меморандум декларация
        підписали підписав підписання меморандум декларація
    """,
    "reject": """
        reject rejects rejected rejection refuse refuses refused dismiss dismisses dismissed
        rebuff rebuffs rebuffed deny denies denied oppose opposes opposed
        avvisar avvisade avvisat nej vägrar vägrade förkastar
        lehnt ablehnen abgelehnt ablehnung weigert
        odrzuca odrzucił odrzuciła odrzucili odrzucenie sprzeciw odmawia
        отверг отвергла отвергли отклонил отклонила отказался отказ против
        відхилив відхилила відкинув відмовився відмова
    """,
    "meet": """
        meet meets meeting meetings met summit talks gather gathers gathered host hosts hosted
        convene convenes convened negotiations negotiators
        möte möts mötet träffas träffar toppmöte toppmötet förhandlingar
        treffen trifft trafen gipfel gipfeltreffen gespräche verhandlungen
        spotkanie spotkaniu spotkania spotka szczyt szczycie rozmowy rozmów negocjacje
        встреча встречи встретились саммит переговоры переговоров
        зустріч зустрічі зустрілися саміт переговори переговорів
    """,
    "propose": """
        propose proposes proposed proposal proposals plan plans draft offer offers offered
        förslag föreslår utkast planen plan erbjuder
        vorschlag vorschläge schlägt entwurf angebot
        propozycja propozycję proponuje projekt plan planu oferta
        предложение предложил предлагает план проект
        пропозиція запропонував пропонує план проект
    """,
    "call": """
        call calls called phone spoke speaks telephone
        telefonsamtal ringde
        telefonat telefoniert
        telefon telefoniczna telefonicznie zadzwonił
        звонок позвонил телефонный разговор
        дзвінок подзвонив телефонна розмова
    """,
    "troops": """
        troops troop deploy deploys deployed deployment soldiers boots force forces
        trupper soldater skicka skickar styrka
        truppen soldaten entsenden stationieren bundeswehr
        wojska wojsk żołnierze żołnierzy kontyngent
        войска войск солдаты контингент
        війська військ солдати контингент
    """,
    "vote": """
        vote votes voted voting ballot parliament
        rösta röstar omröstning riksdagen
        abstimmung abstimmen bundestag
        głosowanie głosować sejm
        голосование голосовать
        голосування голосувати
    """,
    "attack": """
        attack attacks attacked strike strikes struck drone drones missile missiles shelling
        bombing killed
        attack anfall drönare robot robotattack
        angriff angriffe drohnen rakete raketen
        atak ataki drony rakiety ostrzał
        атака удар удары дроны ракеты обстрел
        атака удар удари дрони ракети обстріл
    """,
    "warn": """
        warn warns warned warning threat threats threaten threatens threatened
        varnar varnade hotar hot
        warnt warnen droht drohung
        ostrzega ostrzegł grozi groźba
        предупредил предупреждает угрожает угроза
        попередив попереджає погрожує загроза
    """,
    "progress": """
        progress breakthrough advance advances productive
        framsteg genombrott
        fortschritt fortschritte durchbruch
        postęp postępy przełom
        прогресс прорыв
        прогрес прорив
    """,
    "visit": """
        visit visits visited arrive arrives arrived travel travels heads trip
        besök besöker reser anländer
        besuch besucht reist
        wizyta wizyty leci przyleciał
        визит прибыл
        візит прибув
    """,
}


def _kinds() -> dict[str, str]:
    out: dict[str, str] = {}
    for kind, words in _KINDS.items():
        for word in words.split():
            token = word_token(word)
            if token:
                out.setdefault(token, kind)
    return out


KIND_OF: dict[str, str] = _kinds()
"""Story token -> the kind of development it reports."""


@functools.lru_cache(maxsize=4096)
def kinds_of(title_tokens: Tokens) -> frozenset[str]:
    """The kinds of development a headline (its tokens: an article's set, or the tuple a story
    keeps of a member's) reports. The cache holds the headlines of the stories being compared
    now (a larger one would keep every headline of the window alive: ~1 KB an article)."""
    kind = KIND_OF.get
    return frozenset(k for t in title_tokens if (k := kind(t)) is not None)
