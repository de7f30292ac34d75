"""Drives the real story assigner one article at a time, as the tests of story decisions need."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from peacewatch.app import entity_names
from peacewatch.models import Article
from peacewatch.pipeline.engines import EngineProvider
from peacewatch.pipeline.process import Pipeline
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.ingest import IngestStream
from peacewatch.store.teams import TeamStore
from peacewatch.stories.assigner import Placed, StoryAssigner
from peacewatch.stories.features import entity_engine
from peacewatch.stories.memory import StoryAssignment, WindowIndex
from peacewatch.stories.state import StoryReader


class Assigner:
    """Queue an article on the ingest stream and let the assigner place it (the same path as
    the bot's watchers take), then say where it went."""

    def __init__(
        self,
        redis: aioredis.Redis,
        window: timedelta = timedelta(hours=48),
        entity_names: Mapping[str, str] | None = None,
        threshold: float | None = None,
    ) -> None:
        self.redis = redis
        self.stream = IngestStream(redis)
        self.handled: list[Placed] = []

        async def handler(batch: Sequence[Placed]) -> None:
            self.handled.extend(batch)

        engine = entity_engine(entity_names) if entity_names else None
        self.assigner = StoryAssigner(
            redis,
            self.stream,
            ArticleStore(redis),
            handler,
            lambda: WindowIndex(window, engine, threshold),
        )
        self.reader = StoryReader(redis)

    async def assign(self, article: Article) -> StoryAssignment:
        await self.stream.submit([(article, False)])
        await self.assigner.drain()
        index = self.assigner.index
        assert index is not None, "the assigner does not hold the lease"
        return index.describe(article.id)

    async def members(self, story_id: str) -> list[str]:
        return await self.reader.members(story_id)

    async def close(self) -> None:
        await self.assigner.release()


class Ingest:
    """The bot's path from the watchers on, without the watchers: the ingest stream, the story
    assigner and the pipeline that matches and alerts after it."""

    def __init__(
        self,
        redis: aioredis.Redis,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        merge_threshold: float | None = None,
    ) -> None:
        teams = TeamStore(redis)
        self.articles = ArticleStore(redis)
        self.pipeline = Pipeline(
            redis,
            self.articles,
            EngineProvider(teams),
            teams,
            AlertQueue(redis),
            clock=clock,
        )
        self.stream = IngestStream(redis, clock=clock)
        self.assigner = StoryAssigner(
            redis,
            self.stream,
            self.articles,
            self.pipeline.handle,
            lambda: WindowIndex(
                entities=entity_engine(entity_names()), merge_threshold=merge_threshold
            ),
        )

    async def ingest(self, articles: Sequence[Article], alerts: bool = True) -> int:
        """Queue ``articles`` in the order given and let the assigner finish them."""
        await self.stream.submit([(a, alerts) for a in articles])
        return await self.assigner.drain()
