"""Checks the built-in entity dictionary (peacewatch/rules/data/entities.yaml) as data."""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import samples_dir

KINDS = frozenset({"actor", "place", "topic"})
ID_PATTERN = re.compile(r"[a-z0-9_-]+")

# Ids that rules, docs and the demo may name; the YAML header documents them.
REQUIRED_IDS: dict[str, str] = {
    "witkoff": "actor",
    "dmitriev": "actor",
    "zelensky": "actor",
    "putin": "actor",
    "lavrov": "actor",
    "umerov": "actor",
    "yermak": "actor",
    "rubio": "actor",
    "kushner": "actor",
    "ushakov": "actor",
    "trump": "actor",
    "kremlin": "actor",
    "nato": "actor",
    "eu": "actor",
    "donbas": "place",
    "donetsk": "place",
    "luhansk": "place",
    "zaporizhzhia": "place",
    "znpp": "place",
    "crimea": "place",
    "kherson": "place",
    "kyiv": "place",
    "moscow": "place",
    "istanbul": "place",
    "riyadh": "place",
    "jeddah": "place",
    "abu_dhabi": "place",
    "geneva": "place",
    "alaska": "place",
    "miami": "place",
    "budapest": "place",
    "security_guarantees": "topic",
    "ceasefire": "topic",
    "28_point_plan": "topic",
    "20_point_plan": "topic",
    "frozen_assets": "topic",
    "sanctions": "topic",
    "prisoner_exchange": "topic",
    "nato_membership": "topic",
    "demilitarised_zone": "topic",
    "referendum": "topic",
    "elections": "topic",
    "peace_plan": "topic",
    "peace_deal": "topic",
    "territorial_concessions": "topic",
    "energy_ceasefire": "topic",
    "black_sea_ceasefire": "topic",
    "minerals_deal": "topic",
    "eu_membership": "topic",
    "reassurance_force": "topic",
    "buffer_zone": "topic",
    "grain_deal": "topic",
}

# Actors that must be findable in Ukrainian/Russian text as well as in Latin script.
BILINGUAL_ACTORS = (
    "witkoff",
    "dmitriev",
    "zelensky",
    "putin",
    "lavrov",
    "umerov",
    "yermak",
    "rubio",
    "kushner",
    "ushakov",
    "trump",
)

# Names that may belong to two entities (normalised form -> the ids sharing it).
# Empty: every shared name so far was resolved by choosing one owner. An entry
# here needs a reason, e.g. a place name that is also the usual metonym of an actor.
SHARED_NAME_ALLOW_LIST: dict[str, frozenset[str]] = {}

# Everyday English words that must never be a whole name: matched case-insensitively,
# they would fire on ordinary prose. Trump is deliberately absent: in this domain it is
# the proper name, and the dictionary lists it.
STOP_WORDS = frozenset(
    """
    a about after again against agreement all also an and any anchorage are army as at
    back be before bill bird black border brown bush but by call can cap card case chief
    city coalition cook cooper could court cross day deal deals do down draft during east
    end energy envoy europe even fair far field fire first for force forces frame free
    from front further gate general go gold good grant green guarantee guarantees hall
    has have he head her here high hill his hope house how if in into is it joint just
    king land last law leader leaders line long major many march mark may meeting member
    minister more most much must new news no north not now of off on one only or order
    other our out over pact party peace people plan plans point points pope power
    president prince prime rice right rose round said say security should side so some
    south state stone summit swap talk talks than that the their them then there these
    they this time to trade treaty troops truth turkey under up us very wall war waltz was
    way we well were west what when where which white who will wing with word would yes
    you young zone
    """.split()
)

