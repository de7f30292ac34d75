"""The history index answers exactly what the rule language means, over stored articles."""

# ruff: noqa: E501 - the sample items are kept verbatim, one per line

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from peacewatch.cli.articles_io import article_from_dict
from peacewatch.errors import QuerySyntaxError
from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.store.articles import ArticleStore
from peacewatch.store.history import HistoryIndex
from peacewatch.store.historytokens import tokens_of, word_tokens

# Verbatim items of /work/shared/samples/items.jsonl (real news, not edited).
SAMPLE_LINES = [
    '{"id": "c351da47352424a3", "title": "Russia-U.S. Talks ‘Went Well,’ Kremlin Aide Says, But No Plans Yet for Trump-Putin Meeting", "summary": "Middle East envoy Steve Witkoff echoed the cautious optimism of Russian delegates, calling the meeting “positive, upbeat, constructive.”", "link": "https://www.themoscowtimes.com/2025/02/18/russia-us-talks-went-well-kremlin-aide-says-but-no-plans-yet-for-trump-putin-meeting-a88061", "published": "2025-02-18T14:41:31+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "a1bf47bbe345e7c6", "title": "Trump Envoy Witkoff Plans Second Meeting With Putin – Reports", "summary": "Steve Witkoff’s trip to Moscow is allegedly timed to coincide with U.S.-Ukrainian talks in Saudi Arabia on Tuesday, Bloomberg reported.", "link": "https://www.themoscowtimes.com/2025/03/11/trump-envoy-witkoff-plans-second-meeting-with-putin-reports-a88314", "published": "2025-03-11T10:13:00+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "5e0590615fb0810c", "title": "Trump Envoy Arrives in Moscow Just Ahead of Ukraine Peace Deadline", "summary": "Kremlin special representative Kirill Dmitriev met U.S. envoy Steve Witkoff after he arrived in the Russian capital on Wednesday.", "link": "https://www.themoscowtimes.com/2025/08/06/trump-envoy-arrives-in-moscow-just-ahead-of-ukraine-peace-deadline-a90106", "published": "2025-08-06T08:23:09+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "82d38c5746a3d5bd", "title": "Trump Envoy Meets With Putin in Moscow Just Ahead of Ukraine Peace Deadline", "summary": "Steve Witkoff’s latest trip to Russia comes after Trump gave Moscow until Friday to halt its ongoing war or face a new round of sanctions.", "link": "https://www.themoscowtimes.com/2025/08/06/trump-envoy-meets-with-putin-in-moscow-just-ahead-of-ukraine-peace-deadline-a90106", "published": "2025-08-06T10:46:22+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "ec2a2cd391cf4758", "title": "Russia’s Lavrov Says He’s Unaware of Reported ‘3-Stage’ Ukraine Peace Plan", "summary": "Fox News reported that Russian and U.S. officials proposed a “three-stage peace plan” involving a ceasefire in Ukraine, elections and a final peace deal.", "link": "https://www.themoscowtimes.com/2025/02/18/russias-lavrov-says-hes-unaware-of-reported-3-stage-ukraine-peace-plan-a88064", "published": "2025-02-18T16:51:30+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "64d2d200daaab1e2", "title": "Russia Will Send ‘Clear’ Message to U.S. at Alaska Summit, FM Lavrov Says", "summary": "“What we do know is that we have clear arguments to contribute to the discussion, and our position is well defined. We will present it accordingly,” Lavrov said.", "link": "https://www.themoscowtimes.com/2025/08/15/russia-will-send-clear-message-to-us-at-alaska-summit-fm-lavrov-says-a90231", "published": "2025-08-15T10:44:08+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "ad7e5c7716d98cf0", "title": "Trump and European Leaders Back Security Guarantees for Ukraine in White House Talks", "summary": "Trump said he would call Putin immediately after Monday’s talks, adding that he wants to hold a trilateral summit with Russia and Ukraine.", "link": "https://www.themoscowtimes.com/2025/08/18/trump-and-european-leaders-back-security-guarantees-for-ukraine-in-white-house-talks-a90273", "published": "2025-08-18T20:31:30+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "5008ee6474022455", "title": "Trump Says Plans Underway for Putin-Zelensky Meeting Following White House Talks", "summary": "European leaders rallied behind Trump earlier in the day as he said Ukraine might receive security guarantees as part of a potential peace deal with Russia", "link": "https://www.themoscowtimes.com/2025/08/19/trump-says-plans-underway-for-putin-zelensky-meeting-following-white-house-talks-a90273", "published": "2025-08-18T23:46:40+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "9a6fb84c0b6b4569", "title": "Trump Backing Putin\'s Ukraine Land Plan – AFP Source, Reports", "summary": "Putin reportedly proposed to to freeze the front line in two regions which Moscow partially controls in exchange for Ukraine\'s withdrawal from the Donbas.", "link": "https://www.themoscowtimes.com/2025/08/16/trump-backing-putins-ukraine-land-plan-afp-source-reports-a90253", "published": "2025-08-16T19:13:49+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
    '{"id": "e4fd96349ca86500", "title": "Ukrainians in war-ravaged Donbas weigh prospects of peace deal", "summary": "While many Ukrainians believe they have sacrificed too much for their country to lose territory to Russia, others are desperate for the war to end.", "link": "https://www.bbc.com/news/articles/cpq47derx2vo", "published": "2025-12-02T17:00:23+00:00", "source_outlet": "BBC News", "language": "en-gb"}',
    '{"id": "85b4d37a8c370163", "title": "U.S.-Russia Talks Begin in Saudi Arabia", "summary": "Russian Direct Investment Fund CEO Kirill Dmitriev, one of the negotiators, said progress in the talks could emerge within two to three months.", "link": "https://www.themoscowtimes.com/2025/02/18/us-russia-talks-begin-in-saudi-arabia-a88055", "published": "2025-02-18T09:16:18+00:00", "source_outlet": "The Moscow Times", "language": "en-us"}',
]

