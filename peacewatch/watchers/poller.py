"""One poll of one feed: conditional fetch, parse off the loop, normalise, queue new articles."""

from __future__ import annotations

import hashlib
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from peacewatch import metrics
from peacewatch.errors import FeedError, ParseError
from peacewatch.models import Article
from peacewatch.store.feeds import FeedSpec, FeedStore, PollState, Validators
from peacewatch.store.ingest import IngestStream
from peacewatch.watchers.encoding import declared_holds
from peacewatch.watchers.fetch import Fetcher, FetchResult
from peacewatch.watchers.fulltext import needs_full_text, with_full_text
from peacewatch.watchers.items import split_items, without_items
from peacewatch.watchers.normalise import entry_id, normalise
from peacewatch.watchers.parse import FeedParserPool, ParsedFeed, RawEntry
from peacewatch.watchers.readmemory import (
    GARBLED_SAMPLE,
    UNKNOWN,
    UNREAD,
    Candidate,
    ReadMemory,
    ReadPlan,
    Remembered,
    carried_candidates,
    id_key,
    judge,
    pick_sample,
)
from peacewatch.watchers.sources import parse_source
from peacewatch.watchers.websub_proto import Discovery, discover

log = logging.getLogger(__name__)
SUBMIT_CHUNK = 200
"""Articles queued per script call (a long feed never blocks Redis for long)."""
__all__ = ["GARBLED_SAMPLE", "PollPolicy", "PollResult", "Poller"]
# the counter of each result, looked up once (a poll that finds nothing new is cheap enough
# for the label lookup to show)
_POLLS = {result: metrics.POLLS.labels(result=result) for result in ("ok", "not_modified", "error")}


@dataclass(frozen=True, slots=True)
class PollResult:
    feed_id: str
    status: Literal["ok", "not_modified", "error", "skipped"]
    items: int = 0
    new: int = 0
    error: str | None = None
    websub: Discovery | None = None
    """The WebSub hub and topic the feed advertises (read on polls that parse the feed)."""
    parsed: int = 0
    """Entries the parser read: the new items of a changed feed, or all of them."""


@dataclass(slots=True)
class Queued:
    """What ``Poller._queue_entries`` did with a read's entries."""

    new: int
    failed: int
    ids: list[str | None]
    """Per parsed entry, its article id (None: it could not be read)."""
    garbled: int = 0
    checked: int = 0
    verdicts: list[int] = field(default_factory=list)
    """Per parsed entry, its mojibake verdict when it was in the sample (``readmemory``)."""

    def __post_init__(self) -> None:
        if not self.verdicts:
            self.verdicts = [UNKNOWN] * len(self.ids)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    backfill: timedelta | None = timedelta(hours=6)
    """On a feed's first poll, alert only on items newer than this (None: alert on all)."""
    max_age: timedelta | None = timedelta(days=7)
    """On later polls, items older than this are recorded without alerting (None: no limit)."""
    full_text_pages: int = 10
    """For feeds with ``full_text``, article pages fetched per poll at most (each may take the
    whole fetch deadline)."""


def _reread_unjudged(plan: ReadPlan) -> None:
    """Let a changed feed whose mojibake sample would take remembered items never checked (the
    last read's sample took its new items first) parse those items beside its new ones, rather
    than the whole feed: the sample is the same and those items get their verdicts."""
    fps, memory = plan.items.fingerprints, plan.memory
    carried = [
        i
        for i, (fp, known) in enumerate(zip(fps, plan.known, strict=True))
        if known and memory[fp].verdict != UNREAD
    ]

    def recency(i: int) -> tuple[float, int]:  # as readmemory.samples_known ranks them
        remembered = memory[fps[i]]
        published = remembered.published
        return (published if published is not None else plan.stamp, remembered.key)

    for i in heapq.nlargest(GARBLED_SAMPLE, carried, key=recency):
        if memory[fps[i]].verdict == UNKNOWN:
            plan.known[i] = False
    plan.partial = any(plan.known)


