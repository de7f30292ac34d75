"""One APScheduler job per feed, spread over its interval; a bounded number of polls at once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.watchers.hosts import HostLimiter
from peacewatch.watchers.poller import Poller, PollResult

log = logging.getLogger(__name__)
# A job here only starts a poll task and returns, so APScheduler's two INFO lines per run
# ("Running job", "executed successfully") say nothing; its warnings (a missed run) still show.
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
# Nor do its INFO lines per added job, start and shutdown; the poll-cycle summary says more.
logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)

MIN_INTERVAL = 10
"""Seconds; a feed asking for less is polled this often."""
MAX_JITTER = 60.0
"""Seconds; the most a poll is moved later at random, whatever the interval."""
SUMMARY_EVERY = 60.0
"""Seconds between poll-cycle summaries at most (less when a feed is polled more often)."""
SUMMARY_JOB = "poll-summary"
TICK = 0.5
"""Seconds; every poll is due at a multiple of this (counted from the epoch), the nearest to
its own time. Feeds due within the same tick then start in one wakeup of the scheduler and
their leases, validators and health share round trips to Redis (see ``store.pollbatch``),
instead of each poll waking the event loop, the scheduler and Redis on its own: at 10,000
feeds a minute, 80 polls a tick rather than one every 6 ms. A feed's phase moves by at most
half a tick, far less than its jitter."""


@dataclass(slots=True)
class CycleCounts:
    """The polls finished since the last poll-cycle summary."""

    polled: int = 0
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    skipped: int = 0
    new: int = 0

    def add(self, result: PollResult) -> None:
        self.polled += 1
        self.new += result.new
        if result.status == "ok":
            self.ok += 1
        elif result.status == "not_modified":
            self.not_modified += 1
        elif result.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1

    def line(self) -> str:
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return (
            f"poll cycle: {self.polled} feeds polled, {self.ok} ok, "
            f"{self.not_modified} not modified, {self.failed} failed{skipped}, {self.new} new items"
        )


def first_offset(feed_id: str, interval: float) -> float:
    """Seconds after start at which the feed's first poll runs: a point in ``[0, interval)``
    fixed by the feed's id, so that many feeds spread evenly over the interval instead of all
    polling at start, and each keeps its place across restarts and replicas."""
    digest = hashlib.sha256(feed_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * interval


def jitter_for(interval: float) -> float:
    """The random delay added to each later poll: a tenth of the interval, at most a minute.

    Added afresh to every run, it makes each feed's phase wander, so feeds that were due
    together drift apart rather than polling in lock-step for ever."""
    return min(MAX_JITTER, interval / 10)


def on_tick(when: datetime) -> datetime:
    """``when`` moved to the nearest multiple of :data:`TICK` seconds."""
    return datetime.fromtimestamp(round(when.timestamp() / TICK) * TICK, when.tzinfo or UTC)


class TickTrigger(IntervalTrigger):  # type: ignore[misc]
    """APScheduler's interval trigger (interval plus a fresh random jitter each run), its times
    moved to the nearest tick (:func:`on_tick`)."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        when: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        return None if when is None else on_tick(when)