# Real headlines from /work/shared/samples/items.jsonl, verbatim, by item id.
SAMPLE_HEADLINES: dict[str, str] = {
    "349493a41f63ca70": (
        "With summit looming, Ukraine's Zelenskyy says he won't give land to Russia - NPR"
    ),
    "2df686492b779692": "Ukraine, Coalition of the Willing to meet early January, Zelenskiy says",
    "058dbf6778212679": "Co dalej w sprawie pokoju w Ukrainie? Zełenski podał trzy daty",
    "dbd6eb056837fdca": "Putin öppnar för samtal med Zelenskyj - Expressen",
    "98718c08dd28bc2a": (
        "Ukraine-Krieg: Wolodymyr Selenskyj optimistisch über baldiges Friedensabkommen"
    ),
    "c8015e8adb842c8a": (
        "Kirył Dmitriew spotkał się z doradcami Trumpa w Paryżu. "
        "Dzień po szczycie koalicji chętnych"
    ),
    "a1bf47bbe345e7c6": "Trump Envoy Witkoff Plans Second Meeting With Putin – Reports",
    "001ad780aa0d8fd1": (
        "Witkoff and Kushner to meet Putin in Moscow to discuss an end to the Ukraine war - Reuters"
    ),
    "e2ec63b421c65d73": (
        "Rustem Umerov: The 'Charismatic' Defense Minister Leading Kyiv's Delegation in Istanbul"
    ),
    "8f3cbac1d698bba7": "Källor: USA vill att Ukraina ger upp hela Donbass - Dagens Nyheter",
    "c6d9572d3d1bf487": "Vapenvila mellan Ryssland och Ukraina – vid Zaporizjzja - Expressen",
    "5fff539c502ae147": (
        "Trump says Russia and Ukraine have agreed to his request for a 3-day ceasefire and a"
        " prisoner swap - AP News"
    ),
    "c031e31e2f96570d": "USA: Putin går med på ”robusta” säkerhetsgarantier - DN",
    "9530d600f094b9b3": (
        "Trump approves 28-point Ukraine-Russia peace plan, but so far, Ukraine is not on board"
        " - CBS News"
    ),
    "e721c98c3f291cd9": "Här är Ukrainas nya 20-punktsplan för fred - Dagens Nyheter",
    "0b7a9543421fe851": (
        "Belgium PM says using frozen Russian assets could derail Ukraine peace deal - Reuters"
    ),
    "464d7f77b8496182": (
        "Ukraine, Russia, US to discuss fraught issue of territorial concessions in Abu Dhabi"
        " - AP News"
    ),
    "ab483b377995dc93": (
        "‘Grasping for straws’: Europe floats Ukraine-Russia buffer zone in push for peace"
        " - Politico"
    ),
    "9f1e00ddba58b95c": (
        "DN Direkt - JD Vance: Fredsavtal gör sannolikt både Moskva och Kiev missnöjda - DN.se - DN"
    ),
}

# (item id, entity id): the headline names the entity in one of the spellings the news uses.
SAMPLE_MENTIONS: tuple[tuple[str, str], ...] = (
    ("349493a41f63ca70", "zelensky"),
    ("2df686492b779692", "zelensky"),
    ("058dbf6778212679", "zelensky"),
    ("dbd6eb056837fdca", "zelensky"),
    ("98718c08dd28bc2a", "zelensky"),
    ("dbd6eb056837fdca", "putin"),
    ("2df686492b779692", "coalition_of_the_willing"),
    ("c8015e8adb842c8a", "dmitriev"),
    ("a1bf47bbe345e7c6", "witkoff"),
    ("001ad780aa0d8fd1", "kushner"),
    ("001ad780aa0d8fd1", "moscow"),
    ("e2ec63b421c65d73", "umerov"),
    ("e2ec63b421c65d73", "kyiv"),
    ("e2ec63b421c65d73", "istanbul"),
    ("8f3cbac1d698bba7", "donbas"),
    ("c6d9572d3d1bf487", "zaporizhzhia"),
    ("c6d9572d3d1bf487", "ceasefire"),
    ("5fff539c502ae147", "ceasefire"),
    ("5fff539c502ae147", "prisoner_exchange"),
    ("c031e31e2f96570d", "security_guarantees"),
    ("9530d600f094b9b3", "28_point_plan"),
    ("e721c98c3f291cd9", "20_point_plan"),
    ("0b7a9543421fe851", "frozen_assets"),
    ("0b7a9543421fe851", "peace_deal"),
    ("464d7f77b8496182", "territorial_concessions"),
    ("464d7f77b8496182", "abu_dhabi"),
    ("ab483b377995dc93", "buffer_zone"),
    ("9f1e00ddba58b95c", "kyiv"),
    ("9f1e00ddba58b95c", "moscow"),
    ("9f1e00ddba58b95c", "vance"),
    ("9f1e00ddba58b95c", "peace_deal"),
)

