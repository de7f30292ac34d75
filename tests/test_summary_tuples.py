"""A summariser asked again for the very tuple of hits it has seen (the matches of one term
share it) answers what it answered, and what ``summarise`` says, whatever the limits asked."""

from __future__ import annotations

from datetime import UTC, datetime

from peacewatch.models import Article, Hit
from peacewatch.pipeline.summarise import ArticleSummariser, summarise

BODY = (
    "Talks on a ceasefire resumed in Geneva on Monday. The envoy met both delegations. "
    "Officials said the ceasefire could start within a week if both sides agree. "
    "Markets rose on the news. A second round is planned for Friday in Geneva."
)


def _article() -> Article:
    return Article(
        id="a", title="Ceasefire talks resume", link="https://example.org/a",
        published=datetime(2026, 1, 6, tzinfo=UTC), source="example.org",
        outlet="example.org", summary=BODY, lang="en",
    )  # fmt: skip


def _hits(word: str) -> tuple[Hit, ...]:
    out = []
    at = BODY.find(word)
    while at >= 0:
        out.append(Hit(word, "body", at, at + len(word), word))
        at = BODY.find(word, at + 1)
    return tuple(out)


def test_the_same_tuple_of_hits_gives_the_summary_of_its_hits_and_limits() -> None:
    article = _article()
    summariser = ArticleSummariser(article)
    geneva, markets = _hits("Geneva"), _hits("Markets")
    for hits in (geneva, markets, geneva, markets):
        assert summariser.summary(hits) == summarise(article, hits)
        for limits in ((1, 80), (2, 600), (1, 80)):
            assert summariser.summary(hits, *limits) == summarise(article, hits, *limits)
    assert summariser.summary(geneva, 1, 80) != summariser.summary(markets, 1, 80)
    # the tuple asked for last is held by its own id with the limits it was asked for
    held, *limits, found = summariser._by_tuple[id(markets)]
    assert held is markets and limits == [1, 80] and found == summarise(article, markets, 1, 80)
    # a list of the same hits is the same summary
    assert summariser.summary(list(geneva)) == summarise(article, geneva)
