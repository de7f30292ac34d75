"""One poll of one feed: conditional fetch, parse off the loop, normalise, queue new articles."""

from __future__ import annotations

import hashlib
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from peacewatch import metrics
from peacewatch.errors import FeedError, ParseError
from peacewatch.models import Article
from peacewatch.store.feeds import FeedSpec, FeedStore, PollState, Validators
from peacewatch.store.ingest import IngestStream
from peacewatch.watchers.encoding import garbled_share
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.fulltext import needs_full_text, with_full_text
from peacewatch.watchers.normalise import entry_id, normalise
from peacewatch.watchers.parse import FeedParserPool, ParsedFeed, RawEntry
from peacewatch.watchers.sources import parse_source
from peacewatch.watchers.websub_proto import Discovery, discover

log = logging.getLogger(__name__)
SUBMIT_CHUNK = 200
"""Articles queued per script call (a long feed never blocks Redis for long)."""
GARBLED_SAMPLE = 25
"""Items of a read checked for mojibake, on the event loop: the new ones first, then the most
recent others (so a later read that brings nothing new still says whether the text is fixed)."""


@dataclass(frozen=True, slots=True)
class PollResult:
    feed_id: str
    status: Literal["ok", "not_modified", "error", "skipped"]
    items: int = 0
    new: int = 0
    error: str | None = None
    websub: Discovery | None = None
    """The WebSub hub and topic the feed advertises (read on polls that parse the feed)."""


