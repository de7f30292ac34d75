"""A story keeps its members' tokens compact, and reads them back as the same features."""

from __future__ import annotations

import gc
import json
from pathlib import Path

from peacewatch.app import entity_names
from peacewatch.cli.articles_io import parse_time
from peacewatch.models import Article
from peacewatch.stories.features import Features, entity_engine, features
from peacewatch.stories.memory import WindowIndex
from peacewatch.stories.records import Materialized, Story


def _reports() -> list[Article]:
    path = Path(__file__).parent / "data" / "paris_merge.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        out.append(
            Article(item["id"], item["title"], item["link"], parse_time(item["published"]),
                    item["source"], summary=item["summary"], lang=item["lang"])
        )  # fmt: skip
    return out


def _holds(story: Story, value: object) -> bool:
    """Whether ``story`` refers to ``value`` (directly or through its lists and tuples)."""
    seen: set[int] = set()
    todo: list[object] = [getattr(story, name) for name in Story.__slots__]
    while todo:
        item = todo.pop()
        if item is value:
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, list | tuple):
            todo.extend(item)
        elif isinstance(item, Features):
            todo.extend((item.title_tokens, item.tokens))
    return False


def test_a_story_read_last_long_ago_keeps_no_token_set_and_reads_back_equal_features() -> None:
    reports = _reports()
    engine = entity_engine(entity_names())
    one, two = (features(a, engine) for a in reports[:2])
    held = Materialized(size=1)
    first, second = Story("s1", one.article_id, held), Story("s2", two.article_id, held)
    first.keep(one)
    assert _holds(first, one.tokens)  # the newest story is held as features
    second.keep(two)  # and pushes the first one out
    gc.collect()
    assert not _holds(first, one.tokens)
    assert not _holds(first, one)
    again = first.members
    assert again == [one] and again[0] is not one
    assert first.members_since(one.published) == [one]
    assert first.members_since(one.published + 1) == []


def test_members_keep_their_order_by_placing_and_by_time() -> None:
    reports = _reports()
    engine = entity_engine(entity_names())
    feats = [features(a, engine) for a in reports]
    held = Materialized(size=1)
    story, other = Story("s", feats[0].article_id, held), Story("o", "x", held)
    for f in reversed(feats):
        story.keep(f)
        other.keep(f)  # each keep of the other story drops this one's features
    assert story.members == list(reversed(feats))
    assert story.by_time == sorted(reversed(feats), key=lambda f: f.published)
    story.members = []
    assert story.members == [] and story.by_time == []


def test_headline_tokens_outside_the_tokens_are_kept_as_they_are() -> None:
    odd = Features("a", 1.0, "t", "s", frozenset({"s:head"}), frozenset({"s:body"}))
    held = Materialized(size=1)
    story = Story("s", "a", held)
    story.keep(odd)
    Story("o", "b", held).keep(odd)
    assert story.members == [odd]


def test_decisions_are_the_same_whether_members_are_held_or_rebuilt() -> None:
    reports = _reports()
    engine = entity_engine(entity_names())
    held, rebuilt = WindowIndex(entities=engine), WindowIndex(entities=engine)
    rebuilt._materialized.size = 1
    for article in reports:
        assert held.place(article)[0] == rebuilt.place(article)[0]
    assert held.placed == rebuilt.placed
