"""What the story index keeps of each article is shared, not copied per article."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from peacewatch.models import Article
from peacewatch.stories.features import Kept, entity_engine
from peacewatch.stories.memory import WindowIndex, index_tokens
from peacewatch.stories.records import Member


def _article(aid: str, source: str, lang: str) -> Article:
    # Fresh string objects, as a parsed feed item carries them.
    return Article(
        aid,
        "Putin and Zelensky talks in Geneva over 20-point peace plan",
        f"https://{source}/{aid}",
        datetime(2026, 1, 7, 12, tzinfo=UTC),
        "".join(json.loads(json.dumps(list(source)))),
        summary="Negotiators met for talks on the plan.",
        lang="".join(json.loads(json.dumps(list(lang)))),
    )


def test_articles_share_their_token_outlet_and_language_strings() -> None:
    engine = entity_engine({"Putin": "putin", "Zelensky": "zelensky"})
    index = WindowIndex(entities=engine)
    _, one = index.place(_article("a1", "example.com", "EN"))
    _, two = index.place(_article("a2", "example.com", "EN"))
    assert one is not None and two is not None
    assert "e:putin" in one.features.tokens
    by_text = {t: t for t in one.features.tokens}
    assert all(by_text[t] is t for t in two.features.tokens)
    assert one.features.lang is two.features.lang
    assert one.outlet is two.outlet
    assert one.features.outlet is two.features.outlet
    assert index.outlet_of["a1"] is index.outlet_of["a2"]


def test_a_member_read_back_shares_the_strings_of_live_features() -> None:
    _, live = WindowIndex().place(_article("a1", "example.com", "en"))
    assert live is not None
    stored = Member.from_json(live.story_id, live.to_json())
    assert stored == live
    by_text = {t: t for t in live.features.tokens}
    assert all(by_text[t] is t for t in stored.features.tokens)
    assert all(by_text[t] is t for t in stored.features.title_tokens)
    assert stored.features.lang is live.features.lang
    assert stored.outlet is live.outlet


def test_a_story_keeps_its_members_tokens_as_tuples_and_decides_as_with_sets() -> None:
    engine = entity_engine({"Putin": "putin", "Zelensky": "zelensky"})
    index = WindowIndex(entities=engine)
    _, first = index.place(_article("a1", "example.com", "en"))
    assignment, _ = index.place(_article("a2", "example.org", "en"))
    assert first is not None
    story = index.stories[first.story_id]
    assert assignment.story_id == first.story_id  # the same report joins the kept member
    kept = story.members[0]
    assert isinstance(kept, Kept)
    assert type(kept.tokens) is tuple and type(kept.title_tokens) is tuple
    assert sorted(kept.tokens) == sorted(first.features.tokens)
    assert kept.tokens == index_tokens(first.features)  # the token index's tuple, shared
    assert sorted(kept.title_tokens) == sorted(first.features.title_tokens)
    # the tuple is a fraction of the set it stands for (the window holds one per article)
    assert sys.getsizeof(kept.tokens) * 3 < sys.getsizeof(first.features.tokens)
    assert kept.features() == first.features
    assert story.by_time == story.members
    # the tokens stay the strings the live features share
    by_text = {t: t for t in first.features.tokens}
    assert all(by_text[t] is t for t in kept.tokens)