# For the scan of the whole sample file: a loose pattern that spots a mention of the
# entity in English text, independent of the dictionary's names.
MENTION_PATTERNS: dict[str, str] = {
    "zelensky": r"\bzelensk(?!a\b)\w*",
    "putin": r"\bputin\b",
    "witkoff": r"\bwitkoff",
    "kushner": r"\bkushner",
    "rubio": r"\brubio",
    "dmitriev": r"\bdmitri?e[vw]",
    "umerov": r"\bumerov",
    "yermak": r"\byermak",
    "budanov": r"\bbudanov",
    "peskov": r"\bpeskov",
    "lavrov": r"\blavrov",
    "ushakov": r"\bushakov",
    "medinsky": r"\bmedinsk",
    "kremlin": r"\bkremlin",
    "donbas": r"\bdonbas",
    "zaporizhzhia": r"\bzapori",
    "kyiv": r"\b(?:kyiv|kiev)\b",
    "abu_dhabi": r"\babu dhabi\b",
    "geneva": r"\bgeneva\b",
    "istanbul": r"\bistanbul\b",
    "alaska": r"\balaska\b",
    "ceasefire": r"\bcease.?fire|\btruce\b",
    "security_guarantees": r"\bsecurity guarantee",
    "28_point_plan": r"\b28.point (?:\S+ ){0,2}(?:plan|proposal|framework|document|draft)",
    "20_point_plan": r"\b20.point (?:\S+ ){0,2}(?:plan|proposal|framework|document|draft)",
    "coalition_of_the_willing": r"\bcoalition of the willing\b",
    "territorial_concessions": r"\bterritorial concession",
    "prisoner_exchange": r"\bprisoner (?:swap|exchange)",
}

SAMPLES_ITEMS = samples_dir() / "items.jsonl"


def _entities_text() -> str:
    try:
        resource = importlib.resources.files("peacewatch.rules") / "data" / "entities.yaml"
        return resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        path = Path(__file__).resolve().parent.parent / "peacewatch/rules/data/entities.yaml"
        return path.read_text(encoding="utf-8")


@functools.cache
def _document() -> Any:
    return yaml.safe_load(_entities_text())


def _entities() -> list[dict[str, Any]]:
    entities = _document()["entities"]
    assert isinstance(entities, list)
    return entities


def _by_id() -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in _entities()}


def _norm(name: str) -> str:
    """The form under which the engine treats two names as the same."""
    folded = unicodedata.normalize("NFC", name).casefold()
    return " ".join(folded.replace("-", " ").split())


def _is_cyrillic(name: str) -> bool:
    return any("CYRILLIC" in unicodedata.name(ch, "") for ch in name)


def _is_latin(name: str) -> bool:
    return any("LATIN" in unicodedata.name(ch, "") for ch in name)


@functools.cache
def _name_regex(entity_id: str) -> re.Pattern[str]:
    """Whole-word alternation of an entity's names, hyphen and space interchangeable."""
    alternatives = []
    for name in sorted(_by_id()[entity_id]["names"], key=len, reverse=True):
        words = _norm_text(_norm(name)).split()
        alternatives.append(r"[\s\-]+".join(re.escape(w) for w in words))
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


def _mentions(entity_id: str, text: str) -> bool:
    return _name_regex(entity_id).search(_norm_text(text)) is not None


