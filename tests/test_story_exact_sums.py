"""A decision's scores do not depend on the order a token set happens to iterate in: the same
member read back from Redis, rebuilt from its compact record or read by another process (other
string hashing) iterates its tokens in another order, and must score bit for bit the same."""

from __future__ import annotations

import random

from peacewatch.stories.features import Features
from peacewatch.stories.signals import member_score, probe_of, story_lexical


def feats(article_id: str, words: list[str], head: int) -> Features:
    return Features(
        article_id=article_id,
        published=1_767_700_000.0,
        title=" ".join(words[:head]),
        summary="",
        title_tokens=frozenset(words[:head]),
        tokens=frozenset(words),
        lang="en",
        outlet=f"{article_id}.example",
    )


def reordered(f: Features, rng: random.Random) -> Features:
    """``f`` with its token sets built in another order of insertion (same sets)."""
    tokens = list(f.tokens)
    for _ in range(50):  # bounded: some order of insertion iterates differently
        rng.shuffle(tokens)
        again = frozenset(tokens)
        if tuple(again) != tuple(f.tokens):
            break
    title = [t for t in tokens if t in f.title_tokens]
    return Features(f.article_id, f.published, f.title, f.summary, frozenset(title), again,
                    f.lang, f.outlet)  # fmt: skip


def test_scores_are_the_same_whatever_order_the_tokens_iterate_in() -> None:
    rng = random.Random(7)
    vocabulary = [f"s:w{n}" for n in range(400)] + [f"e:actor{n}" for n in range(30)]
    idf = {t: rng.uniform(0.05, 9.0) * 10 ** rng.randint(-3, 2) for t in vocabulary}
    differed = 0
    for case in range(60):
        shared = rng.sample(vocabulary, 25)
        article = feats("a", shared + rng.sample(vocabulary, 35), head=10)
        member = feats("m", shared + rng.sample(vocabulary, 40), head=12)
        other = feats("o", rng.sample(vocabulary, 50), head=8)
        article2, member2 = reordered(article, rng), reordered(member, rng)
        assert article2.tokens == article.tokens and member2.tokens == member.tokens
        differed += tuple(member2.tokens) != tuple(member.tokens)
        one, two = probe_of(article, idf), probe_of(article2, idf)
        assert (one.weight, one.title_rarity, one.entity_weight) == (
            two.weight, two.title_rarity, two.entity_weight,
        )  # fmt: skip
        score = member_score(one, member, idf)
        assert score > 0
        assert member_score(one, member2, idf) == score, case
        assert member_score(two, member, idf) == score, case
        lexical = story_lexical(one, [member, other], idf)
        assert story_lexical(two, [member2, other], idf) == lexical, case
        assert story_lexical(one, [other, member2], idf) == lexical, case
    assert differed > 30  # the orders really differed
