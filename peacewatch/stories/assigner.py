"""The single story assigner: reads the ingest stream in order, places each article in a story,
writes each batch back in one script call, then hands the batch on for matching and alerts.

One assigner runs at a time across every replica: it holds a lease in Redis and renews it; a
replica that finds the lease lapsed (its holder died) takes over within ``LEASE`` seconds,
loads the stories of the window from Redis into a fresh :class:`WindowIndex` and continues
from the cursor, the last entry whose stories *and* alerts were finished. Entries after the
cursor that the dead holder had already placed are found in the loaded index and keep their
story; the rest are placed as the holder would have placed them (decisions depend only on the
stream), so a takeover or a restart changes no story. Every batch write is fenced by the
lease (the script checks it): a holder that lost its lease writes nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from peacewatch import metrics
from peacewatch.errors import StoreError
from peacewatch.failpoints import failpoint
from peacewatch.models import Article
from peacewatch.renewing import renewing
from peacewatch.store import keys
from peacewatch.store.articles import ArticleStore
from peacewatch.store.ingest import IngestEntry, IngestStream
from peacewatch.stories.memory import Member, StoryAssignment, WindowIndex, placement_order
from peacewatch.stories.state import (
    RETENTION,
    ArticleRow,
    BatchWriter,
    article_row,
    batch_payload,
    load_members,
)

log = logging.getLogger(__name__)

LEASE = 10.0
"""Seconds a lease lasts without renewal: the longest a dead holder delays a takeover."""
BATCH = 500
"""Stream entries placed and written per script call."""
YIELD_EVERY = 50
"""Articles placed between two yields to the event loop."""
LOAD_YIELD_EVERY = 2000
"""Stored members loaded between two turns of the event loop when the lease is taken."""
EVICT_EVERY = 2000
"""Entries between two evictions of stories that left the window."""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Placed:
    """One article of a batch, placed: what matching and alerting work on."""

    article: Article
    story: StoryAssignment
    alerts: bool
    entry_id: str
    merges: tuple[tuple[str, str], ...] = ()
    """(surviving story, absorbed story) of each merge placing this article caused."""
    resight: bool = False
    """An article seen before, queued again because another feed now carries it: it is matched
    for personal follows only (its story is the one it was placed in)."""


Handler = Callable[[Sequence[Placed]], Awaitable[None]]


@dataclass(slots=True)
class AssignerStats:
    placed: int = 0
    batches: int = 0
    takeovers: int = 0
    unreadable: int = 0
    last_batch_seconds: float = 0.0
    holder: bool = False


class LeaseLost(StoreError):
    """Another assigner holds the lease now; this one stops writing."""


class StoryAssigner:
    """See the module's docstring. ``keep``: how far behind the newest stream entry an
    article may be published and still be compared (older stories are evicted); by default
    twice the story window. ``handler`` gets each batch, in stream order, after its stories
    are written; it must be idempotent (a batch is handed on again after a crash)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        stream: IngestStream,
        articles: ArticleStore,
        handler: Handler,
        make_index: Callable[[], WindowIndex],
        keep: timedelta | None = None,
        lease_seconds: float = LEASE,
        batch: int = BATCH,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._articles = articles
        self._handler = handler
        self._make_index = make_index
        self._lease_seconds = lease_seconds
        self._batch = batch
        self._token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._index: WindowIndex | None = None
        self._cursor = "0-0"
        self._watermark = -math.inf
        self._keep = keep
        self._since_evict = 0
        self._lock = asyncio.Lock()
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._writer = BatchWriter(redis)
        self._stop = asyncio.Event()
        self.stats = AssignerStats()

    @property
    def index(self) -> WindowIndex | None:
        """The index while this process holds the lease (None otherwise)."""
        return self._index

    def _keep_seconds(self, index: WindowIndex) -> float:
        keep = self._keep if self._keep is not None else 2 * index.window
        return keep.total_seconds()

    # Lease ----------------------------------------------------------------------------------
    async def _acquire(self) -> bool:
        """Take the lease if it is free (or already ours); load the state when newly taken."""
        ms = int(self._lease_seconds * 1000)
        if self._index is not None:
            if await self._renew(keys=[keys.assigner_lease()], args=[self._token, ms]):
                return True
            log.warning("story assigner: lease lost, another replica took over")
            self._index = None
            self.stats.holder = False
        if not await self._redis.set(keys.assigner_lease(), self._token, nx=True, px=ms):
            return False
        try:
            await self._takeover()
        except BaseException:
            with contextlib.suppress(Exception):
                await self._release(keys=[keys.assigner_lease()], args=[self._token])
            raise
        return True

    async def _takeover(self) -> None:
        stored = str(await self._redis.get(keys.assigner_cursor()) or "0-0")
        cursor, _, mark = stored.partition(" ")
        watermark = float(mark) if mark else -math.inf
        index = self._make_index()
        # Loading a large window takes a while on a busy machine: the lease is renewed as for
        # a batch, and the loop is given back between chunks so that the renewals run (a lease
        # that lapsed during the load would be lost at the first batch, and the state loaded
        # again, and again).
        async with renewing(self._lease_seconds / 3, self._keep_lease, "assigner-lease"):
            members = await load_members(self._redis, watermark - self._keep_seconds(index))
            members.sort(key=placement_order)  # as load() orders them
            for n, member in enumerate(members, 1):
                index.add(member)
                if n % LOAD_YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        self._index, self._cursor, self._watermark = index, cursor, watermark
        self.stats.holder = True
        self.stats.takeovers += 1
        log.info(
            "story assigner: holding the lease; %d stories loaded, continuing after %s",
            len(index.stories), cursor,
        )  # fmt: skip

    async def release(self) -> None:
        """Give up the lease (a clean stop: a successor need not wait for it to lapse)."""
        async with self._lock:
            if self._index is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._release(keys=[keys.assigner_lease()], args=[self._token])
            self._index = None
            self.stats.holder = False

    # Work -----------------------------------------------------------------------------------
    async def step(self, block_ms: int | None = None) -> int:
        """Place one batch if this process holds (or can take) the lease; returns the entries
        finished (0: nothing waiting, or another replica holds the lease)."""
        async with self._lock:
            if not await self._acquire():
                return 0
            assert self._index is not None
            entries = await self._stream.read_after(self._cursor, self._batch, block_ms)
            if not entries:
                return 0
            # The lease is renewed while a long batch (slow summaries, a slow Redis) is handled;
            # once lost, the batch's cursor write is refused.
            async with renewing(self._lease_seconds / 3, self._keep_lease, "assigner-lease"):
                await self._place_batch(self._index, entries)
            return len(entries)

    async def _keep_lease(self) -> bool:
        """Renew the lease; False when another replica holds it."""
        ms = int(self._lease_seconds * 1000)
        return bool(await self._renew(keys=[keys.assigner_lease()], args=[self._token, ms]))

    async def drain(self, max_batches: int = 10_000) -> int:
        """Finish every entry waiting now (bounded); returns how many."""
        done = 0
        for _ in range(max_batches):
            n = await self.step()
            if not n:
                break
            done += n
        return done

    async def _place_batch(self, index: WindowIndex, entries: Sequence[IngestEntry]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        keep = self._keep_seconds(index)
        watermark = self._watermark
        placed: list[Placed] = []
        events: list[tuple[Member, tuple[tuple[str, str], ...]]] = []
        articles: list[ArticleRow] = []
        resights = await self._stream.resights([entry.entry_id for entry in entries])
        for n, entry in enumerate(entries):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let the lease renewal (and the rest of the bot) run
            if entry.article is None:
                self.stats.unreadable += 1
                log.error("story assigner: unreadable ingest entry %s skipped", entry.entry_id)
                continue
            # The newest publication time seen, never past the entry's own time (a feed that
            # dates an item in the future must not push every story out of the window).
            resight = entry.entry_id in resights
            if resight and entry.article.id not in index.placed:
                # Seen before but no longer in the window (or never placed): placing it now
                # would open a story no replay of the stream has. Its follows are skipped.
                continue
            published = entry.article.published.timestamp()
            watermark = max(watermark, min(published, entry.seq[0] / 1000))
            assignment, member = index.place(entry.article, entry.seq, watermark - keep)
            merges = index.last_merges
            placed.append(
                Placed(entry.article, assignment, entry.alerts, entry.entry_id, merges, resight)
            )
            if member is not None:
                events.append((member, merges))
                articles.append(article_row(entry.article, entry.raw))
        await self._write(index, events, articles)
        failpoint("assigner.after_write")
        await self._handler(placed)
        last = entries[-1].entry_id
        # The cursor, the resight marks and the finished entries in one step: the marks are
        # forgotten only with the cursor past them (a batch handed on again after a crash still
        # treats its resights as resights).
        backlog = await self._stream.finish(
            keys.assigner_lease(),
            self._token,
            keys.assigner_cursor(),
            f"{last} {watermark!r}",
            last,
            sorted(resights),
        )
        if backlog is None:
            self._index = None
            raise LeaseLost("the story assigner's lease lapsed during a batch")
        self._cursor, self._watermark = last, watermark
        self._since_evict += len(entries)
        if self._since_evict >= EVICT_EVERY:
            index.evict(watermark - keep)
            self._since_evict = 0
        self.stats.placed += len(placed)
        self.stats.batches += 1
        self.stats.last_batch_seconds = loop.time() - started
        metrics.ARTICLES_PLACED.inc(len(placed))
        metrics.STORY_MERGES.inc(sum(len(p.merges) for p in placed))
        metrics.ASSIGN_BATCH.observe(self.stats.last_batch_seconds)
        metrics.INGEST_BACKLOG.set(backlog)

    async def _write(
        self,
        index: WindowIndex,
        events: Sequence[tuple[Member, tuple[tuple[str, str], ...]]],
        articles: Sequence[ArticleRow],
    ) -> None:
        """One script call for the batch's stories and articles, fenced by the lease: each
        placed article, then the merges it caused, in the order they happened."""
        if not events:
            return
        payload = batch_payload(
            index, events, articles, RETENTION + index.window, self._articles.ttl_seconds
        )
        if not await self._writer.write(keys.assigner_lease(), self._token, payload):
            self._index = None
            self.stats.holder = False
            raise LeaseLost("the story assigner's lease moved to another replica")

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Place batches until :meth:`stop`; a replica without the lease checks every second
        whether it lapsed. Failures are logged and retried from the cursor."""
        self._stop.clear()
        while not self._stop.is_set():
            try:
                n = await self.step(block_ms=int(idle_seconds * 1000))
                if n == 0 and self._index is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), idle_seconds)
            except asyncio.CancelledError:
                raise
            except LeaseLost as exc:
                log.warning("story assigner: %s", exc)
            except Exception:  # a failed batch is placed again from the cursor
                log.exception("story assigner: batch failed; retrying from %s", self._cursor)
                self._index = None  # reload: the failed batch may be half in memory
                with contextlib.suppress(Exception):
                    await self._release(keys=[keys.assigner_lease()], args=[self._token])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), idle_seconds)
        await self.release()

    def stop(self) -> None:
        self._stop.set()