def _norm_text(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().replace("’", "'")


def test_document_shape() -> None:
    doc = _document()
    assert isinstance(doc, dict)
    assert set(doc) == {"entities"}
    for entity in _entities():
        assert isinstance(entity, dict)
        assert set(entity) == {"id", "kind", "description", "names"}, entity.get("id")


def test_ids_are_unique_lowercase_ascii() -> None:
    ids = [e["id"] for e in _entities()]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert duplicates == []
    for entity_id in ids:
        assert isinstance(entity_id, str)
        assert ID_PATTERN.fullmatch(entity_id), entity_id


def test_kinds_and_counts() -> None:
    kinds = Counter(e["kind"] for e in _entities())
    assert set(kinds) <= KINDS
    assert sum(kinds.values()) >= 80
    assert kinds["actor"] >= 40
    assert kinds["place"] >= 15
    assert kinds["topic"] >= 12


def test_descriptions_are_short_single_lines() -> None:
    for entity in _entities():
        description = entity["description"]
        assert isinstance(description, str), entity["id"]
        assert description == description.strip() and description, entity["id"]
        assert "\n" not in description and len(description) <= 120, entity["id"]


def test_names_are_clean_and_unique_within_entity() -> None:
    for entity in _entities():
        names = entity["names"]
        assert isinstance(names, list) and names, entity["id"]
        for name in names:
            assert isinstance(name, str), (entity["id"], name)
            assert name and name == name.strip(), (entity["id"], name)
            assert "  " not in name and "\n" not in name, (entity["id"], name)
        repeated = [n for n, c in Counter(_norm(n) for n in names).items() if c > 1]
        assert repeated == [], (entity["id"], repeated)


def test_no_name_belongs_to_two_entities() -> None:
    owners: dict[str, set[str]] = {}
    for entity in _entities():
        for name in entity["names"]:
            owners.setdefault(_norm(name), set()).add(entity["id"])
    shared = {
        name: ids
        for name, ids in owners.items()
        if len(ids) > 1 and SHARED_NAME_ALLOW_LIST.get(name) != frozenset(ids)
    }
    assert shared == {}


def test_no_id_is_a_name_of_another_entity() -> None:
    # A bare query term resolves by id or by name, so the two must not disagree.
    owners: dict[str, str] = {}
    for entity in _entities():
        for name in entity["names"]:
            owners[_norm(name)] = entity["id"]
    for entity in _entities():
        as_name = _norm(entity["id"].replace("_", " "))
        assert owners.get(as_name, entity["id"]) == entity["id"], entity["id"]


def test_required_ids_exist_with_their_kind() -> None:
    by_id = _by_id()
    missing = sorted(set(REQUIRED_IDS) - set(by_id))
    assert missing == []
    for entity_id, kind in REQUIRED_IDS.items():
        assert by_id[entity_id]["kind"] == kind, entity_id


@pytest.mark.parametrize("entity_id", BILINGUAL_ACTORS)
def test_key_actors_have_latin_and_cyrillic_names(entity_id: str) -> None:
    entity = _by_id()[entity_id]
    assert entity["kind"] == "actor"
    assert any(_is_cyrillic(n) for n in entity["names"])
    assert any(_is_latin(n) and not _is_cyrillic(n) for n in entity["names"])


def test_zelensky_has_every_common_transliteration() -> None:
    names = {_norm(n) for n in _by_id()["zelensky"]["names"]}
    assert {"zelensky", "zelenskyy", "zelenskiy", "зеленський", "зеленский"} <= names


def test_no_name_is_an_everyday_word() -> None:
    offenders = [(e["id"], n) for e in _entities() for n in e["names"] if _norm(n) in STOP_WORDS]
    assert offenders == []


def test_stop_list_is_substantial() -> None:
    assert len(STOP_WORDS) >= 150
    assert "trump" not in STOP_WORDS


def test_cyrillic_names_are_not_mixed_script() -> None:
    # A Latin letter hidden in a Cyrillic name (a, e, o, p, c, x) would never match.
    for entity in _entities():
        for name in entity["names"]:
            if _is_cyrillic(name):
                latin = [ch for ch in name if ch.isalpha() and "LATIN" in unicodedata.name(ch)]
                assert latin == [], (entity["id"], name)


@pytest.mark.parametrize(
    ("item_id", "entity_id"), SAMPLE_MENTIONS, ids=[f"{i}-{e}" for i, e in SAMPLE_MENTIONS]
)
def test_sample_headlines_name_the_entity(item_id: str, entity_id: str) -> None:
    assert _mentions(entity_id, SAMPLE_HEADLINES[item_id])


@pytest.mark.skipif(not SAMPLES_ITEMS.exists(), reason="sample items not available")
def test_embedded_headlines_are_verbatim() -> None:
    titles: dict[str, str] = {}
    with SAMPLES_ITEMS.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item["id"] in SAMPLE_HEADLINES:
                titles[item["id"]] = item["title"]
    assert titles == SAMPLE_HEADLINES


def test_name_matching_in_this_test_is_whole_word() -> None:
    assert _mentions("putin", "Putin's envoy")
    assert not _mentions("putin", "the rise of Putinism")
    assert _mentions("ceasefire", "a cease fire now")


@pytest.mark.skipif(not SAMPLES_ITEMS.exists(), reason="sample items not available")
def test_every_english_sample_mention_is_covered() -> None:
    patterns = {k: re.compile(v) for k, v in MENTION_PATTERNS.items()}
    checked: Counter[str] = Counter()
    misses: list[tuple[str, str, str]] = []
    with SAMPLES_ITEMS.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if not str(item["language"]).lower().startswith("en"):
                continue
            text = " ".join(t for t in (item["title"], item["summary"]) if t)
            folded = _norm_text(re.sub(r"<[^>]+>", " ", text))
            for entity_id, pattern in patterns.items():
                if pattern.search(folded):
                    checked[entity_id] += 1
                    if not _name_regex(entity_id).search(folded):
                        misses.append((item["id"], entity_id, folded[:120]))
    assert misses == []
    assert set(checked) == set(MENTION_PATTERNS)
    assert checked["zelensky"] >= 100
