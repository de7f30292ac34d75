"""The rules engine: every construct of the query language, matched the way readers read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peacewatch.errors import QuerySyntaxError
from peacewatch.models import Article
from peacewatch.rules.engine import RuleEngine, TeamRuleSet, validate_query
from peacewatch.rules.entities import Entity, builtin_dictionary
from peacewatch.rules.explain import explain
from peacewatch.rules.rulefile import RuleSpec

WHEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def article(
    title: str, body: str = "", source: str = "example.org", lang: str | None = "en"
) -> Article:
    return Article(
        id="a1", title=title, link="https://example.org/a", published=WHEN, source=source,
        outlet=source, summary=body, lang=lang,
    )  # fmt: skip


def matches(query: str, art: Article, entities: tuple[Entity, ...] = ()) -> bool:
    engine = RuleEngine.compile([TeamRuleSet("t", [RuleSpec(id="r", query=query)], entities)])
    assert not engine.errors, engine.errors
    return bool(engine.match(art))


CASES = [
    # words: whole words, case-insensitive, Unicode case folding
    ("Witkoff", "WITKOFF arrives in Moscow", True),
    ("Putin", "Putinism is a doctrine", False),
    ("Witkoff", "the witkoffian approach", False),
    ("Putin", "Vladimir Putin said", True),
    ("straße", "STRASSE", True),
    # possessives, curly and straight
    ("Zelensky", "Zelensky's office said", True),
    ("Zelensky", "Zelensky’s office said", True),
    ("Zelensky", "Zelenskyʼs office said", True),
    # entity expansion: a bare name finds every spelling of the entity
    ("Zelensky", "Zelenskyy met Trump", True),
    ("Zelensky", "Зеленський заявив", True),
    ("Zelensky", "президент Зеленського", True),
    ("Witkoff", "Віткоффом у Маямі", True),
    ("Witkoff", "визит Уиткоффа в Москву", True),
    ("Putin", "встреча Путина и Трампа", True),
    ("Putin", "Путинцев сказал", False),
    ("Donbas", "на Донбасі тривають бої", True),
    ("Donbas", "the Donbass region", True),
    # phrases are literal, with curly quotes too
    ('"security guarantees"', "talks on security guarantees for Kyiv", True),
    ("“security guarantees”", "talks on security guarantees for Kyiv", True),
    ('"security guarantees"', "guarantees of security", False),
    ('"Zelensky"', "Zelenskyy met Trump", False),
    # hyphenated terms match with a hyphen or a space
    ('"28-point plan"', "the 28 point plan was leaked", True),
    ("28-point", "the 28-point plan", True),
    ('"28 point"', "the 28-point plan", True),
    # a term that ends in a full stop (an abbreviation) matches with or without it
    ("U.S.", "The U.S. envoy met Putin", True),
    ('"U.S."', "Talks with the U.S.", True),
    ("U.S.", "U.S.-Russia talks", True),
    ("U.S.", "US envoy", False),
    ('"Jr."', "Brian Cole Jr said", True),
    # prefixes
    ("negotiat*", "Negotiators met", True),
    ("negotiat*", "renegotiation", False),
    # boolean logic
    ("Witkoff AND Dmitriev", "Witkoff met Dmitriev", True),
    ("Witkoff AND Dmitriev", "Witkoff met Lavrov", False),
    ("Witkoff Dmitriev", "Witkoff met Dmitriev", True),
    ("Witkoff OR Dmitriev", "Dmitriev in Miami", True),
    ("Witkoff -opinion", "Opinion: Witkoff is wrong", False),
    ("Witkoff NOT opinion", "Witkoff in Moscow", True),
    ('Witkoff AND (Donbas OR "security guarantees")', "Witkoff on security guarantees", True),
    ('Witkoff AND (Donbas OR "security guarantees")', "Witkoff on sanctions", False),
    # NEAR, either order
    ("Zelensky NEAR/3 Putin", "Zelensky says Putin lies", True),
    ("Zelensky NEAR/3 Putin", "Putin said that Zelensky", True),
    ("Zelensky NEAR/1 Putin", "Zelensky says he will meet Putin", False),
    ("Zelensky NEAR/8 Putin", "Zelensky says he will meet Putin", True),
]


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_query_constructs(query: str, text: str, expected: bool) -> None:
    assert matches(query, article(text)) is expected


def test_fields() -> None:
    art = article("Dmitriev in Miami", "Witkoff met the Russian envoy", "reuters.com", "en")
    assert matches("title:Dmitriev", art)
    assert not matches("title:Witkoff", art)
    assert matches("Witkoff source:reuters.com", art)
    assert not matches("Witkoff source:bbc.com", art)
    assert matches(
        "source:reuters.com", art
    )  # a rule of fields alone is evaluated for every article
    assert matches("Witkoff lang:en", art)
    assert not matches("Witkoff lang:uk", art)
    assert matches("actor:dmitriev", article("Kirill Dmitriev said"))
    assert matches("place:donbas", article("фронт на Донбасі"))


def test_unknown_entity_is_an_error_with_column() -> None:
    with pytest.raises(QuerySyntaxError) as err:
        validate_query("Witkoff AND actor:witkof", builtin_dictionary())
    assert err.value.column == 13
    assert "unknown actor 'witkof'" in str(err.value) and "witkoff" in str(err.value)
    with pytest.raises(QuerySyntaxError):
        validate_query("place:witkoff", builtin_dictionary())  # an actor, not a place


def test_broken_rule_is_skipped_and_the_others_still_match() -> None:
    rules = [RuleSpec(id="bad", query="actor:nobody"), RuleSpec(id="good", query="Witkoff")]
    engine = RuleEngine.compile([TeamRuleSet("t", rules)])
    assert [e.rule_id for e in engine.errors] == ["bad"]
    assert [m.rule_id for m in engine.match(article("Witkoff"))] == ["good"]


def test_team_entities_apply_to_that_team_only() -> None:
    bevz = Entity("bevz", "actor", ("Oleksandr Bevz", "Bevz", "Бевз"))
    engine = RuleEngine.compile(
        [
            TeamRuleSet("a", [RuleSpec(id="r", query="actor:bevz")], (bevz,)),
            TeamRuleSet("b", [RuleSpec(id="r", query="Witkoff")]),
        ]
    )
    assert not engine.errors
    found = engine.match(article("Радник Бевза заявив", "Witkoff"))
    assert sorted((m.team_id, m.rule_id) for m in found) == [("a", "r"), ("b", "r")]
    # team b cannot name team a's entity
    engine_b = RuleEngine.compile([TeamRuleSet("b", [RuleSpec(id="r", query="actor:bevz")])])
    assert engine_b.errors


def test_adding_a_teams_rule_changes_only_that_teams_matches() -> None:
    art = article("Lavrov and Rubio spoke", "Witkoff")
    base = [TeamRuleSet("a", [RuleSpec(id="w", query="Witkoff")]),
            TeamRuleSet("b", [RuleSpec(id="w", query="Witkoff")])]  # fmt: skip
    before = {(m.team_id, m.rule_id) for m in RuleEngine.compile(base).match(art)}
    more = [TeamRuleSet("a", [*base[0].rules, RuleSpec(id="l", query="Lavrov")]), base[1]]
    after = {(m.team_id, m.rule_id) for m in RuleEngine.compile(more).match(art)}
    assert after - before == {("a", "l")}
    assert {k for k in after if k[0] == "b"} == {k for k in before if k[0] == "b"}


def test_match_reports_terms_positions_and_entities() -> None:
    art = article("Zelenskyy’s envoy meets Witkoff", "Talks on security guarantees in Miami.")
    engine = RuleEngine.compile(
        [TeamRuleSet("t", [RuleSpec(id="r", query='Zelensky AND "security guarantees"')])]
    )
    (m,) = engine.match(art)
    assert m.matched == ("Zelensky", "security guarantees")
    spans = {(h.field, h.text) for h in m.hits}
    assert ("title", "Zelenskyy") in spans
    assert ("body", "security guarantees") in spans
    for hit in m.hits:
        text = art.title if hit.field == "title" else art.body
        assert text[hit.start : hit.end] == hit.text
    assert {"zelensky", "witkoff", "security_guarantees"} <= set(m.entities)


def test_terms_under_not_are_not_reported_as_matched() -> None:
    engine = RuleEngine.compile([TeamRuleSet("t", [RuleSpec(id="r", query="Witkoff OR -Putin")])])
    (m,) = engine.match(article("Witkoff"))
    assert m.matched == ("Witkoff",)


ENGINE = RuleEngine.compile(
    [
        TeamRuleSet(
            "t",
            [
                RuleSpec(id="a", query='Witkoff AND (Donbas OR "security guarantees") -opinion'),
                RuleSpec(id="b", query="Zelensky NEAR/5 Putin"),
                RuleSpec(id="c", query="negotiat* OR title:Dmitriev OR source:bbc.com"),
            ],
        )
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.text(max_size=100))
def test_matching_never_fails_on_any_text(body: str, title: str) -> None:
    for m in ENGINE.match(article(title, body)):
        for hit in m.hits:
            text = title if hit.field == "title" else article(title, body).body
            assert text[hit.start : hit.end] == hit.text


def test_explain_says_why_term_by_term() -> None:
    art = article("Witkoff in Moscow", "Opinion pieces aside, talks on Donbas went on.")
    text = explain('Witkoff AND (Donbas OR "security guarantees") -opinion', art)
    assert text.startswith("does not match")
    assert "✓ Witkoff found: 'Witkoff' title word 1" in text
    assert '✗ "security guarantees" not found' in text
    assert "✓ Donbas found: 'Donbas' body word 6" in text
    assert "✗ NOT (must be absent)\n    ✓ opinion found: 'Opinion' body word 1" in text
    assert explain("Witkoff AND Donbas", art).startswith("MATCHES")


def test_explain_gives_the_distance_near_found() -> None:
    art = article(
        "Kremlin wants Donbas as a concession",
        "Crimea came up. " + "Other words here. " * 4 + "Crimea plan was read out.",
    )
    text = explain("(Donbas OR Crimea) NEAR/2 (talks OR plan OR concession*)", art)
    assert text.splitlines()[2:] == [
        "✓ NEAR/2: closest pair 1 word apart in the body (within 2): 'Crimea' body word 16 and"
        " 'plan' body word 17",
        "  ✓ OR (any of)",
        "    ✓ Donbas found: 'Donbas' title word 3",
        "    ✓ Crimea found: 'Crimea' body word 1; 'Crimea' body word 16",
        "  ✓ OR (any of)",
        "    ✗ talks not found",
        "    ✓ plan found: 'plan' body word 17",
        "    ✓ concession* found: 'concession' title word 6",
    ]
    far = explain("Kremlin NEAR/2 concession*", art)
    assert "✗ NEAR/2: closest pair 5 words apart in the title (more than 2):" in far
    assert "'Kremlin' title word 1 and 'concession' title word 6" in far
    apart = explain("Kremlin NEAR/2 plan", art)
    assert "✗ NEAR/2: no hit of one side in the same field as a hit of the other" in apart


def test_matches_stay_the_same_when_the_engine_reindexes_by_observed_frequency() -> None:
    rules = [
        RuleSpec(id="a", query="Trump AND Dmitriev"),
        RuleSpec(id="b", query='"security guarantees" AND (Witkoff OR Kushner)'),
        RuleSpec(id="c", query="Zelensky NEAR/6 Putin -opinion"),
        RuleSpec(id="d", query="talks AND negotiat* AND title:Geneva"),
    ]
    engine = RuleEngine.compile([TeamRuleSet("t", rules)])
    texts = [
        article("Trump says deal close", "Donald Trump spoke to reporters about talks."),
        article("Dmitriev in Miami", "Trump envoy Witkoff met Kirill Dmitriev."),
        article("Geneva talks", "Negotiators met for talks on security guarantees; Kushner too."),
        article("Zelensky rejects Putin demand", "Opinion aside, Zelensky said Putin lies."),
        article("Zelensky and Putin", "Zelensky says Putin must stop the war."),
    ]

    def answer() -> list[list[str]]:
        return [sorted(m.rule_id for m in engine.match(t)) for t in texts]

    first = answer()
    for _ in range(300):  # past the first re-indexing at 256 articles
        after = answer()
        assert after == first
    assert first == [[], ["a"], ["b", "d"], [], ["c"]]


def test_two_names_of_one_entity_are_reported_once() -> None:
    engine = RuleEngine.compile([TeamRuleSet("t", [RuleSpec(id="r", query="ceasefire OR truce")])])
    (m,) = engine.match(article("Ceasefire talks resume"))
    assert m.matched == ("ceasefire",)


def test_a_teams_own_entities_are_not_shown_to_other_teams() -> None:
    falcon = Entity("falcon", "topic", ("Project Falcon",))
    engine = RuleEngine.compile(
        [
            TeamRuleSet("a", [RuleSpec(id="r", query="Ukraine")], (falcon,)),
            TeamRuleSet("b", [RuleSpec(id="r", query="Ukraine")]),
        ]
    )
    found = {m.team_id: m.entities for m in engine.match(article("Project Falcon in Ukraine"))}
    assert "falcon" in found["a"]
    assert "falcon" not in found["b"]
