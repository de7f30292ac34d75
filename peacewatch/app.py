"""Composition root: builds store, pipeline, watchers, dispatcher and sinks; start/stop order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from peacewatch.config import AppConfig
from peacewatch.heap import release_free_memory
from peacewatch.pipeline.engines import EngineProvider
from peacewatch.pipeline.llm import LlmSummariser, build_summariser
from peacewatch.pipeline.process import Pipeline
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.rules.morph import release_dictionaries
from peacewatch.rules.textnorm import normalise_pattern
from peacewatch.services.commands import CommandService
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.services.gates import AlertGate
from peacewatch.services.quiet import DigestGate, QuietHoursGate, build_due_digests
from peacewatch.services.sinks import Sink
from peacewatch.settings import Settings
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.embedded import RedisHandle, connect
from peacewatch.store.feeds import FeedStore
from peacewatch.store.history import HistoryIndex
from peacewatch.store.ingest import IngestStream
from peacewatch.store.ratelimit import SendRates
from peacewatch.store.teams import TeamStore
from peacewatch.store.websub import SubscriptionStore
from peacewatch.stories.assigner import StoryAssigner
from peacewatch.stories.features import entity_engine
from peacewatch.stories.memory import WindowIndex
from peacewatch.stories.state import RETENTION as STORY_RETENTION
from peacewatch.stories.state import prune_stories
from peacewatch.watchers import language
from peacewatch.watchers.fetch import Fetcher, FetchLimits
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.parse import FeedParserPool
from peacewatch.watchers.poller import Poller, PollPolicy
from peacewatch.watchers.scheduler import FeedScheduler
from peacewatch.watchers.websub import WebSub
from peacewatch.watchers.websub_hub import HubClient
from peacewatch.watchers.websub_proto import subscribed_interval

log = logging.getLogger(__name__)
RETENTION = timedelta(days=90)
"""How long alert history is kept for ``latest`` and ``digest``."""


def entity_names() -> dict[str, str]:
    """Normalised entity name -> entity id, for story clustering across languages."""
    out: dict[str, str] = {}
    for entity in builtin_dictionary().entities():
        for name in entity.names:
            out.setdefault(normalise_pattern(name), entity.id)
    return out


@dataclass
class App:
    """Everything a running peacewatch holds. Build with ``App.open``; close with ``close``."""

    settings: Settings
    redis: RedisHandle
    feeds: FeedStore
    teams: TeamStore
    articles: ArticleStore
    queue: AlertQueue
    pipeline: Pipeline
    ingest: IngestStream
    assigner: StoryAssigner
    fetcher: Fetcher
    parser: FeedParserPool
    poller: Poller
    dispatcher: Dispatcher
    scheduler: FeedScheduler
    commands: CommandService
    quiet: QuietHoursGate
    clock: Callable[[], datetime]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the app stops: loops end on it even if a cancellation is lost in a call."""
    pruned_at: datetime | None = None
    websub: WebSub | None = None
    """WebSub subscriptions, when a public URL is configured (else feeds are only polled)."""
    pushed: set[str] = field(default_factory=set)
    """Feeds scheduled at their longer interval because a hub pushes them."""
    engines: EngineProvider | None = None
    """The compiled rules the pipeline matches with (loaded by ``start``)."""

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        poll_policy: PollPolicy | None = None,
        story_window: timedelta = timedelta(hours=48),
        story_threshold: float | None = None,
        story_merge_threshold: float | None = None,
        sinks: list[Sink] | None = None,
        guard: GuardPolicy | None = None,
        limits: FetchLimits | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> App:
        """Connect to Redis and build everything; nothing is left running if a step fails."""
        handle = await connect(settings.redis_url, settings.data_dir)
        try:
            return await cls._assemble(
                handle, settings, poll_policy, story_window, story_threshold,
                story_merge_threshold, sinks, guard, limits, clock,
            )  # fmt: skip
        except BaseException:
            await handle.close()
            raise

    @classmethod
    async def _assemble(
        cls,
        handle: RedisHandle,
        settings: Settings,
        poll_policy: PollPolicy | None,
        story_window: timedelta,
        story_threshold: float | None,
        story_merge_threshold: float | None,
        sinks: list[Sink] | None,
        guard: GuardPolicy | None,
        limits: FetchLimits | None,
        clock: Callable[[], datetime],
    ) -> App:
        redis = handle.client
        feeds = FeedStore(redis)
        teams = TeamStore(redis)
        articles = ArticleStore(redis)
        queue = AlertQueue(redis)
        await queue.ensure_group()
        if story_threshold is not None:
            WindowIndex(story_window, threshold=story_threshold)  # a bad value fails here
        entities = entity_engine(entity_names())
        quiet = QuietHoursGate(redis, clock)
        gates: list[AlertGate] = [DigestGate(redis, clock), quiet]
        summariser = build_summariser(
            settings.summariser, settings.llm_url, settings.llm_api_key, settings.llm_model,
            settings.llm_timeout,
        )  # fmt: skip
        engines = EngineProvider(teams)
        pipeline = Pipeline(
            redis, articles, engines, teams, queue, clock, gates, summariser=summariser
        )
        ingest = IngestStream(redis)
        assigner = StoryAssigner(
            redis, ingest, articles, pipeline.handle,
            lambda: WindowIndex(
                story_window, entities, story_threshold, merge_threshold=story_merge_threshold
            ),
        )  # fmt: skip
        policy = guard or GuardPolicy(
            allow_private=settings.allow_private_feeds, allow_networks=settings.networks()
        )
        limits = limits or FetchLimits(per_host_concurrency=settings.fetch_per_host)
        fetcher = Fetcher(policy, limits)
        parser = FeedParserPool()
        poller = Poller(fetcher, parser, feeds, ingest, poll_policy or PollPolicy(), clock)
        dispatcher = Dispatcher(
            queue,
            {s.platform: s for s in sinks or []},
            f"{socket.gethostname()}-{os.getpid()}",
            rates=SendRates(redis),
        )
        scheduler = FeedScheduler(
            poller, feeds, max_polls=settings.max_polls, per_host=settings.fetch_per_host
        )
        websub = None
        if settings.public_url:
            websub = WebSub(
                SubscriptionStore(redis), poller, HubClient(policy, limits), settings.public_url,
                max_push_bytes=limits.max_body_bytes, clock=clock,
            )  # fmt: skip
            scheduler.on_result = websub.discovered  # a poll that finds a hub subscribes
        opened: list[App] = []

        async def feeds_changed() -> None:
            if opened:
                await opened[0].sync_feeds()

        commands = CommandService(
            redis, fetcher=fetcher, parser=parser, clock=clock, on_feeds_changed=feeds_changed
        )
        app = cls(
            settings, handle, feeds, teams, articles, queue, pipeline, ingest, assigner, fetcher,
            parser, poller,
            dispatcher, scheduler, commands, quiet, clock,
        )  # fmt: skip
        app.websub = websub
        app.engines = engines
        opened.append(app)
        return app

    async def sync_feeds(self) -> None:
        """Schedule feeds added since start (from chat) and drop the removed ones."""
        known = {f.id: f for f in await self.feeds.all()}
        scheduled = {j.removeprefix("feed:") for j in self.scheduler.job_ids()}
        for feed_id in scheduled - set(known):
            self.scheduler.unschedule(feed_id)
            if self.websub is not None:
                await self.websub.forget(feed_id)
        for feed_id in set(known) - scheduled:
            self.scheduler.schedule(known[feed_id])

    async def pace_pushed_feeds(self) -> None:
        """Poll feeds a WebSub hub pushes less often (never not at all), and at their own
        interval again once their subscription ends."""
        if self.websub is None:
            return
        active = await self.websub.active_feeds()
        if active == self.pushed:
            return
        for feed in await self.feeds.all():
            if (feed.id in active) != (feed.id in self.pushed):
                interval = subscribed_interval(feed.interval) if feed.id in active else None
                self.scheduler.schedule(replace(feed, interval=interval or feed.interval))
        self.pushed = active

    async def housekeeping(self) -> None:
        """Release alerts held by quiet hours and send due digests (run every minute); drop
        history past its retention (once a day)."""
        await self.quiet.release_due(self.queue)
        await build_due_digests(self.redis.client, self.queue, self.clock)
        await self.sync_feeds()  # feeds added or removed from chat through another replica
        await self.pace_pushed_feeds()
        release_free_memory()  # what the last minute's polls and placing freed
        now = self.clock()
        if self.pruned_at is None or now - self.pruned_at >= timedelta(days=1):
            await HistoryIndex(self.redis.client, clock=self.clock).prune()
            await self.articles.prune(now)
            await prune_stories(self.redis.client, (now - STORY_RETENTION).timestamp())
            await self.teams.prune_alerts(now - RETENTION)
            await self.queue.trim(int(now.timestamp() * 1000))
            self.pruned_at = now

    async def _housekeeping_loop(self, every: float = 60.0) -> None:
        while not self.closing.is_set():
            try:
                await self.housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round is logged; the next one tries again
                log.exception("housekeeping failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await self.closing.wait()

    async def apply_config(self, config: AppConfig) -> None:
        """Register the config's feeds and replace its team's rules with the config's."""
        if config.rules or config.entities:
            await self.teams.replace(config.team, config.rules, config.entities)
        for feed in config.feeds:
            await self.feeds.put(feed.to_spec(config.team))

    async def start(self) -> None:
        """Load what matching and reading items need, then schedule every known feed and start
        delivering alerts."""
        feeds = await self.feeds.all()
        await self._warm(detect_languages=bool(feeds))
        for feed in feeds:
            self.scheduler.schedule(feed)
        self.scheduler.start()
        self.tasks.append(asyncio.create_task(self.assigner.run(), name="story-assigner"))
        self.tasks.append(asyncio.create_task(self.dispatcher.run(), name="dispatcher"))
        self.tasks.append(asyncio.create_task(self._housekeeping_loop(), name="housekeeping"))
        if self.websub is not None:
            self.tasks.append(asyncio.create_task(self.websub.run(), name="websub"))

    async def _warm(self, detect_languages: bool) -> None:
        """Compile (or read from the disk cache) the rules and load the language identifier
        now, before the first poll, rather than when the first items arrive: what loading
        them uses for a while (compiling 10,000 rules, the most) is then used and freed again
        before polls hold memory too, so the two never add up, and it is handed back to the
        system before the polls begin."""
        if self.engines is not None:
            await self.engines.engine()
        if detect_languages:
            await asyncio.to_thread(language.load)
        release_dictionaries()  # a first start inflected the built-in names; later ones read them
        release_free_memory()

    async def close(self) -> None:
        """Stop in reverse order: scheduler, dispatcher, HTTP client, parser pool, Redis."""
        self.scheduler.pause()
        await self.scheduler.drain()
        self.scheduler.shutdown()
        self.closing.set()
        self.assigner.stop()
        self.dispatcher.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.assigner.release()
        await self.commands.close()
        if isinstance(self.pipeline.summariser, LlmSummariser):
            await self.pipeline.summariser.close()
        if self.websub is not None:
            await self.websub.close()
        await self.fetcher.close()
        await self.parser.aclose()
        await self.redis.close()
