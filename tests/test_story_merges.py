"""Two stories of one development merge when a report fits both; in chat the absorbed thread
gets one note linking the surviving alert and later coverage goes to the surviving thread."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from peacewatch.app import entity_names
from peacewatch.bot.discord_adapter import DiscordSink, PeacewatchClient
from peacewatch.bot.discord_adapter.client import DEFAULT_API_URL, apply_api_base
from peacewatch.bot.slack_adapter import ChannelPacer, SlackSink, SlackTokens
from peacewatch.cli.articles_io import parse_time
from peacewatch.models import Article
from peacewatch.rules.engine import RuleEngine
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.teams import TeamStore
from peacewatch.stories.features import entity_engine
from peacewatch.stories.memory import WindowIndex
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.story_driver import Ingest

MERGE = 0.5
"""A merge probability (of the fitted merge model) at which the last report merges the two
stories (the shipped setting merges nothing by default)."""


def reports() -> list[Article]:
    path = Path(__file__).parent / "data" / "paris_merge.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        out.append(
            Article(item["id"], item["title"], item["link"], parse_time(item["published"]),
                    item["source"], summary=item["summary"], lang=item["lang"])
        )  # fmt: skip
    return out


REPORTS = reports()
NOW = REPORTS[-1].published


def entities() -> RuleEngine:
    return entity_engine(entity_names())


def test_the_report_that_fits_both_stories_merges_them_and_the_older_survives() -> None:
    apart = WindowIndex(entities=entities())
    for article in REPORTS:
        apart.place(article)
    assert len({apart.placed[a.id][0] for a in REPORTS}) == 2  # no merging: two stories

    index = WindowIndex(entities=entities(), merge_threshold=MERGE)
    for article in REPORTS[:-1]:
        index.place(article)
    first, second = index.placed[REPORTS[0].id][0], index.placed[REPORTS[1].id][0]
    assert first != second
    assignment, _ = index.place(REPORTS[-1])
    assert index.last_merges == ((first, second),)  # the older story (first report) survives
    assert assignment.story_id == first and assignment.size == len(REPORTS)
    assert {index.placed[a.id][0] for a in REPORTS} == {first}
    assert second not in index.stories


def test_the_merge_model_decides_not_the_fit_to_both_stories() -> None:
    from peacewatch.stories.merge import MergeModel

    never = MergeModel({"bridge": 1.0}, -50.0)
    index = WindowIndex(entities=entities(), merge_threshold=MERGE, merge_model=never)
    for article in REPORTS:
        index.place(article)
        assert index.last_merges == ()
    assert len({index.placed[a.id][0] for a in REPORTS}) == 2


async def test_a_successor_loads_the_merged_story_as_it_stands(
    redis_client: aioredis.Redis,
) -> None:
    ingest = Ingest(redis_client, clock=lambda: NOW, merge_threshold=MERGE)
    await ingest.ingest(REPORTS)
    live = ingest.assigner.index
    assert live is not None and live.placed[REPORTS[1].id][0] == live.placed[REPORTS[0].id][0]
    await ingest.assigner.release()

    successor = Ingest(redis_client, clock=lambda: NOW, merge_threshold=MERGE)
    await successor.assigner.drain()  # takes the lease and loads the state
    loaded = successor.assigner.index
    assert loaded is not None
    for story_id, story in live.stories.items():
        other = loaded.stories[story_id]
        assert (other.first, other.outlets, other.size, other.recent, other.articles) == (
            story.first, story.outlets, story.size, story.recent, story.articles
        )  # fmt: skip
        assert [f.article_id for f in other.members] == [f.article_id for f in story.members]
    assert loaded.placed == live.placed
    survivor = live.placed[REPORTS[0].id][0]
    stored = await redis_client.mget([keys.article_story(a.id) for a in REPORTS])
    assert {str(v).split(" ")[0] for v in stored} == {survivor}  # moved in Redis too


async def paris_rule(redis: aioredis.Redis, team: str, channel: str) -> None:
    rule = RuleSpec(id="paris", query="Paris OR Ukraine", channels=[channel])
    await TeamStore(redis).put_rule(team, rule)


async def test_slack_gets_a_merge_note_in_the_absorbed_thread_and_follow_ups_in_the_survivor(
    redis_client: aioredis.Redis,
) -> None:
    await paris_rule(redis_client, "slack:T1", "slack:C1")
    ingest = Ingest(redis_client, clock=lambda: NOW, merge_threshold=MERGE)
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    async with FakeSlack(valid_tokens={"xoxb-one"}) as slack:
        sink = SlackSink(
            SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url,
            pacer=ChannelPacer(clock=lambda: 0.0, sleep=no_wait),
        )  # fmt: skip
        dispatcher = Dispatcher(AlertQueue(redis_client), {"slack": sink}, retry_idle_ms=0)
        try:
            for article in REPORTS:
                await ingest.ingest([article])
                await dispatcher.drain()
        finally:
            await sink.close()
        roots = [m for m in slack.messages if m.thread_ts is None]
        assert len(roots) == 2  # two stories were posted before they were found to be one
        survivor_root, absorbed_root = roots
        notes = [m for m in slack.messages if m.text.startswith("Merged")]
        assert len(notes) == 1
        [note] = notes
        assert note.thread_ts == absorbed_root.ts
        assert f"p{survivor_root.ts.replace('.', '')}" in json.dumps(note.blocks)
        last = slack.messages[-1]
        assert last.thread_ts == survivor_root.ts  # the report that merged them
        assert REPORTS[-1].title[:40] in json.dumps(last.blocks)
        assert not any(e for e in absorbed_root.edits if "Merged" in json.dumps(e))


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    apply_api_base(server.api_url)
    try:
        yield server
    finally:
        apply_api_base(DEFAULT_API_URL)
        await server.close()


async def test_discord_gets_a_merge_note_linking_the_surviving_alert(
    discord_fake: FakeDiscord, redis_client: aioredis.Redis
) -> None:
    channel = discord_fake.add_channel()
    team = "discord:800000000000000001"
    await paris_rule(redis_client, team, f"discord:{channel}")
    ingest = Ingest(redis_client, clock=lambda: NOW, merge_threshold=MERGE)
    client = PeacewatchClient()
    try:
        dispatcher = Dispatcher(
            AlertQueue(redis_client), {"discord": DiscordSink(client, discord_fake.token)}
        )
        for article in REPORTS:
            await ingest.ingest([article])
            await dispatcher.drain()
    finally:
        await client.close()
    posts = [s for s in discord_fake.of("POST") if s.status == 200 and "embeds" in s.body]
    titles = [s.body["embeds"][0].get("title", "") for s in posts]
    notes = [s for s, t in zip(posts, titles, strict=True) if t.startswith("Merged into")]
    assert len(notes) == 1
    survivor_alert = next(iter(discord_fake.messages))
    assert notes[0].body["embeds"][0]["url"].endswith(f"/{channel}/{survivor_alert}")
    assert not notes[0].path.endswith(f"/{channel}/messages")  # in the absorbed story's thread


async def test_the_assigner_counts_placed_articles_merges_and_its_backlog(
    redis_client: aioredis.Redis,
) -> None:
    from peacewatch.metrics import REGISTRY

    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    placed, merges = (
        value("peacewatch_articles_placed_total"),
        value("peacewatch_story_merges_total"),
    )
    ingest = Ingest(redis_client, clock=lambda: NOW, merge_threshold=MERGE)
    await ingest.stream.submit([(a, False) for a in REPORTS])
    assert await redis_client.xlen(keys.ingest_stream()) == len(REPORTS)
    await ingest.assigner.drain()
    assert value("peacewatch_articles_placed_total") - placed == len(REPORTS)
    assert value("peacewatch_story_merges_total") - merges == 1
    assert value("peacewatch_ingest_backlog") == 0
