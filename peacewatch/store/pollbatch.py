"""Feed polls' lease reads and health writes, coalesced into one Lua script call per short window.

Every poll takes its feed's lease with the feed's state before fetching and records its outcome
after; each is a round trip of its own when sent alone, and with hundreds of polls a second the
round trips (packing, the connection pool, two system calls here and two in Redis) cost more
than the work. :class:`PollBatch` queues those operations for ``window`` seconds and sends
them in one ``EVALSHA`` of :data:`_BATCH`, whose reply is split back to the callers; each
caller still awaits its own operation, so a poll goes on only once its lease is taken or its
outcome is stored, exactly as with one round trip each.

The script writes the same fields as one command each would; each operation's keys are in the
script's ``KEYS`` and all of them share the hash tag of ``keys.PREFIX``, so the batch runs on
Redis Cluster as on one server. A Redis error in one operation (a key of the wrong type) is that
operation's reply alone: its poll fails (a lease taken for it is given back) and the others of
the batch are stored and go on. A failed call (the connection lost) fails every operation of it;
their polls are retried at the next interval, as when their own round trip fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from peacewatch.store import keys

WINDOW = 0.02
"""Seconds an operation waits for others to share its round trip: at 100 polls a second, a
handful travel together; a poll that runs every minute or more never notices the delay."""
MAX_BATCH = 500
"""Operations in one script call at most (a batch never blocks Redis for long)."""

# One operation after another, each as an opcode and a fixed number of arguments (ARGV) and
# keys (KEYS), answered by one entry of the reply in order:
#   L owner seconds                   lease, http, health -> {1, etag, last_modified, digest,
#                                                             polled} or {0} (held elsewhere)
#   N at has_validators etag lm digest                http, health -> 1
#   O at new garbled checked items has_validators etag lm digest   http, health -> 1
#   E at error                                        health -> 1
_BATCH = """
local function lease(k, a)
  if not redis.call('SET', KEYS[k], ARGV[a + 1], 'NX', 'EX', ARGV[a + 2]) then
    return {0}
  end
  local read, reply = pcall(function()
    local v = redis.call('HMGET', KEYS[k + 1], 'etag', 'last_modified', 'digest')
    return {1, v[1] or '', v[2] or '', v[3] or '', redis.call('HEXISTS', KEYS[k + 2], 'last_ok')}
  end)
  if not read then
    redis.call('DEL', KEYS[k])  -- a lease whose poll fails is not kept
    error(reply)
  end
  return reply
end

local function not_modified(k, a)
  if ARGV[a + 2] == '1' then
    redis.call('HSET', KEYS[k], 'etag', ARGV[a + 3], 'last_modified', ARGV[a + 4],
               'digest', ARGV[a + 5])
  end
  redis.call('HSET', KEYS[k + 1], 'last_poll', ARGV[a + 1], 'consecutive_failures', 0)
  redis.call('HINCRBY', KEYS[k + 1], 'polls', 1)
  redis.call('HINCRBY', KEYS[k + 1], 'not_modified', 1)
  return 1
end

local function read_ok(k, a)
  local at = ARGV[a + 1]
  if ARGV[a + 6] == '1' then
    redis.call('HSET', KEYS[k], 'etag', ARGV[a + 7], 'last_modified', ARGV[a + 8],
               'digest', ARGV[a + 9])
  end
  redis.call('HSET', KEYS[k + 1], 'last_poll', at, 'last_ok', at, 'last_new', ARGV[a + 2],
             'garbled', ARGV[a + 3], 'garbled_checked', ARGV[a + 4],
             'consecutive_failures', 0)
  if ARGV[a + 3] ~= '0' then
    redis.call('HSET', KEYS[k + 1], 'garbled_at', at)
  end
  redis.call('HINCRBY', KEYS[k + 1], 'polls', 1)
  redis.call('HINCRBY', KEYS[k + 1], 'items_seen', ARGV[a + 5])
  return 1
end

local function failed(k, a)
  redis.call('HSET', KEYS[k], 'last_poll', ARGV[a + 1], 'last_error', ARGV[a + 2],
             'last_error_at', ARGV[a + 1])
  redis.call('HINCRBY', KEYS[k], 'polls', 1)
  redis.call('HINCRBY', KEYS[k], 'failures', 1)
  redis.call('HINCRBY', KEYS[k], 'consecutive_failures', 1)
  return 1
end

-- opcode: its function, then how many KEYS and ARGV (opcode included) it takes
local OPS = {L = {lease, 3, 3}, N = {not_modified, 2, 6}, O = {read_ok, 2, 10},
             E = {failed, 1, 3}}
