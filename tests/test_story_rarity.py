"""The background prior of a token: the corpus's share, or one shared prior for unknown tokens."""

from __future__ import annotations

import math

from peacewatch.stories.rarity import (
    IDF_CAP,
    PRIOR_WEIGHT,
    UNSEEN_SHARE,
    Background,
    idf_table,
)


def test_priors_follow_the_corpus_and_unknown_tokens_share_one_without_being_remembered() -> None:
    background = Background(99, {"s:talk": 49, "s:peace": 9})
    assert background.prior("s:talk") == PRIOR_WEIGHT * (49 + UNSEEN_SHARE) / 100
    assert background.prior("s:never") == PRIOR_WEIGHT * UNSEEN_SHARE / 100
    tokens = [f"s:new{i}" for i in range(1000)]
    table = idf_table(["s:talk", *tokens], {"s:talk": 3}, 40, background)
    window = 40 + PRIOR_WEIGHT
    assert table["s:talk"] == -math.log((3 + PRIOR_WEIGHT * 49.5 / 100) / window)
    assert table["s:new7"] == min(IDF_CAP, -math.log(PRIOR_WEIGHT * UNSEEN_SHARE / 100 / window))
    # a long run meets new words without end: none of them is kept by the background
    assert len(background._priors) == 2


def test_an_empty_background_gives_every_token_the_same_prior() -> None:
    empty = Background(0, {"s:talk": 5})
    assert empty.prior("s:talk") == empty.prior("s:other") == PRIOR_WEIGHT * 0.01
