"""Story clustering against a real Redis, on headlines and summaries copied from the samples."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from peacewatch.models import Article
from peacewatch.store import keys
from peacewatch.stories.features import entity_engine, features
from peacewatch.stories.memory import WindowIndex, story_id_for
from peacewatch.stories.offline import group, placements
from peacewatch.stories.rarity import Background, builtin_background
from tests.story_driver import Assigner as StoryIndex

T0 = datetime(2025, 11, 21, 17, 9, tzinfo=UTC)
ENTITIES = {
    "Witkoff": "witkoff",
    "Steve Witkoff": "witkoff",
    "Уиткофф": "witkoff",
    "Zelensky": "zelensky",
    "Zelenskyy": "zelensky",
    "Зеленский": "zelensky",
    "Putin": "putin",
    "Путин": "putin",
    "Путиным": "putin",
    "Kremlin": "kremlin",
    "Кремль": "kremlin",
    "Paris": "paris",
    "Paryż": "paris",
    "Zełenski": "zelensky",
}

# Other reports of the same days (samples/items.jsonl): an index always holds some context, and
# the rarity of a word is measured against it.
CONTEXT = [
    ("Russian Stock Market Rallies on News of Ukraine Peace Plan", "themoscowtimes.com"),
    ("Kremlin Says It Has Received No New Peace Proposal From U.S.", "themoscowtimes.com"),
    ("Russian envoy Kirill Dmitriev: Putin propagandist or key to peace with Ukraine?", "bbc.com"),
    ("Trump's full 28-point Ukraine-Russia peace plan - Axios", "Axios"),
    ("Putin Says U.S. Plan Could 'Lay Foundation' for Ukraine Peace Deal", "themoscowtimes.com"),
    ("Draft of US-backed peace proposal for Ukraine - Reuters", "Reuters"),
]


def article(
    aid: str,
    title: str,
    source: str,
    at: datetime = T0,
    summary: str = "",
    outlet: str = "",
) -> Article:
    return Article(
        id=aid,
        title=title,
        link=f"https://{source}/{aid}" if "." in source else "",
        published=at,
        source=source if "." in source else "",
        outlet=outlet or source,
        summary=summary,
    )


MT_DIGNITY = article(
    "30b5b3579da46776",
    "Ukraine Risks Losing Dignity or U.S. Support, Zelensky Says",
    "themoscowtimes.com",
    summary='The Ukrainian president said he would present "arguments" and "alternatives" to the '
    "28-point proposal drafted by the Trump administration.",
)
CNN_DIGNITY = article(
    "c73e2a77af7c3ff2",
    "Ukraine faces losing dignity or US support with Trump’s plan to end war, Zelensky says - CNN",
    "CNN",
    at=T0 + timedelta(minutes=43),
)
MARKETS = article(
    "809c58fa01e7a5a5",
    "Russian Markets Slide After Putin-Trump Talks End Without Breakthrough",
    "themoscowtimes.com",
    summary="The Moscow Exchange index dropped 2%, erasing about 130 billion rubles "
    "($1.6 billion) in market capitalization.",
)
WITKOFF = (
    "'Significant progress' made in Russia, Ukraine peace talks: Witkoff",
    "White House special envoy Steve Witkoff said Tuesday that the Trump administration has "
    'made “significant progress" in peace talks with Russia and Ukraine.',
)


async def with_context(index: StoryIndex, at: datetime = T0) -> None:
    for n, (title, source) in enumerate(CONTEXT):
        await index.assign(article(f"ctx{n}", title, source, at - timedelta(hours=3, minutes=n)))


async def test_same_story_from_two_outlets_is_one_story(redis_client: aioredis.Redis) -> None:
    index = StoryIndex(redis_client)
    await with_context(index)
    first = await index.assign(MT_DIGNITY)
    second = await index.assign(CNN_DIGNITY)
    assert first.is_new and first.size == 1 and first.outlets == ("themoscowtimes.com",)
    assert second.story_id == first.story_id
    assert not second.is_new
    assert second.size == 2
    assert second.outlets == ("themoscowtimes.com", "CNN")
    assert second.first_article_id == MT_DIGNITY.id
    assert second.duplicate_of is None
    assert await index.members(first.story_id) == [MT_DIGNITY.id, CNN_DIGNITY.id]


async def test_a_higher_threshold_keeps_a_paraphrase_apart(redis_client: aioredis.Redis) -> None:
    strict = StoryIndex(redis_client, threshold=0.99)
    await with_context(strict)
    first = await strict.assign(MT_DIGNITY)
    assert (await strict.assign(CNN_DIGNITY)).story_id != first.story_id


async def test_syndicated_copy_is_marked(redis_client: aioredis.Redis) -> None:
    index = StoryIndex(redis_client)
    await with_context(index)
    at = datetime(2025, 11, 22, 2, 13, tzinfo=UTC)
    vk = article(
        "324d9d963ffeaa12",
        "Ukraina i samtal med Europa om fredsplan - Västerbottens-Kuriren",
        "Västerbottens-Kuriren",
        at,
    )
    gp = article(
        "c8b5ab4baf6b29fb",
        "Ukraina i samtal med Europa om fredsplan - GP",
        "GP",
        at + timedelta(hours=3),
    )
    first = await index.assign(vk)
    copy = await index.assign(gp)
    assert copy.story_id == first.story_id
    assert copy.duplicate_of == vk.id
    assert copy.outlets == ("Västerbottens-Kuriren", "GP")


async def test_unrelated_article_starts_a_new_story(redis_client: aioredis.Redis) -> None:
    index = StoryIndex(redis_client)
    await with_context(index)
    dignity = await index.assign(MT_DIGNITY)
    markets = await index.assign(MARKETS)
    assert markets.is_new
    assert markets.story_id != dignity.story_id
    assert markets.size == 1 and markets.duplicate_of is None


async def test_same_entity_weeks_apart_stays_apart(redis_client: aioredis.Redis) -> None:
    index = StoryIndex(redis_client, entity_names=ENTITIES)
    jan6 = datetime(2026, 1, 6, 20, 29, tzinfo=UTC)
    await with_context(index, jan6)
    first = await index.assign(article("w1", *WITKOFF[:1], "thehill.com", jan6, WITKOFF[1]))
    later = jan6 + timedelta(days=21)
    await with_context(index, later)
    second = await index.assign(article("w2", *WITKOFF[:1], "thehill.com", later, WITKOFF[1]))
    assert second.is_new
    assert second.story_id != first.story_id


async def test_window_boundary(redis_client: aioredis.Redis) -> None:
    index = StoryIndex(redis_client, window=timedelta(hours=48))
    await with_context(index, T0 + timedelta(hours=27))  # context in the window of both ends
    start = await index.assign(MT_DIGNITY)
    # Re-headlines of the same report from other outlets (copies always join their story).
    inside = article("in", MT_DIGNITY.title, "CNN", T0 + timedelta(hours=48))
    outside = article(
        "out", MT_DIGNITY.title, "edition.cnn.com", T0 - timedelta(hours=48, seconds=1)
    )
    joined = await index.assign(inside)
    assert joined.story_id == start.story_id and joined.duplicate_of == MT_DIGNITY.id
    # "out" is more than 48 h before both members, so it may not join them.
    assert (await index.assign(outside)).story_id != start.story_id


async def test_a_paraphrase_joins_in_the_burst_but_not_two_days_later(
    redis_client: aioredis.Redis,
) -> None:
    # CNN's paraphrase of the Moscow Times report joins it 43 minutes later (the test above);
    # the same words 47 hours later more often report the next development.
    index = StoryIndex(redis_client)
    await with_context(index, T0 + timedelta(hours=24))
    start = await index.assign(MT_DIGNITY)
    late = article("late", CNN_DIGNITY.title, "CNN", T0 + timedelta(hours=47))
    assert (await index.assign(late)).story_id != start.story_id


async def test_restart_keeps_stories_and_assign_is_idempotent(
    redis_client: aioredis.Redis,
) -> None:
    first_index = StoryIndex(redis_client)
    await with_context(first_index)
    started = await first_index.assign(MT_DIGNITY)

    await first_index.close()
    restarted = StoryIndex(redis_client)  # a new process on the same Redis
    joined = await restarted.assign(CNN_DIGNITY)
    assert joined.story_id == started.story_id and joined.size == 2

    again = await restarted.assign(CNN_DIGNITY)
    assert again == joined  # same story, still size 2, still not new
    replay_first = await restarted.assign(MT_DIGNITY)
    assert replay_first.is_new and replay_first.size == 2  # it started the story


async def test_out_of_order_arrival(redis_client: aioredis.Redis) -> None:
    index = StoryIndex(redis_client)
    await with_context(index)
    later = await index.assign(CNN_DIGNITY)
    earlier = await index.assign(MT_DIGNITY)
    assert earlier.story_id == later.story_id
    assert later.is_new and not earlier.is_new
    # Members are ordered by publication time, not by arrival.
    assert await index.members(later.story_id) == [MT_DIGNITY.id, CNN_DIGNITY.id]


async def test_entities_join_reports_across_languages(redis_client: aioredis.Redis) -> None:
    index = StoryIndex(redis_client, entity_names=ENTITIES)
    await with_context(index)
    en = article(
        "en",
        "Witkoff and Putin talk for five hours in the Kremlin on the 28-point plan",
        "example.com",
        summary="Steve Witkoff met Putin for five hours; Zelensky awaits the result.",
    )
    ru = article(
        "ru",
        "Уиткофф и Путин пять часов обсуждали в Кремле план из 28 пунктов",
        "example.ru",
        T0 + timedelta(hours=1),
        summary="Уиткофф встретился с Путиным; Зеленский ждет итогов.",
    )
    assert (await index.assign(ru)).story_id == (await index.assign(en)).story_id

    await redis_client.flushdb()
    plain = StoryIndex(redis_client)  # without the dictionary nothing links the two scripts
    await with_context(plain)
    ru2 = article("ru2", ru.title, "example.ru", T0 + timedelta(hours=1))
    en2 = article("en2", en.title, "example.org", T0)
    await plain.assign(ru2)
    assert (await plain.assign(en2)).story_id != (await plain.assign(ru2)).story_id


def test_group_in_memory_matches_the_index_on_the_simple_cases() -> None:
    context = [
        article(f"ctx{n}", title, source, T0 - timedelta(hours=3, minutes=n))
        for n, (title, source) in enumerate(CONTEXT)
    ]
    stories = group([*context, MT_DIGNITY, CNN_DIGNITY, MARKETS])
    assert stories[MT_DIGNITY.id] == stories[CNN_DIGNITY.id]
    assert stories[MARKETS.id] != stories[MT_DIGNITY.id]


def test_inflected_entity_names_are_found() -> None:
    engine = entity_engine(ENTITIES)
    polish = article(
        "pl",
        'Zełenskiego wita Macron. "Koalicja chętnych" obraduje w Paryżu',
        "tvn24.pl",
        summary="Witkoff rozmawiał z Putinem.",
    )
    found = features(polish, engine)
    assert {"e:zelensky", "e:paris"} <= found.title_tokens
    assert {"e:witkoff", "e:putin"} <= found.tokens - found.title_tokens
    # A name is not found inside another word, nor with an ending that is no inflection.
    other = features(article("x", "Parisian tourists and a parish fete", "example.com"), engine)
    assert not {t for t in other.tokens if t.startswith("e:")}


def test_background_knows_common_words_at_a_fresh_start() -> None:
    # Two different events whose headlines share only everyday words of the news.
    money = article("m", "Government minister says police will get more money", "a.com")
    chief = article(
        "c", "Government minister: police chief to step down", "b.com", T0 + timedelta(hours=1)
    )
    common = Background(1000, {"s:govern": 300, "s:minist": 300, "s:police": 300})
    apart = group([money, chief], background=common)
    assert apart[money.id] != apart[chief.id]
    # Without a background, an empty index takes every word for a rare one.
    together = group([money, chief], background=Background(0, {}))
    assert together[money.id] == together[chief.id]


def test_shipped_background_is_loaded() -> None:
    background = builtin_background()
    assert background.documents > 10_000
    assert (
        background.share("s:ukrain") > background.share("s:police") > background.share("s:zzzzzz")
    )


def test_placements_name_the_member_each_article_joined_through() -> None:
    context = [
        article(f"ctx{n}", title, source, T0 - timedelta(hours=3, minutes=n))
        for n, (title, source) in enumerate(CONTEXT)
    ]
    placed = {p.article_id: p for p in placements([*context, MT_DIGNITY, CNN_DIGNITY, MARKETS])}
    assert placed[MT_DIGNITY.id].closest is None  # it started its story
    assert placed[CNN_DIGNITY.id].closest == MT_DIGNITY.id
    assert placed[CNN_DIGNITY.id].story_id == placed[MT_DIGNITY.id].story_id
    assert placed[MARKETS.id].closest is None
    assert group([*context, MT_DIGNITY, CNN_DIGNITY, MARKETS]) == {
        p.article_id: p.story_id for p in placed.values()
    }


async def test_redis_index_and_in_memory_grouping_decide_alike_on_long_texts(
    redis_client: aioredis.Redis,
) -> None:
    # An article with more tokens than the index keeps (64): both paths must weigh all of
    # them alike, at every distance in time.
    rng = random.Random(1)
    filler = " ".join(
        "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(3)) + "a" for _ in range(90)
    )
    first = article("a", "UK and France agree to send troops to Ukraine after a ceasefire", "a.ex")
    for quarter in range(0, 120):
        later = article(
            "b",
            "Britain and France ready to deploy troops to Ukraine after ceasefire",
            "b.ex",
            T0 + timedelta(hours=quarter / 4),
            summary=filler[:400],
        )
        await redis_client.flushdb()
        index = StoryIndex(redis_client)
        await index.assign(first)
        in_redis = (await index.assign(later)).story_id == story_id_for(first.id)
        in_memory = len(set(group([first, later]).values())) == 1
        assert in_redis == in_memory, f"{quarter / 4} h apart"


async def test_thresholds_outside_0_to_1_are_refused(redis_client: aioredis.Redis) -> None:
    for bad in (0.0, -0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            WindowIndex(threshold=bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            group([MT_DIGNITY, CNN_DIGNITY], threshold=bad)


async def test_state_of_the_previous_version_is_not_read(redis_client: aioredis.Redis) -> None:
    # The previous version kept unversioned keys, with other tokens; an index never mixes them.
    await redis_client.set(keys.PREFIX + "storyof:" + CNN_DIGNITY.id, "oldstory ")
    await redis_client.hset(keys.PREFIX + "story:oldstory", mapping={"first": "x", "outlets": "[]"})
    index = StoryIndex(redis_client)
    placed = await index.assign(CNN_DIGNITY)
    assert placed.story_id == story_id_for(CNN_DIGNITY.id) and placed.is_new
    assert await redis_client.exists(keys.article_story(CNN_DIGNITY.id))
