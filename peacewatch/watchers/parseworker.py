"""The parse worker: one child process that runs parsing functions for the event loop's process.

A plain ``python -c`` child reading requests on its stdin and writing answers on its stdout,
each a length-prefixed pickle of a module-level function and its arguments (both ends are this
program; nothing else writes to the pipes). Unlike a ``multiprocessing`` pool it needs no
resource-tracker process beside it (13 MB) and imports only what the functions it runs
import. Requests are answered in order; a caller that stops waiting leaves its answer to be
read and dropped. A worker that dies fails the requests it held with ``ParseError`` and is
started again for the next one, so one body that kills it never stops the others.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from peacewatch.errors import ParseError

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("!Q")
DEADLINE = 120.0
"""Seconds one request may take in the child (feedparser reads a 16 MB feed in about 20 s);
past it the child is stopped and a new one starts for the next request."""
_CHILD = "from peacewatch.watchers.parseworker import serve; serve()"


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """The child's loop: read a request, run it, write its answer; until stdin closes."""
    source = stdin or sys.stdin.buffer
    sink = stdout or sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the answers
    # Ctrl-C in a terminal reaches the whole process group: the bot stops its worker itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        head = source.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return
        function, args = pickle.loads(source.read(_LENGTH.unpack(head)[0]))  # noqa: S301 (our pipe)
        try:
            answer: tuple[bool, Any] = (True, function(*args))
        except Exception as exc:  # the caller's to handle: sent back as it was raised
            answer = (False, exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an answer that does not pickle: say what it was
            data = pickle.dumps((False, ParseError(f"{type(exc).__name__}: {exc}")))
        sink.write(_LENGTH.pack(len(data)) + data)
        sink.flush()


class ParseWorker:
    """The event loop's side: starts the child on first use and again after it died."""

    def __init__(self, deadline: float = DEADLINE) -> None:
        self._deadline = deadline
        self._proc: asyncio.subprocess.Process | None = None
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._asked = asyncio.Event()  # a request was written since the reader last looked
        self._reader: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in the child; raises what it raised, or ParseError when the
        child died first."""
        frame = pickle.dumps((function, args), protocol=pickle.HIGHEST_PROTOCOL)
        proc = await self._process()
        assert proc.stdin is not None
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(answer)  # in the order of the writes: no await in between
        self._asked.set()
        try:
            proc.stdin.write(_LENGTH.pack(len(frame)) + frame)
            await proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            if not answer.done():
                answer.set_exception(ParseError(f"the parse worker is gone: {exc}"))
        return await answer

    async def _process(self) -> asyncio.subprocess.Process:
        async with self._starting:
            if self._proc is not None and self._reader is not None and not self._reader.done():
                return self._proc
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _CHILD,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            )  # fmt: skip
            self._proc = proc
            self._reader = asyncio.create_task(self._read(proc), name="parse-worker-answers")
            return proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                if not self._waiting:
                    self._asked.clear()
                    await self._asked.wait()
                    continue
                try:
                    # the first request waiting is the child's now: its answer comes in time
                    async with asyncio.timeout(self._deadline):
                        head = await proc.stdout.readexactly(_LENGTH.size)
                except TimeoutError:
                    self._overdue(proc)
                    return
                body = await proc.stdout.readexactly(_LENGTH.unpack(head)[0])
                try:
                    ok, value = pickle.loads(body)  # noqa: S301 (our child, as multiprocessing)
                except Exception as exc:  # an exception that cannot be rebuilt here, say
                    ok, value = False, ParseError(f"unreadable answer of the parse worker: {exc}")
                answer = self._waiting.popleft()
                if answer.done():
                    continue  # its caller stopped waiting
                if ok:
                    answer.set_result(value)
                else:
                    answer.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            if self._waiting:
                log.warning("the parse worker ended; a new one starts for the next feed")
        finally:
            self._fail_waiting()

    def _overdue(self, proc: asyncio.subprocess.Process) -> None:
        """Fail the request the child has taken too long on and stop the child (the requests
        behind it fail too, as when it dies; their feeds are read again at their next poll)."""
        log.warning("the parse worker took over %.0f s on one request; a new one starts for the "
                    "next feed", self._deadline)  # fmt: skip
        answer = self._waiting.popleft()
        if not answer.done():
            answer.set_exception(ParseError(f"parsing took longer than {self._deadline:.0f} s"))
        with contextlib.suppress(ProcessLookupError):
            proc.kill()

    def _fail_waiting(self) -> None:
        while self._waiting:
            answer = self._waiting.popleft()
            if not answer.done():
                answer.set_exception(ParseError("the parse worker ended before it answered"))

    async def aclose(self) -> None:
        """Stop the child and wait until it has exited (its pipes closed)."""
        proc = self._proc
        self.close()
        if proc is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await proc.wait()

    def close(self) -> None:
        """Stop the child (it holds no state: whatever it was parsing is dropped); ``aclose``
        also waits for it to exit."""
        proc, self._proc = self._proc, None
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        self._fail_waiting()
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
