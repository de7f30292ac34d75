"""Matches work out their fired terms and hits when first read, and are plain values."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime

from peacewatch.models import Article, Hit, Match
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import RuleSpec

WHEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
ARTICLE = Article(
    id="a1", title="Witkoff in Moscow", link="https://example.org/a", published=WHEN,
    source="example.org", outlet="example.org",
    summary="Talks on a ceasefire. Witkoff met the envoy; a truce was not agreed.", lang="en",
)  # fmt: skip


def engine(*queries: str) -> RuleEngine:
    rules = [RuleSpec(id=f"r{i}", query=q) for i, q in enumerate(queries)]
    built = RuleEngine.compile([TeamRuleSet("t", rules)])
    assert not built.errors, built.errors
    return built


def test_hits_and_terms_are_the_ones_that_fired() -> None:
    (found,) = engine("Witkoff AND (ceasefire OR Moscow) AND NOT Paris").match(ARTICLE)
    assert found.matched == ("Witkoff", "ceasefire", "Moscow")
    places = [(h.term, h.field, h.text) for h in found.hits]
    assert places == [
        ("Witkoff", "title", "Witkoff"),
        ("Witkoff", "body", "Witkoff"),
        ("ceasefire", "body", "ceasefire"),
        ("ceasefire", "body", "truce"),  # another name of the same entity
        ("Moscow", "title", "Moscow"),
    ]
    body = ARTICLE.body
    for hit in found.hits:
        text = ARTICLE.title if hit.field == "title" else body
        assert text[hit.start : hit.end] == hit.text


def test_near_reports_only_the_near_hits() -> None:
    (found,) = engine("Witkoff NEAR/3 envoy").match(ARTICLE)
    assert [(h.term, h.field) for h in found.hits] == [("Witkoff", "body"), ("envoy", "body")]


def test_a_match_equals_and_hashes_as_the_plain_match_of_its_values() -> None:
    found = engine("Witkoff").match(ARTICLE)[0]
    plain = Match(
        team_id="t", rule_id="r0", article_id="a1", matched=("Witkoff",),
        hits=(Hit("Witkoff", "title", 0, 7, "Witkoff"), Hit("Witkoff", "body", 22, 29, "Witkoff")),
        entities=found.entities,
    )  # fmt: skip
    assert found == plain and plain == found
    assert hash(found) == hash(plain)
    assert {found, plain} == {plain}
    assert repr(found) == repr(plain)
    assert found != dataclasses.replace(plain, rule_id="other")


def test_a_match_pickles_and_copies_as_a_plain_match() -> None:
    for found in (engine("Witkoff").match(ARTICLE)[0], engine("truce").match(ARTICLE)[0]):
        for other in (pickle.loads(pickle.dumps(found)), copy.copy(found), copy.deepcopy(found)):
            assert type(other) is Match
            assert other == found
            assert other.hits and other.matched == found.matched


def test_replace_and_asdict_see_every_value() -> None:
    found = engine("Witkoff AND truce").match(ARTICLE)[0]
    changed = dataclasses.replace(found, rule_id="x")
    assert changed.hits == found.hits and changed.matched == ("Witkoff", "truce")
    assert dataclasses.asdict(found)["matched"] == ("Witkoff", "truce")


def test_values_are_the_same_whichever_is_read_first() -> None:
    """Team, rule, article and entities are read from the rule and the article when first
    asked for, as the terms and hits are: the order of reading changes nothing."""
    matcher = engine("Witkoff", "Witkoff NEAR/3 envoy", "Moscow -Paris")
    first = matcher.match(ARTICLE)
    plain = [
        Match(m.team_id, m.rule_id, m.article_id, m.matched, m.hits, m.entities) for m in first
    ]
    assert [(m.rule_id, m.article_id) for m in plain] == [("r0", "a1"), ("r1", "a1"), ("r2", "a1")]
    by_hits = matcher.match(ARTICLE)
    assert [m.hits for m in by_hits] == [m.hits for m in plain]
    assert [(m.team_id, m.rule_id, m.entities) for m in by_hits] == [
        (m.team_id, m.rule_id, m.entities) for m in plain
    ]
    unread = matcher.match(ARTICLE)
    assert [pickle.loads(pickle.dumps(m)) for m in unread] == plain
    assert all("ceasefire" in m.entities for m in plain)