local out = {}
local k, a = 1, 1
while a <= #ARGV do
  local op = OPS[ARGV[a]]
  if not op then
    return redis.error_reply('unknown poll batch operation ' .. tostring(ARGV[a]))
  end
  local done, reply = pcall(op[1], k, a)
  if done then
    out[#out + 1] = reply
  else  -- this operation's error is its reply alone; the others go on
    out[#out + 1] = redis.error_reply(type(reply) == 'table' and reply.err or tostring(reply))
  end
  k, a = k + op[2], a + op[3]
end
return out
"""


@dataclass(slots=True)
class _Op:
    keys: Sequence[str]
    args: Sequence[str | int]
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class PollBatch:
    """Queues poll operations and sends them together; ``window`` 0 sends what one turn of the
    event loop queued."""

    def __init__(self, redis: aioredis.Redis, window: float = WINDOW) -> None:
        self._redis = redis
        self._window = window
        self._script = redis.register_script(_BATCH)
        self._pending: list[_Op] = []
        self._sender: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        """Calls under way (the event loop keeps only weak references to tasks)."""

    async def lease_and_state(self, feed_id: str, owner: str, seconds: int) -> list[Any]:
        """``[1, etag, last_modified, digest, polled]``, or ``[0]`` when another owner holds the
        feed's lease."""
        op_keys = (keys.feed_lease(feed_id), keys.feed_http(feed_id), keys.feed_health(feed_id))
        reply: list[Any] = await self._run(op_keys, ("L", owner, seconds))
        return reply

    async def not_modified(self, feed_id: str, at: str, validators: Sequence[str] | None) -> None:
        fields = ("1", *validators) if validators is not None else ("", "", "", "")
        await self._run((keys.feed_http(feed_id), keys.feed_health(feed_id)), ("N", at, *fields))

    async def ok(
        self,
        feed_id: str,
        at: str,
        counts: tuple[int, int, int, int],
        validators: Sequence[str] | None,
    ) -> None:
        """``counts``: new, garbled, checked, items."""
        fields = ("1", *validators) if validators is not None else ("", "", "", "")
        await self._run(
            (keys.feed_http(feed_id), keys.feed_health(feed_id)), ("O", at, *counts, *fields)
        )

    async def error(self, feed_id: str, at: str, error: str) -> None:
        await self._run((keys.feed_health(feed_id),), ("E", at, error))

    async def _run(self, op_keys: Sequence[str], args: Sequence[str | int]) -> Any:
        op = _Op(op_keys, args)
        self._pending.append(op)
        if self._sender is None:
            self._sender = self._keep(
                asyncio.create_task(self._send_soon(), name="feed-poll-batch")
            )
        elif len(self._pending) >= MAX_BATCH:
            self._flush()
        try:
            return await op.done
        except asyncio.CancelledError:
            # a caller that stops waiting before its operation was sent withdraws it (a lease
            # taken for a poll that no longer runs would keep the feed from every replica)
            with contextlib.suppress(ValueError):
                self._pending.remove(op)
            raise

    def _keep(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return task

    async def _send_soon(self) -> None:
        try:
            await asyncio.sleep(self._window)
        except asyncio.CancelledError:
            self._sender = None
            for op in self._take_all():
                op.done.cancel()
            raise
        self._sender = None
        await asyncio.gather(*(self._send(ops) for ops in self._batches()))

    def _flush(self) -> None:
        """Send a full batch now, without waiting for the window."""
        task = self._keep(
            asyncio.create_task(self._send(self._take()), name="feed-poll-batch-full")
        )
        task.add_done_callback(_never_raised)

    def _take(self) -> list[_Op]:
        ops, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        return ops

    def _take_all(self) -> list[_Op]:
        ops, self._pending = self._pending, []
        return ops

    def _batches(self) -> list[list[_Op]]:
        out = []
        while self._pending:
            out.append(self._take())
        return out

    async def _send(self, ops: list[_Op]) -> None:
        """Run ``ops`` in one script call and hand each its reply (an operation's own error is
        its reply alone); a failed call goes to all."""
        script_keys: list[str] = []
        script_args: list[str | int] = []
        for op in ops:
            script_keys.extend(op.keys)
            script_args.extend(op.args)
        try:
            replies = await self._script(keys=script_keys, args=script_args)
        except Exception as exc:
            for op in ops:
                if not op.done.done():
                    op.done.set_exception(exc)
            return
        except BaseException:
            for op in ops:
                op.done.cancel()
            raise
        for op, reply in zip(ops, replies, strict=True):
            if op.done.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(reply, Exception):
                op.done.set_exception(reply)
            else:
                op.done.set_result(reply)


def _never_raised(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # the callers got it; read here so asyncio never logs it again
