"""The same articles give the same stories: run again, in another order within one poll, and
as `peacewatch stories` gives them."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.cli.stories import group_file
from peacewatch.models import Article
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.poller import PollPolicy
from tests.fakes.feed_server import FeedServer
from tests.faults.samples_stream import day_articles
from tests.helpers import Clock, open_app, redis_url, rss, samples_dir

pytestmark = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)
DAY = day_articles("2026-01-06")[:400]
ITEMS = [
    {"title": a.title, "summary": a.summary, "link": a.link, "published": a.published, "guid": a.id}
    for a in DAY
]


async def placed_by_link(
    items: list[dict[str, Any]],
    target: dict[str, Any],
    client: aioredis.Redis,
    tmp: Path,
    stored: list[Article] | None = None,
) -> list[tuple[str, str]]:
    """(link, story) pairs after one poll, where a story is named by its first link."""
    await client.flushdb()
    async with FeedServer() as server:
        server.set_feed("/day.xml", rss(items))
        clock = Clock(DAY[-1].published + timedelta(hours=1))
        policy = PollPolicy(backfill=None, max_age=None)
        app = await open_app(redis_url(target), tmp, clock, io.StringIO(), policy=policy)
        links: dict[str, str] = {}
        try:
            result = await app.poller.poll(FeedSpec("day", server.url("/day.xml"), 600, "", "t"))
            assert result.new == len(items)
            assert await app.assigner.drain() == len(items)
            index = app.assigner.index
            assert index is not None
            articles = await app.articles.get_many(list(index.placed))
            if stored is not None:
                stored.extend(articles)
            first_link: dict[str, str] = {}
            for article in sorted(articles, key=lambda a: (a.published, a.id)):
                story = index.placed[article.id][0]
                first_link.setdefault(story, article.link)
                links[article.link] = first_link[story]
        finally:
            await app.close()
    return sorted(links.items())


async def test_one_poll_gives_the_same_stories_whatever_the_feed_order_and_on_every_run(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    runs = []
    for seed in (None, 1, 2):
        items = list(ITEMS)
        if seed is not None:
            random.Random(seed).shuffle(items)  # the feed lists its items in another order
        runs.append(await placed_by_link(items, redis_target, redis_client, tmp_path / str(seed)))
    assert runs[0] == runs[1] == runs[2]
    stories = {story for _, story in runs[0]}
    assert len(stories) < len(ITEMS)  # the day holds stories of several outlets


async def test_peacewatch_stories_gives_what_the_pipeline_gives(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    articles: list[Article] = []
    pipeline = dict(
        await placed_by_link(ITEMS, redis_target, redis_client, tmp_path / "run", articles)
    )
    lines = tmp_path / "day.jsonl"
    with lines.open("w", encoding="utf-8") as out:
        for a in articles:  # the articles as the pipeline stored them
            out.write(
                json.dumps(
                    {"id": a.id, "title": a.title, "summary": a.summary, "link": a.link,
                     "published": a.published.isoformat(), "source": a.source}
                ) + "\n"
            )  # fmt: skip
    printed = io.StringIO()
    assert not group_file(lines, printed, io.StringIO())
    story_of = {
        row["article_id"]: row["story_id"]
        for row in map(json.loads, printed.getvalue().splitlines())
    }
    first_link: dict[str, str] = {}
    offline: dict[str, str] = {}
    for a in sorted(articles, key=lambda a: (a.published, a.id)):
        first_link.setdefault(story_of[a.id], a.link)
        offline[a.link] = first_link[story_of[a.id]]
    assert offline == pipeline
