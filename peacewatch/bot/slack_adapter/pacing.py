"""Per-channel pacing of Slack messages: new posts first, then coalesced edits of posted ones."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

import redis.asyncio as aioredis

from peacewatch.store import keys

log = logging.getLogger(__name__)

EDIT_ATTEMPTS = 5
"""Attempts at one edit that Slack keeps refusing for now (429, outage) before it is dropped;
the message's stored state stays, and the story's next follow-up edits it again."""


class ChannelPacer:
    """At most one message per ``interval`` seconds to each channel on average (Slack asks for
    1/s), with bursts of up to ``burst`` messages (Slack allows short ones).

    A token bucket per channel: a post takes a token, or reserves the next one and waits for
    it, so concurrent posts to one channel queue up one interval apart; other channels are not
    slowed. An edit only takes a token that is there now and that no post has reserved, and
    when bursts are allowed it leaves one for the next new post (``take_free``), so it never
    makes a post wait behind it. Clock and sleep are injectable.
    """

    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        burst: int = 1,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._burst = max(1, burst)
        self._tokens: dict[str, tuple[float, float]] = {}  # channel -> (tokens, as of when)

    def _now_tokens(self, channel: str, now: float) -> float:
        tokens, since = self._tokens.get(channel, (float(self._burst), now))
        if self.interval <= 0:
            return float(self._burst)
        return min(float(self._burst), tokens + (now - since) / self.interval)

    async def wait(self, channel: str) -> None:
        """Take a token for a new post, waiting for the next one when none is left."""
        now = self.clock()
        tokens = self._now_tokens(channel, now) - 1
        self._tokens[channel] = (tokens, now)
        if tokens < 0:
            await self.sleep(-tokens * self.interval)

    def take_free(self, channel: str) -> float:
        """Take a token for an edit if one is there now, unreserved, beyond the one kept for
        the next new post when bursts are allowed: 0.0; else the seconds until the channel is
        worth asking again (posts waiting keep it busy)."""
        now = self.clock()
        tokens = self._now_tokens(channel, now)
        needed = 2.0 if self._burst > 1 else 1.0
        if tokens < needed:
            return (needed - tokens) * self.interval
        self._tokens[channel] = (tokens - 1, now)
        return 0.0


SendEdit = Callable[[str, str], Awaitable[float | None]]
"""Sends the edit of message ``ref`` for team ``team_id`` from its stored state: None when
done (or never possible), else seconds after which to try again."""


class PendingEdits:
    """Edits waiting for a free slot of their channel, at most one per message.

    An edit only names the message: its content is the message's state in Redis at the moment
    it is sent, so several follow-ups of one story make one ``chat.update`` (latest state
    wins). The names are also kept in a Redis hash until the edit is accepted, so a restart
    resumes them (``resume``).
    """

    def __init__(self, redis: aioredis.Redis, pacer: ChannelPacer, send: SendEdit) -> None:
        self._redis = redis
        self._pacer = pacer
        self._send = send
        self._pending: dict[str, dict[str, str]] = {}  # pacer channel -> message ref -> team
        self._not_before: dict[str, float] = {}
        self._attempts: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._resumed = False

    def __len__(self) -> int:
        return sum(len(edits) for edits in self._pending.values())

    async def add(self, team_id: str, channel: str, ref: str) -> None:
        """Ask for message ``ref`` in ``channel`` to show its stored state (coalesced)."""
        self._remember(team_id, channel, ref)
        await self._redis.hset(keys.slack_pending_edits(), ref, team_id)

    async def resume(self) -> None:
        """Take up the edits a previous run left unsent (once per sink)."""
        if self._resumed:
            return
        self._resumed = True
        left = await self._redis.hgetall(keys.slack_pending_edits())
        for raw_ref, raw_team in left.items():
            ref = raw_ref.decode() if isinstance(raw_ref, bytes) else str(raw_ref)
            team = raw_team.decode() if isinstance(raw_team, bytes) else str(raw_team)
            channel = ref.rpartition(":")[0]
            if channel:
                self._remember(team, channel, ref)

    async def flush(self, within: float = 10.0) -> bool:
        """Wait until no edit is pending (tests, shutdown); False after ``within`` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def _remember(self, team_id: str, channel: str, ref: str) -> None:
        self._pending.setdefault(f"{team_id}/{channel}", {})[ref] = team_id
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="slack-edits")

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self._pacer.clock()
            delay = float("inf")
            due: list[tuple[str, str, str]] = []
            for key, edits in list(self._pending.items()):
                later = self._not_before.get(key, 0.0) - now
                wait = later if later > 0 else self._pacer.take_free(key)
                if wait > 0:
                    delay = min(delay, wait)
                    continue
                self._not_before.pop(key, None)
                ref, team = next(iter(edits.items()))
                del edits[ref]
                if not edits:
                    del self._pending[key]
                due.append((key, ref, team))
            if due:
                await asyncio.gather(*(self._one(key, ref, team) for key, ref, team in due))
            else:
                await self._pacer.sleep(delay if delay < float("inf") else self._pacer.interval)
                await asyncio.sleep(0)  # an injected sleep may not yield

    async def _one(self, key: str, ref: str, team: str) -> None:
        try:
            retry = await self._send(ref, team)
        except Exception:  # a task boundary: one broken edit never stops the others
            log.exception("editing the Slack message %s failed", ref)
            retry = None
        if retry is not None:
            attempts = self._attempts.get(ref, 0) + 1
            if attempts < EDIT_ATTEMPTS:
                self._attempts[ref] = attempts
                self._not_before[key] = self._pacer.clock() + retry
                self._pending.setdefault(key, {}).setdefault(ref, team)
                return
            log.warning("gave up editing the Slack message %s after %d tries", ref, attempts)
        self._attempts.pop(ref, None)
        if ref in self._pending.get(key, {}):
            return  # asked again while it was being sent: the next edit shows the newer state
        try:
            await self._redis.hdel(keys.slack_pending_edits(), ref)
        except Exception:
            log.exception("could not clear the pending edit of %s", ref)
        if ref in self._pending.get(key, {}):  # asked again during the clearing
            await self._redis.hset(keys.slack_pending_edits(), ref, team)