class FeedScheduler:
    """Keeps one job per feed and runs its polls, at most ``max_polls`` at a time and at most
    ``per_host`` of feeds on one host.

    A due job only hands the feed to :meth:`_run`, a task of ours: the task waits for one of
    its host's ``per_host`` slots, then for one of the ``max_polls`` slots (in that order, so
    that polls queueing for a busy host, such as a news-search host with hundreds of feeds,
    never hold the slots that other hosts' feeds need), takes the feed's lease in Redis (with
    several replicas, one of them polls a feed per interval) and polls. A feed whose previous
    poll is still waiting or running is not polled twice. :meth:`pause` and :meth:`drain` stop
    it within a bounded time at shutdown: a poll cut off there is cancelled before it records
    the feed's validators, so the next poll reads the whole feed again.
    """

    def __init__(
        self,
        poller: Poller,
        feeds: FeedStore,
        on_result: Callable[[PollResult], Awaitable[None]] | None = None,
        owner: str | None = None,
        *,
        max_polls: int = 50,
        per_host: int = 4,
    ) -> None:
        if max_polls < 1:
            raise ValueError(f"max_polls must be at least 1, not {max_polls}")
        self._poller = poller
        self._feeds = feeds
        self.on_result = on_result
        self.max_polls = max_polls
        self._slots = asyncio.Semaphore(max_polls)
        self._hosts = HostLimiter(per_host)
        self._tasks: dict[str, asyncio.Task[None]] = {}  # feed id -> its waiting or running poll
        self._polling: set[str] = set()  # feed ids holding a slot
        self._paused = False
        self._owner = owner or uuid.uuid4().hex
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._cycle = CycleCounts()
        self._summary_every = SUMMARY_EVERY

    def start(self) -> None:
        """Start running due jobs (again a no-op once started)."""
        self._paused = False
        if not self._scheduler.running:
            self._schedule_summary()
            self._scheduler.start()

    def _schedule_summary(self) -> None:
        self._scheduler.add_job(
            self.log_cycle,
            IntervalTrigger(seconds=self._summary_every),
            id=SUMMARY_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(self._summary_every),
        )

    def log_cycle(self) -> None:
        """Log one INFO line of the polls finished since the last one (none: no line)."""
        cycle, self._cycle = self._cycle, CycleCounts()
        if cycle.polled:
            log.info(cycle.line())

    def shutdown(self) -> None:
        """Stop the scheduler and cancel any poll still under way (call :meth:`drain` first to
        give them a few seconds)."""
        self._paused = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for task in self._tasks.values():
            task.cancel()

    def schedule(self, feed: FeedSpec, first_run: datetime | None = None) -> None:
        """Poll ``feed`` every interval; first at ``first_run``, by default at its own point in
        the coming interval (:func:`first_offset`)."""
        interval = max(MIN_INTERVAL, feed.interval)
        if interval < self._summary_every:  # a summary per cycle of the most frequent feed
            self._summary_every = float(interval)
            if self._scheduler.running:
                self._schedule_summary()
        if first_run is None:
            first_run = on_tick(
                datetime.now(UTC) + timedelta(seconds=first_offset(feed.id, interval))
            )
        self._scheduler.add_job(
            self._due,
            TickTrigger(seconds=interval, jitter=jitter_for(interval), timezone=UTC),
            args=(feed, urlsplit(feed.url).hostname or ""),
            id=f"feed:{feed.id}",
            name=feed.url,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # the 1 s default silently drops runs that start late under load
            misfire_grace_time=interval,
            next_run_time=first_run,
        )

    def unschedule(self, feed_id: str) -> None:
        job = self._scheduler.get_job(f"feed:{feed_id}")
        if job is not None:
            job.remove()

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs() if job.id != SUMMARY_JOB)

    @property
    def in_flight(self) -> int:
        """Polls holding a slot now (fetching, parsing or ingesting)."""
        return len(self._polling)

    @property
    def waiting(self) -> int:
        """Due polls waiting for a slot (their host's or one of ``max_polls``)."""
        return len(self._tasks) - len(self._polling)

    def pause(self) -> None:
        """Start no new poll (before :meth:`drain` at shutdown)."""
        self._paused = True
        if self._scheduler.running:
            self._scheduler.pause()

    async def drain(self, within: float = 3.0, grace: float = 2.0) -> None:
        """Give polls under way up to ``within`` seconds to finish, then cancel them and wait up
        to ``grace`` seconds more for them to unwind. Polls still waiting for a slot are
        cancelled at once: they have not started and the next run reads their feeds."""
        for feed_id, task in self._tasks.items():
            if feed_id not in self._polling:
                task.cancel()
        pending = set(self._tasks.values())
        if pending:
            _, pending = await asyncio.wait(pending, timeout=within)
        if not pending:
            return
        log.info("cancelling %d polls still under way", len(pending))
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
        if pending:
            log.warning("%d cancelled polls did not stop within %g s", len(pending), grace)

    async def _due(self, feed: FeedSpec, host: str | None = None) -> None:
        """The APScheduler job: start the feed's poll unless one is already waiting or running.
        Returns at once, so the scheduler never waits on a slow feed."""
        if self._paused:
            return
        if feed.id in self._tasks:
            # its host or the poll slots are busy: the waiting poll reads everything new anyway
            log.debug(
                "feed %s: previous poll still under way; this run skipped", feed.id,
                extra={"feed_id": feed.id},
            )  # fmt: skip
            return
        task = asyncio.create_task(self._run(feed, host), name=f"poll:{feed.id}")
        self._tasks[feed.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(feed.id, None))

    async def _run(self, feed: FeedSpec, host: str | None = None) -> None:
        """Poll ``feed`` once slots are free (``host``: its URL's host, found when scheduled)."""
        if host is None:
            host = urlsplit(feed.url).hostname or ""
        slot = self._hosts.slot(host)
        await slot.acquire()
        held = True

        def fetched() -> None:
            # the host's slot covers the download only: parsing and queueing the items of
            # one host's feeds never keep that host's next downloads waiting
            nonlocal held
            if held:
                held = False
                slot.release()

        try:
            async with self._slots:
                await self._poll(feed, fetched)
        finally:
            fetched()

    async def _poll(self, feed: FeedSpec, fetched: Callable[[], None]) -> None:
        """Poll ``feed`` holding a poll slot; ``fetched`` gives the host's slot back."""
        if self._paused:
            return
        self._polling.add(feed.id)
        try:
            lease = max(5, int(feed.interval * 0.8))
            state = await self._feeds.lease_and_state(feed.id, self._owner, lease)
            if state is None:
                return
            try:
                result = await self._poller.poll(feed, state, fetched)
            except asyncio.CancelledError:
                # stopped mid-poll: let the next start poll the feed without waiting
                await self._feeds.release_lease(feed.id)
                raise
            self._cycle.add(result)
            log.debug(
                "feed %s: %s, %d items, %d new%s", feed.id, result.status, result.items,
                result.new, f" ({result.error})" if result.error else "",
                extra={"feed_id": feed.id},
            )  # fmt: skip
            if self.on_result is not None:
                await self.on_result(result)
        except Exception:  # a poll must never kill its task: log it, the next run retries
            self._cycle.add(PollResult(feed.id, "error"))
            log.exception("poll of feed %s failed", feed.id, extra={"feed_id": feed.id})
        finally:
            self._polling.discard(feed.id)

    async def run_now(self, feed_id: str) -> bool:
        """Bring a feed's next poll forward to now, lease or not (the demo and chat use it)."""
        job = self._scheduler.get_job(f"feed:{feed_id}")
        if job is None:
            return False
        await self._feeds.release_lease(feed_id)
        job.modify(next_run_time=datetime.now(UTC))
        return True
