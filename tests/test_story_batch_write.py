"""What one batch of the story assigner leaves in Redis: every placed article's record and its
history index entries (each token's sorted set holds the article at its publication time), and
how retrieval ranks candidate articles tied at the cut."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.articles import ArticleStore
from peacewatch.store.codec import article_to_json
from peacewatch.store.historytokens import tokens_of
from peacewatch.store.ingest import IngestStream
from peacewatch.stories.assigner import Placed, StoryAssigner
from peacewatch.stories.memory import WindowIndex
from peacewatch.stories.retrieval import MAX_CANDIDATES, MAX_STORIES, _stories_of
from tests.faults.samples_stream import day_articles
from tests.helpers import samples_dir


@pytest.mark.skipif(not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports")
async def test_a_batch_stores_each_article_and_its_history_postings(
    redis_client: aioredis.Redis,
) -> None:
    articles = day_articles("2026-01-06", limit=300)

    async def handler(batch: Sequence[Placed]) -> None:
        return None

    stream = IngestStream(redis_client)
    assigner = StoryAssigner(
        redis_client, stream, ArticleStore(redis_client), handler, WindowIndex, batch=120
    )
    await stream.submit([(a, False) for a in articles])
    assert await assigner.drain() == len(articles)

    expected: dict[str, dict[str, float]] = {}
    for article in articles:
        assert await redis_client.get(keys.article(article.id)) == article_to_json(article)
        for token in tokens_of(article):
            expected.setdefault(token, {})[article.id] = article.published.timestamp()
    # Every token set holds exactly the articles that carry the token, at their times.
    for token, members in expected.items():
        stored = await redis_client.zrange(keys.history_token(token), 0, -1, withscores=True)
        assert dict(stored) == members, token
    vocab = await redis_client.zrange(keys.history_vocab(), 0, -1)
    assert set(vocab) == set(expected)


def test_articles_tied_at_the_cut_take_the_last_places_by_story_id() -> None:
    # Two articles weigh more than the rest; the other places of MAX_CANDIDATES go to the
    # articles of exactly the cut's weight with the smallest story ids (then article ids).
    evidence = {0: 5.0, 1: 4.0} | {n: 1.0 for n in range(2, 2 + 3 * MAX_CANDIDATES)}
    evidence |= {n: 0.5 for n in range(500, 520)}
    stories = {0: ("s-b", "a0"), 1: ("s-a", "a1")}
    for n in range(2, 2 + 3 * MAX_CANDIDATES):
        stories[n] = (f"t-{(1000 - n) // 2:04d}", f"a{n}")  # two articles a story
    for n in range(500, 520):
        stories[n] = (f"a-{n}", f"a{n}")  # lighter: never ranked, however small their ids
    story_of = {n: story for n, (story, _) in stories.items()}
    ranked = _stories_of(*_postings(evidence), story_of)
    tied = sorted({stories[n][0] for n in range(2, 2 + 3 * MAX_CANDIDATES)})
    assert ranked == ["s-b", "s-a", *tied[: MAX_STORIES - 2]]
    # fewer articles than places: every one ranked, by weight, then story id
    few = {n: evidence[n] for n in (0, 1, 2, 3, 500)}
    assert _stories_of(*_postings(few), story_of) == [
        "s-b",
        "s-a",
        *sorted({stories[2][0], stories[3][0]}),
        "a-500",
    ]


def test_an_article_weighs_the_sum_of_the_tokens_that_find_it() -> None:
    # Three tokens: article 7 is found by the two light ones, whose sum outweighs the heavy
    # token that alone finds article 3; article 9 is found by one light token only.
    found = [[3], [7, 9], [7]]
    ranked = _stories_of(found, [2.5, 1.5, 1.25], {3: "s-3", 7: "s-7", 9: "s-9"})
    assert ranked == ["s-7", "s-3", "s-9"]


def _postings(evidence: dict[int, float]) -> tuple[list[list[int]], list[float]]:
    """Per distinct weight of ``evidence``, the articles of that weight: token postings that
    give each article its weight."""
    by_weight: dict[float, list[int]] = {}
    for number, weight in evidence.items():
        by_weight.setdefault(weight, []).append(number)
    return list(by_weight.values()), list(by_weight)