class Poller:
    def __init__(
        self,
        fetcher: Fetcher,
        parser: FeedParserPool,
        feeds: FeedStore,
        ingest: IngestStream,
        policy: PollPolicy = PollPolicy(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._fetcher = fetcher
        self._parser = parser
        self._feeds = feeds
        self._ingest = ingest
        self._policy = policy
        self._clock = clock
        self._memory = ReadMemory()

    async def poll(
        self,
        feed: FeedSpec,
        state: PollState | None = None,
        fetched_hook: Callable[[], None] | None = None,
    ) -> PollResult:
        """Poll ``feed`` once. Never raises for a feed's own faults: they are recorded in its
        health and returned as an ``error`` result, so one broken feed never stops the others.

        ``state``: the feed's validators and whether it was read before, when the caller read
        them with its lease (``FeedStore.lease_and_state``); read here otherwise.
        ``fetched_hook``: called once the download is over (done or failed), before the body is
        parsed and its items queued (the scheduler gives its host slot back there).

        A feed that changed is parsed without the items it carried at its last complete read
        here (the same bytes in the same document: their entries were queued then), unless
        the mojibake sample needs them again (:mod:`peacewatch.watchers.readmemory`)."""
        now = self._clock()
        if state is None:
            state = await self._feeds.poll_state(feed.id)
        validators = state.validators
        try:
            try:
                fetched = await self._fetcher.fetch(
                    feed.url, etag=validators.etag, last_modified=validators.last_modified
                )
            finally:
                if fetched_hook is not None:
                    fetched_hook()
            digest = None if fetched.not_modified else hashlib.sha256(fetched.body).hexdigest()
            if fetched.not_modified or (digest == validators.digest and state.polled):
                return await self._unchanged(feed, fetched, validators, digest, None, now)
            plan = self._plan(feed, fetched, state.polled, now)
            if plan is not None and plan.nothing_new:
                return await self._unchanged(feed, fetched, validators, digest, plan, now)
            parsed = await self._parse(feed, fetched, plan)
        except FeedError as exc:
            log.warning("feed %s: %s", feed.id, exc)
            await self._feeds.record_error(feed.id, now, str(exc))
            _POLLS["error"].inc()
            metrics.FETCH_ERRORS.labels(kind=type(exc).__name__).inc()
            return PollResult(feed.id, "error", error=str(exc))
        partial = plan is not None and plan.partial
        carried = plan.carried() if plan is not None and partial else []
        queued = await self._queue_entries(feed, parsed, now, not state.polled, carried)
        items = len(parsed.entries) + len(carried)
        if plan is not None:
            self._remember(feed, plan, parsed, queued)
        # Validators are kept even when an entry could not be read: it fails the same way on
        # every download, and a full download would bring nothing new.
        validators = Validators(fetched.etag, fetched.last_modified, digest)
        garbled, checked = queued.garbled, queued.checked
        await self._feeds.record_ok(feed.id, now, items, queued.new, garbled, checked, validators)
        _POLLS["ok"].inc()
        metrics.ITEMS_SEEN.inc(items)
        if parsed.bozo:
            log.info("feed %s is malformed but readable: %s", feed.id, parsed.bozo)
        if parsed.encoding:
            log.info("feed %s declares no usable charset; read as %s", feed.id, parsed.encoding)
        if garbled:
            log.warning("feed %s: the text of %d of %d items checked looks garbled (mojibake)",
                        feed.id, garbled, checked)  # fmt: skip
        if queued.failed:
            log.warning("feed %s: %d of %d entries could not be read", feed.id, queued.failed,
                        len(parsed.entries))  # fmt: skip
        hub = None  # only feeds (RSS, Atom) have hubs to subscribe to: pages, channels do not
        if feed.kind == "rss":
            hub = discover(fetched.url, fetched.links, parsed.hub, parsed.self_url)
        return PollResult(
            feed.id, "ok", items=items, new=queued.new, websub=hub, parsed=len(parsed.entries)
        )

    def _plan(
        self, feed: FeedSpec, fetched: FetchResult, polled: bool, now: datetime
    ) -> ReadPlan | None:
        """How to read a fetched feed: its items and which of them the last read here had."""
        if feed.kind != "rss" or not declared_holds(fetched.body, fetched.content_type):
            return None  # a body we re-encode, or not a feed: read whole, remember nothing
        items = split_items(fetched.body, fetched.content_type)
        if items is None:
            return None
        memory = self._memory.get(feed.id) if polled else None
        plan = ReadPlan(items, memory or {}, now.timestamp())
        if plan.memory and not plan.partial and any(plan.known) and not all(plan.known):
            _reread_unjudged(plan)
        return plan

    async def _unchanged(
        self,
        feed: FeedSpec,
        fetched: FetchResult,
        validators: Validators,
        digest: str | None,
        plan: ReadPlan | None,
        now: datetime,
    ) -> PollResult:
        """A poll that found nothing new to read: 304, the same body, or only items it had."""
        same = None
        if digest is not None:
            same = Validators(fetched.etag, fetched.last_modified, digest)
            if same == validators:
                same = None  # stored already
        if plan is not None:
            self._memory.put(feed.id, plan.rows_kept())
        await self._feeds.record_not_modified(feed.id, now, same)
        _POLLS["not_modified"].inc()
        return PollResult(feed.id, "not_modified")

    async def _parse(
        self, feed: FeedSpec, fetched: FetchResult, plan: ReadPlan | None
    ) -> ParsedFeed:
        if plan is None or not plan.partial:
            return await parse_source(self._parser, feed, fetched)
        body = without_items(fetched.body, plan.items, plan.known)
        try:
            parsed = await parse_source(self._parser, feed, replace(fetched, body=body))
        except ParseError:
            parsed = None  # read whole below: its error, if any, is the feed's
        if parsed is None or len(parsed.entries) != plan.unknown_count:
            plan.partial = False
            return await parse_source(self._parser, feed, fetched)
        return parsed

    def _remember(self, feed: FeedSpec, plan: ReadPlan, parsed: ParsedFeed, queued: Queued) -> None:
        # A malformed feed is read by feedparser's loose parser, which leaves entities in a
        # guid as they are; the same item read without the others may parse strictly and get
        # another id. Such a feed is always read whole, so its items keep one id.
        rows = None if parsed.bozo else plan.rows(parsed, queued.ids, queued.verdicts)
        if rows is None:
            self._memory.forget(feed.id)
        else:
            self._memory.put(feed.id, rows)

    async def push(self, feed: FeedSpec, body: bytes, content_type: str | None) -> PollResult:
        """Read content a WebSub hub pushed for ``feed`` as a poll reads a fetched body: the
        same parser, normalising and first-sighting check, so an item both pushed and polled is
        queued once. The feed's validators and poll health are left alone: its polls go on as
        before. Raises redis errors."""
        now = self._clock()
        try:
            parsed = await self._parser.parse(body, content_type)
        except ParseError as exc:
            log.warning("feed %s: pushed content unreadable: %s", feed.id, exc)
            return PollResult(feed.id, "error", error=str(exc))
        first_poll = not await self._feeds.has_polled(feed.id)
        queued = await self._queue_entries(feed, parsed, now, first_poll, [])
        metrics.ITEMS_SEEN.inc(len(parsed.entries))
        return PollResult(feed.id, "ok", items=len(parsed.entries), new=queued.new)

    async def _queue_entries(
        self,
        feed: FeedSpec,
        parsed: ParsedFeed,
        now: datetime,
        first_poll: bool,
        carried: list[Remembered],
    ) -> Queued:
        """Queue the entries new to the feed and check a sample of the read for mojibake.

        A changed feed brings one new item among dozens queued at earlier polls: the entries'
        ids come first, one read of their claims says which ones the ingest has no work for
        (queued, and noted as carried by this feed), and only the others are normalised and
        have their language detected. The mojibake sample adds the most recent of the rest,
        normalised without language detection, and of the ``carried`` items (those of the
        last read that were not parsed again), whose verdicts are remembered."""
        window = self._policy.backfill if first_poll else self._policy.max_age
        failed = 0
        ids: list[str | None] = []
        for entry in parsed.entries:
            try:
                ids.append(entry_id(entry, feed.url))
            except Exception:  # one bad entry never stops the rest of the feed
                log.exception("feed %s: entry %r failed", feed.id, entry.link or entry.guid)
                failed += 1
                ids.append(None)
        readable = [i for i, key in enumerate(ids) if key is not None]
        todo = await self._ingest.unseen([ids[i] or "" for i in readable], feed.id)
        batch: list[tuple[Article, bool, int]] = []
        others: list[int] = []
        pages = 0
        for index, work in zip(readable, todo, strict=True):
            entry = parsed.entries[index]
            if not work:
                others.append(index)
                continue
            try:
                article = self._article(feed, parsed, entry, now, language=True)
                fresh = window is None or article.published >= now - window
                if (
                    feed.full_text
                    and fresh
                    and pages < self._policy.full_text_pages
                    and needs_full_text(article)
                    and not await self._ingest.seen(article.id)
                ):
                    pages += 1
                    article = await with_full_text(self._fetcher, article)
            except Exception:  # one bad entry never stops the rest of the feed
                log.exception("feed %s: entry %r failed", feed.id, entry.link or entry.guid)
                failed += 1
                ids[index] = None
                continue
            batch.append((article, fresh, index))
        # One feed's items reach the story assigner in publication order (ties by id), so
        # the order they happen to have in the feed never changes a story.
        batch.sort(key=lambda item: (item[0].published, item[0].id))
        new: list[bool] = []
        for start in range(0, len(batch), SUBMIT_CHUNK):
            chunk = [(article, fresh) for article, fresh, _ in batch[start : start + SUBMIT_CHUNK]]
            new += await self._ingest.submit(chunk, checked=True)
        queued = Queued(sum(new), failed, ids)
        sample = self._sample(feed, parsed, now, ids, batch, new, others, carried)
        queued.garbled, queued.checked = judge(sample)
        for candidate in sample:
            if candidate.entry >= 0:
                queued.verdicts[candidate.entry] = candidate.verdict
        return queued

    def _sample(
        self,
        feed: FeedSpec,
        parsed: ParsedFeed,
        now: datetime,
        ids: list[str | None],
        batch: list[tuple[Article, bool, int]],
        new: list[bool],
        others: list[int],
        carried: list[Remembered],
    ) -> list[Candidate]:
        """The read's mojibake sample (see ``readmemory.pick_sample``), texts filled in."""
        stamp = now.timestamp()
        # beside remembered items, whose ids are kept in part, ties go by that part
        short = bool(carried)

        def key(article_id: str) -> str | int:
            return id_key(article_id) if short else article_id

        candidates = [
            Candidate(flag, article.published.timestamp(), key(article.id), index,
                      f"{article.title}\n{article.body}")
            for (article, _, index), flag in zip(batch, new, strict=True)
        ]  # fmt: skip
        pool = []
        for i in others:
            published = parsed.entries[i].published
            pool.append(Candidate(False, stamp if published is None else published,
                                  key(ids[i] or ""), i))  # fmt: skip
        pool.extend(carried_candidates(carried, stamp))
        for candidate in heapq.nlargest(GARBLED_SAMPLE, pool, key=lambda c: (c.published, c.key)):
            if candidate.entry >= 0:
                try:
                    article = self._article(
                        feed, parsed, parsed.entries[candidate.entry], now, language=False
                    )
                except Exception:  # only sampled: an entry that fails was never queued either
                    log.debug("feed %s: sampled entry failed", feed.id, exc_info=True)
                    continue
                candidate.text = f"{article.title}\n{article.body}"
            candidates.append(candidate)
        return pick_sample(candidates)

    @staticmethod
    def _article(
        feed: FeedSpec, parsed: ParsedFeed, entry: RawEntry, now: datetime, *, language: bool
    ) -> Article:
        return normalise(
            entry,
            feed_id=feed.id,
            feed_url=feed.url,
            feed_title=parsed.title,
            fetched_at=now,
            outlet=feed.outlet or None,
            language=language,
        )