NOW = datetime(2025, 12, 10, tzinfo=UTC)
ALL_TIME = NOW - timedelta(days=365)


def sample_articles() -> list[Article]:
    return [article_from_dict(json.loads(line)) for line in SAMPLE_LINES]


async def store_samples(redis: aioredis.Redis, history: HistoryIndex) -> list[Article]:
    store = ArticleStore(redis)
    articles = sample_articles()
    for article in articles:
        await store.save(article)
        await history.index(article)
    return articles


@pytest.fixture
async def history(redis_client: aioredis.Redis) -> HistoryIndex:
    index = HistoryIndex(redis_client, retention=timedelta(days=365), clock=lambda: NOW)
    await store_samples(redis_client, index)
    return index


QUERIES = [
    "Witkoff",
    'Witkoff AND (Donbas OR "security guarantees")',
    "Lavrov OR Dmitriev",
    "Zelensky",
    "peace*",
    "guarant*",
    "Putin NEAR/5 Trump",
    "title:Witkoff",
    "Witkoff -Dmitriev",
    "source:themoscowtimes.com",
    "source:moscowtimes",
    "lang:en Lavrov",
    "actor:lavrov",
    '"Alaska Summit"',
    "Путин",
    "Ukraine OR -Russia",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_index_answers_exactly_what_a_full_scan_answers(
    history: HistoryIndex, query: str
) -> None:
    indexed = await history.search(query, ALL_TIME, keep=50)
    scanned = await history.scan(query, ALL_TIME, keep=50)
    assert indexed.hits == scanned.hits
    assert [f.article.id for f in indexed.found] == [f.article.id for f in scanned.found]


async def test_results_are_newest_first_with_the_terms_that_fired(history: HistoryIndex) -> None:
    result = await history.search("Witkoff", ALL_TIME, keep=10)
    expected = {a.id for a in sample_articles() if "Witkoff" in a.title + " " + a.body}
    assert {a for a, _ in result.hits} == expected
    assert len(expected) >= 3
    times = [t for _, t in result.hits]
    assert times == sorted(times, reverse=True)
    assert all("Witkoff" in f.article.title + f.article.body for f in result.found)
    assert all(f.match.matched == ("Witkoff",) for f in result.found)


async def test_the_index_narrows_candidates(history: HistoryIndex) -> None:
    narrow = await history.search('Witkoff AND "security guarantees"', ALL_TIME)
    everything = await history.scan('Witkoff AND "security guarantees"', ALL_TIME)
    assert narrow.candidates < 3 < everything.candidates == len(SAMPLE_LINES)


async def test_entity_names_and_prefixes_find_their_forms(history: HistoryIndex) -> None:
    # "Zelensky" is a dictionary actor: the query finds every spelling the dictionary lists.
    zelensky = await history.search("Zelensky", ALL_TIME, keep=10)
    assert zelensky.total >= 1
    assert any("Zelensky" in f.article.title for f in zelensky.found)
    prefix = await history.search("guarant*", ALL_TIME, keep=10)
    assert {f.article.id for f in prefix.found} >= {
        a.id for a in sample_articles() if "uarantee" in a.title + a.summary
    }


async def test_time_range_limits_results(history: HistoryIndex) -> None:
    all_witkoff = await history.search("Witkoff", ALL_TIME)
    since_august = await history.search("Witkoff", datetime(2025, 8, 1, tzinfo=UTC))
    until_march = await history.search("Witkoff", ALL_TIME, until=datetime(2025, 3, 31, tzinfo=UTC))
    assert since_august.total + until_march.total == all_witkoff.total
    august = datetime(2025, 8, 1, tzinfo=UTC)
    assert since_august.total == len(
        [a for a in sample_articles() if a.published >= august and "Witkoff" in a.body]
    )
    assert 0 < since_august.total < all_witkoff.total


async def test_a_bad_query_raises_with_its_column(history: HistoryIndex) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        await history.search("Witkoff AND (Donbas OR", ALL_TIME)
    assert caught.value.column > 1


async def test_team_entities_extend_the_search(history: HistoryIndex) -> None:
    from peacewatch.rules.entities import Entity

    envoy = Entity("envoy", "actor", ("Steve Witkoff", "Kirill Dmitriev"))
    result = await history.search("actor:envoy", ALL_TIME, entities=[envoy])
    expected = {
        a.id
        for a in sample_articles()
        if "Steve Witkoff" in a.title + " " + a.body or "Kirill Dmitriev" in a.title + " " + a.body
    }
    assert {a for a, _ in result.hits} == expected
    assert len(expected) >= 2
    with pytest.raises(QuerySyntaxError):
        await history.search("actor:envoy", ALL_TIME)  # another team does not have it


async def test_prune_drops_what_is_older_than_the_retention(
    redis_client: aioredis.Redis,
) -> None:
    index = HistoryIndex(redis_client, retention=timedelta(days=30), clock=lambda: NOW)
    articles = await store_samples(redis_client, index)
    assert await redis_client.zcard(keys.history_all()) == len(articles)
    emptied = await index.prune()
    recent = [a for a in articles if a.published >= NOW - timedelta(days=30)]
    assert await redis_client.zcard(keys.history_all()) == len(recent)
    assert emptied > 0
    assert not await redis_client.exists(keys.history_token("alaska"))
    assert (await index.search("Donbas", ALL_TIME)).total == len(
        [a for a in recent if "Donbas" in a.title + a.summary]
    )


def test_tokens_follow_the_matchers_word_boundaries() -> None:
    assert word_tokens("zelensky's 28 point plan_b мар'яна") == [
        "zelensky",
        "s",
        "28",
        "point",
        "plan",
        "b",
        "мар",
        "яна",
    ]
    article = sample_articles()[0]
    tokens = tokens_of(article)
    assert {"witkoff", "src:themoscowtimes.com", "src:themoscowtimes", "src:com"} <= tokens
    assert "lang:" + (article.lang or "").lower() in tokens


async def test_the_pipeline_indexes_what_it_ingests(redis_client: aioredis.Redis) -> None:
    from tests.story_driver import Ingest

    await Ingest(redis_client, clock=lambda: NOW).ingest(sample_articles())
    index = HistoryIndex(redis_client, clock=lambda: NOW)
    result = await index.search("Lavrov", ALL_TIME)
    assert result.total == len([a for a in sample_articles() if "Lavrov" in a.title + a.body])
    assert result.total > 0


async def test_a_bounded_search_returns_the_newest_matches_and_estimates_the_rest(
    history: HistoryIndex,
) -> None:
    full = await history.scan("Witkoff OR Putin OR Trump", ALL_TIME)
    bounded = await history.search("Witkoff OR Putin OR Trump", ALL_TIME, max_verify=3)
    assert not bounded.exact and bounded.verified == 3
    assert bounded.hits == full.hits[: len(bounded.hits)]
    # The rest is estimated from an evenly spread sample (here: every remaining candidate).
    assert bounded.total == full.total
