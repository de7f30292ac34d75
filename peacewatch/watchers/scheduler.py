"""One APScheduler job per feed: interval with jitter, coalesced, never two at once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.watchers.poller import Poller, PollResult

log = logging.getLogger(__name__)


class FeedScheduler:
    """Keeps one job per feed. A poll takes a lease in Redis first, so that with several
    replicas each feed is polled by one of them per interval."""

    def __init__(
        self,
        poller: Poller,
        feeds: FeedStore,
        on_result: Callable[[PollResult], Awaitable[None]] | None = None,
        owner: str | None = None,
    ) -> None:
        self._poller = poller
        self._feeds = feeds
        self.on_result = on_result
        self._running: set[asyncio.Task[Any]] = set()
        self._owner = owner or uuid.uuid4().hex
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def schedule(self, feed: FeedSpec, first_run: datetime | None = None) -> None:
        interval = max(10, feed.interval)
        self._scheduler.add_job(
            self._run,
            IntervalTrigger(seconds=interval, jitter=min(60, interval // 10)),
            args=(feed,),
            id=f"feed:{feed.id}",
            name=feed.url,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # the 1 s default silently drops runs that start late under load
            misfire_grace_time=interval,
            next_run_time=first_run or datetime.now(UTC),
        )

    def unschedule(self, feed_id: str) -> None:
        job = self._scheduler.get_job(f"feed:{feed_id}")
        if job is not None:
            job.remove()

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def pause(self) -> None:
        """Start no new poll (before ``drain`` at shutdown)."""
        if self._scheduler.running:
            self._scheduler.pause()

    async def drain(self, within: float = 15.0) -> None:
        """Wait (bounded) for polls under way to finish, so that none is cut off half-way."""
        running = {t for t in self._running if not t.done()}
        if running:
            await asyncio.wait(running, timeout=within)

    async def _run(self, feed: FeedSpec) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        try:
            lease = max(5, int(feed.interval * 0.8))
            if not await self._feeds.acquire_lease(feed.id, self._owner, lease):
                return
            result = await self._poller.poll(feed)
            if self.on_result is not None:
                await self.on_result(result)
        except Exception:  # a job must never die: log it, the next interval tries again
            log.exception("poll of feed %s failed", feed.id)

    async def run_now(self, feed_id: str) -> bool:
        """Bring a feed's next poll forward to now, lease or not (the demo and chat use it)."""
        job = self._scheduler.get_job(f"feed:{feed_id}")
        if job is None:
            return False
        await self._feeds.release_lease(feed_id)
        job.modify(next_run_time=datetime.now(UTC))
        return True