@dataclass(frozen=True, slots=True)
class PollPolicy:
    backfill: timedelta | None = timedelta(hours=6)
    """On a feed's first poll, alert only on items newer than this (None: alert on all)."""
    max_age: timedelta | None = timedelta(days=7)
    """On later polls, items older than this are recorded without alerting (None: no limit)."""
    full_text_pages: int = 10
    """For feeds with ``full_text``, article pages fetched per poll at most (each may take the
    whole fetch deadline)."""


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

    async def poll(self, feed: FeedSpec, state: PollState | None = None) -> PollResult:
        """Poll ``feed`` once. Never raises for a feed's own faults: they are recorded in its
        health and returned as an ``error`` result, so one broken feed never stops the others.

        ``state``: the feed's validators and whether it was read before, when the caller read
        them with its lease (``FeedStore.lease_and_state``); read here otherwise."""
        now = self._clock()
        if state is None:
            state = await self._feeds.poll_state(feed.id)
        validators = state.validators
        try:
            fetched = await self._fetcher.fetch(
                feed.url, etag=validators.etag, last_modified=validators.last_modified
            )
            digest = None if fetched.not_modified else hashlib.sha256(fetched.body).hexdigest()
            if fetched.not_modified or (digest == validators.digest and state.polled):
                same = None  # the same body as last time: nothing new to read
                if digest is not None:
                    same = Validators(fetched.etag, fetched.last_modified, digest)
                await self._feeds.record_not_modified(feed.id, now, same)
                metrics.POLLS.labels(result="not_modified").inc()
                return PollResult(feed.id, "not_modified")
            parsed = await parse_source(self._parser, feed, fetched)
        except FeedError as exc:
            log.warning("feed %s: %s", feed.id, exc)
            await self._feeds.record_error(feed.id, now, str(exc))
            metrics.POLLS.labels(result="error").inc()
            metrics.FETCH_ERRORS.labels(kind=type(exc).__name__).inc()
            return PollResult(feed.id, "error", error=str(exc))
        sample, new, failed = await self._queue_entries(feed, parsed, now, not state.polled)
        # Validators are kept even when an entry could not be read: it fails the same way on
        # every download, and a full download would bring nothing new.
        validators = Validators(fetched.etag, fetched.last_modified, digest)
        garbled, checked = garbled_share(sample)
        await self._feeds.record_ok(
            feed.id, now, len(parsed.entries), new, garbled, checked, validators
        )
        metrics.POLLS.labels(result="ok").inc()
        metrics.ITEMS_SEEN.inc(len(parsed.entries))
        if parsed.bozo:
            log.info("feed %s is malformed but readable: %s", feed.id, parsed.bozo)
        if parsed.encoding:
            log.info("feed %s declares no usable charset; read as %s", feed.id, parsed.encoding)
        if garbled:
            log.warning("feed %s: the text of %d of %d items checked looks garbled (mojibake)",
                        feed.id, garbled, checked)  # fmt: skip
        if failed:
            log.warning("feed %s: %d of %d entries could not be read", feed.id, failed,
                        len(parsed.entries))  # fmt: skip
        hub = None  # only feeds (RSS, Atom) have hubs to subscribe to: pages, channels do not
        if feed.kind == "rss":
            hub = discover(fetched.url, fetched.links, parsed.hub, parsed.self_url)
        return PollResult(feed.id, "ok", items=len(parsed.entries), new=new, websub=hub)

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
        _, new, _ = await self._queue_entries(feed, parsed, now, first_poll)
        metrics.ITEMS_SEEN.inc(len(parsed.entries))
        return PollResult(feed.id, "ok", items=len(parsed.entries), new=new)

    async def _queue_entries(
        self, feed: FeedSpec, parsed: ParsedFeed, now: datetime, first_poll: bool
    ) -> tuple[list[str], int, int]:
        """Queue the entries new to the feed: (the texts to check for mojibake, how many were
        new, how many could not be read).

        A changed feed brings one new item among dozens queued at earlier polls: the entries'
        ids come first, one read of their claims says which ones the ingest has no work for
        (queued, and noted as carried by this feed), and only the others are normalised and
        have their language detected. The mojibake sample adds the most recent of the rest,
        normalised without language detection."""
        window = self._policy.backfill if first_poll else self._policy.max_age
        failed = 0
        known: list[tuple[RawEntry, str]] = []
        for entry in parsed.entries:
            try:
                known.append((entry, entry_id(entry, feed.url)))
            except Exception:  # one bad entry never stops the rest of the feed
                log.exception("feed %s: entry %r failed", feed.id, entry.link or entry.guid)
                failed += 1
        todo = await self._ingest.unseen([i for _, i in known], feed.id)
        batch: list[tuple[Article, bool]] = []
        others: list[tuple[RawEntry, str]] = []
        pages = 0
        for (entry, entry_key), work in zip(known, todo, strict=True):
            if not work:
                others.append((entry, entry_key))
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
                continue
            batch.append((article, fresh))
        # One feed's items reach the story assigner in publication order (ties by id), so
        # the order they happen to have in the feed never changes a story.
        batch.sort(key=lambda item: (item[0].published, item[0].id))
        new: list[bool] = []
        for start in range(0, len(batch), SUBMIT_CHUNK):
            new += await self._ingest.submit(batch[start : start + SUBMIT_CHUNK], checked=True)
        stamp = now.timestamp()
        recent = heapq.nlargest(
            GARBLED_SAMPLE,
            others,
            key=lambda pair: (pair[0].published if pair[0].published is not None else stamp,
                              pair[1]),
        )  # fmt: skip
        checked = [(article, False) for article, _ in batch]
        for entry, _ in recent:
            try:
                checked.append((self._article(feed, parsed, entry, now, language=False), False))
            except Exception:  # only sampled: an entry that fails was never queued either
                log.debug("feed %s: sampled entry failed", feed.id, exc_info=True)
        flags = [*new, *(False for _ in range(len(checked) - len(new)))]
        order = sorted(range(len(checked)), key=lambda i: (checked[i][0].published,
                                                           checked[i][0].id))  # fmt: skip
        sample = _garbled_sample([checked[i] for i in order], [flags[i] for i in order])
        return sample, sum(new), failed

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


def _garbled_sample(batch: list[tuple[Article, bool]], new: list[bool]) -> list[str]:
    """The texts checked for mojibake: at most GARBLED_SAMPLE, new items first, then the most
    recent others (``batch`` is oldest first)."""
    order = sorted(range(len(batch)), key=lambda i: (not new[i], -i))[:GARBLED_SAMPLE]
    return [f"{batch[i][0].title}\n{batch[i][0].body}" for i in order]
