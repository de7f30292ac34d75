"""What an alert says: entity display names, matched words as written, outlets, severity."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from peacewatch.models import Alert, AlertKind, Article, Destination, Hit, Severity, SourceRef
from peacewatch.pipeline import severity as sev
from peacewatch.pipeline.render import alert_text, named_outlets, outlet_reports, outlets_line
from peacewatch.pipeline.wording import entity_names, matched_words, surface_words
from peacewatch.store.codec import alert_from_json, alert_to_json

START = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[1] / "README.md"
# (outlet name, domain) of real outlets of the sample exports, in the order they reported
OUTLETS = [
    ("Al Jazeera – Breaking News, World News and Video from Al Jazeera", "aljazeera.com"),
    ("BBC News", "bbc.com"),
    ("NBC News World News", "nbcnews.com"),
    ("The Moscow Times - Independent News From Russia", "themoscowtimes.com"),
    ("NYT > World News", "nytimes.com"),
    ("POLITICO", "politico.eu"),
    ("Le Monde.fr - Actualités et Infos en France et dans le monde", "lemonde.fr"),
    ("CBC | Top Stories News", "cbc.ca"),
    ("World news | The Guardian", "theguardian.com"),
]
NAMES = [
    "Al Jazeera", "BBC News", "NBC News", "The Moscow Times", "The New York Times",
    "POLITICO Europe", "Le Monde", "CBC News", "The Guardian",
]  # fmt: skip


def source(i: int, minutes: int | None = None) -> SourceRef:
    name, domain = OUTLETS[i]
    return SourceRef(
        outlet=name,
        source=domain,
        link=f"https://www.{domain}/story-{i}-{minutes or 0}",
        published=START + timedelta(minutes=minutes if minutes is not None else 30 * i),
        title=f"Report {i}",
    )


def make_alert(**changes: object) -> Alert:
    sources = tuple(source(i) for i in range(2))
    fields: dict[str, object] = {
        "alert_id": "a1",
        "team_id": "slack:T1",
        "rule_id": "guarantees",
        "story_id": "s1",
        "article_id": "art1",
        "destination": Destination("slack", "C1"),
        "headline": "Macron hosts Ukraine and allies to try to cement security guarantees",
        "summary": "The talks are held as Russia continues attacking Ukraine's energy sector.",
        "link": sources[0].link,
        "matched": ("topic:security_guarantees",),
        "entities": ("coalition_of_the_willing", "kyiv", "macron", "paris", "security_guarantees"),
        "sources": sources,
        "severity": Severity.LOW,
        "outlet_count": len(sources),
        "outlets": tuple(s.source for s in sources),
        "lang": "en",
    }
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


def story_of(count: int, **changes: object) -> Alert:
    """A follow-up by the ``count``-th outlet of a story (its article last, as queued)."""
    sources = tuple(source(i) for i in range(count))
    return make_alert(
        kind=AlertKind.FOLLOWUP,
        sources=sources,
        link=sources[-1].link,
        outlet_count=count,
        outlets=tuple(s.source for s in sources),
        **changes,
    )


# -- entities ---------------------------------------------------------------------------------


def test_entities_are_shown_by_display_name_in_the_alert_language() -> None:
    alert = make_alert()
    names = [(n.kind, n.name) for n in entity_names(alert)]
    assert names == [
        ("actor", "Coalition of the Willing"),
        ("actor", "Emmanuel Macron"),
        ("place", "Kyiv"),
        ("place", "Paris"),
        ("topic", "security guarantees"),
    ]
    text = alert_text(alert)
    assert "Actors: Coalition of the Willing, Emmanuel Macron" in text
    assert "Places: Kyiv, Paris" in text and "Topics: security guarantees" in text
    assert not re.search(r"\b(coalition_of_the_willing|security_guarantees|macron)\b", text)


def test_a_ukrainian_alert_names_entities_in_ukrainian_and_a_russian_one_in_russian() -> None:
    uk = [n.name for n in entity_names(make_alert(lang="uk", entities=("zelensky", "kyiv")))]
    ru = [n.name for n in entity_names(make_alert(lang="ru", entities=("zelensky", "kyiv")))]
    assert uk == ["Володимир Зеленський", "Київ"]
    assert ru == ["Владимир Зеленский", "Киев"]
    # no declared language: the headline's script decides
    guessed = make_alert(lang=None, headline="Зеленський прибув до Парижа", entities=("kyiv",))
    assert [n.name for n in entity_names(guessed)] == ["Київ"]


def test_an_entity_no_dictionary_knows_is_still_not_shown_as_an_id() -> None:
    alert = make_alert(entities=("andrii_hnatov_deputy",))
    assert [n.name for n in entity_names(alert)] == ["Andrii Hnatov Deputy"]


# -- matched words ----------------------------------------------------------------------------


def test_matched_words_are_the_words_the_article_wrote() -> None:
    # a real headline and standfirst (The Guardian, 2026-01-06), hits as the engine gives them
    title = "UK and France ‘ready to deploy troops’ to Ukraine after ceasefire"
    body = (
        "Trilateral declaration of intent signed after ‘coalition of the willing’ summit. "
        "The US envoy Steve Witkoff and Jared Kushner attended; Witkoff spoke for Ukrainians."
    )
    art = Article("g1", title, "https://www.theguardian.com/x", START, "theguardian.com",
                  summary=body)  # fmt: skip
    at = body.index("Steve Witkoff")
    hits = [
        Hit("Ukrain*", "body", body.index("Ukrainians"), body.index("Ukrainians") + 6, "Ukrain"),
        Hit("Witkoff", "body", at, at + 13, "Steve Witkoff"),
        Hit("Witkoff", "body", body.index("; Witkoff") + 2, body.index("; Witkoff") + 9, "Witkoff"),
        Hit("Ukrain*", "title", title.index("Ukraine"), title.index("Ukraine") + 6, "Ukrain"),
        Hit("troops", "title", title.index("troops"), title.index("troops") + 6, "troops"),
    ]
    # one word per term, title first in its order, a prefix widened to the whole word
    assert surface_words(hits, art) == ("troops", "Ukraine", "Steve Witkoff")
    assert surface_words(hits) == ("troops", "Ukrain", "Steve Witkoff")  # no text to widen in
    alert = make_alert(matched_words=("security guarantees", "Zelensky"))
    assert matched_words(alert) == ["security guarantees", "Zelensky"]


def test_without_recorded_words_they_are_found_in_the_alert_text() -> None:
    # the measured case: a Ukrainian query term under an English headline
    alert = make_alert(
        headline="Zelensky’s Assessment Darkens as Europeans Gather to Talk Peace",
        summary="Ukrainian allies discuss security guarantees for Kyiv.",
        matched=("Зеленський", "topic:security_guarantees", "peace", "Ukrain*", "topic:ceasefire"),
    )
    words = matched_words(alert)
    assert words == ["Zelensky", "security guarantees", "Peace", "Ukrainian", "ceasefire"]
    assert "topic:" not in alert_text(alert) and "Зеленський" not in alert_text(alert)


def test_a_cyrillic_term_in_a_ukrainian_text_is_shown_as_inflected_there() -> None:
    alert = make_alert(
        lang="uk", headline="Заява Зеленського про гарантії безпеки", matched=("Зеленський",)
    )
    assert matched_words(alert) == ["Зеленського"]


# -- outlets ----------------------------------------------------------------------------------


def test_outlets_are_named_not_listed_by_domain_or_feed_title() -> None:
    alert = story_of(3)
    assert outlets_line(alert) == "Reported by 3 outlets: Al Jazeera, BBC News and NBC News"
    assert "aljazeera.com" not in alert_text(alert)
    assert outlets_line(story_of(1)) == "Source: Al Jazeera"


def test_a_long_list_says_and_n_more_and_always_names_the_new_outlet() -> None:
    ninth = story_of(9)
    line = outlets_line(ninth)
    assert line == (
        "Reported by 9 outlets: Al Jazeera, BBC News, NBC News, The Moscow Times, "
        "The New York Times, POLITICO Europe, Le Monde, The Guardian and 1 more"
    )
    assert "The Guardian" in alert_text(ninth).splitlines()[0]  # "Follow-up from The Guardian"
    # outlets known only by domain (earlier articles not carried) are counted, and named
    # when the list has room
    more = dataclasses.replace(ninth, outlet_count=12, outlets=(*ninth.outlets, "dw.com"))
    assert named_outlets(more, limit=20).endswith("The Guardian, DW and 2 more")
    assert named_outlets(more).endswith("Le Monde, The Guardian and 4 more")


def test_an_outlets_updates_stay_together_in_time_order() -> None:
    later, first, other = source(1, minutes=300), source(1, minutes=10), source(0, minutes=60)
    alert = make_alert(sources=(later, other, first), outlets=("bbc.com", "aljazeera.com"))
    reports = outlet_reports(alert)
    assert [r.name for r in reports] == ["BBC News", "Al Jazeera"]
    assert [s.published for s in reports[0].reports] == [first.published, later.published]
    update = make_alert(
        kind=AlertKind.FOLLOWUP, sources=(first, other, later), link=later.link, outlet_count=2
    )
    assert alert_text(update).splitlines()[0].startswith("· Follow-up · update from BBC News: ")


# -- severity ---------------------------------------------------------------------------------


def test_the_outlet_thresholds_are_the_ones_the_readme_documents() -> None:
    row = next(
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if "outlets carrying" in line
    )
    some, many = (int(n) for n in re.findall(r"(\d+) or more", row))
    assert (some, many) == (sev.SOME_OUTLETS, sev.MANY_OUTLETS)
    assert "+1 / +2" in row


def test_outlet_points_at_each_boundary() -> None:
    assert [sev.outlet_points(n) for n in range(1, 9)] == [0, 0, 1, 1, 1, 2, 2, 2]
    plain = Article("x", "Allies meet in Paris", "https://x.example/", START, "x.example")
    assert [sev.severity_of(plain, n).value for n in (1, 2, 3, 5, 6, 7)] == [
        "low", "low", "normal", "normal", "normal", "normal",
    ]  # fmt: skip
    decided = dataclasses.replace(plain, summary="The ceasefire was agreed overnight.")
    assert [sev.severity_of(decided, n).value for n in (2, 3, 5, 6)] == [
        "normal", "normal", "normal", "high",
    ]  # fmt: skip
    official = dataclasses.replace(plain, title="Ceasefire signed", source="en.kremlin.ru")
    assert sev.severity_of(official, 1) is Severity.HIGH
    assert sev.severity_of(plain, 1, floor=Severity.HIGH) is Severity.HIGH


def test_a_root_is_shown_at_the_severity_of_its_present_outlet_count() -> None:
    root = make_alert(severity=Severity.LOW, outlet_count=1)
    assert sev.current_severity(root) is Severity.LOW
    grown = dataclasses.replace(root, outlet_count=5)  # as the sinks edit it
    assert sev.current_severity(grown) is Severity.NORMAL
    assert alert_text(grown).startswith("• [NORMAL]")
    # the text's own points count too, and a level shown before is never lowered
    decided = dataclasses.replace(grown, summary="A truce was agreed.", outlet_count=6)
    assert sev.current_severity(decided) is Severity.HIGH
    floor = dataclasses.replace(root, severity=Severity.HIGH)
    assert sev.current_severity(floor) is Severity.HIGH


def test_matched_words_are_stored_and_older_stored_alerts_still_read() -> None:
    alert = make_alert(matched_words=("security guarantees",), created=START)
    assert alert_from_json(alert_to_json(alert)) == alert
    older = json.loads(alert_to_json(alert))
    del older["matched_words"]  # JSON kept by a version before the field
    assert alert_from_json(json.dumps(older)).matched_words == ()
