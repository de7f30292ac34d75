"""The parse worker: a child process that answers in order, survives callers that stop waiting,
and is started again after it died, failing only the request it held."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import psutil
import pytest

from peacewatch.errors import ParseError
from peacewatch.watchers.parse import FeedParserPool
from peacewatch.watchers.parseworker import ParseWorker


def echo(value: object) -> object:
    return value


def pid() -> int:
    return os.getpid()


def die() -> None:
    os._exit(3)


def fail() -> None:
    raise ParseError("not a feed")


class OddError(Exception):
    """An exception pickle cannot rebuild (its constructor wants two arguments, not one)."""

    def __init__(self, a: object, b: object) -> None:
        super().__init__(f"{a}/{b}")


def raise_odd() -> None:
    raise OddError(1, 2)


def wait_for(path: str, value: object) -> object:
    """Blocks the worker until ``path`` exists (at most 30 s), then answers ``value``."""
    deadline = time.monotonic() + 30
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


async def test_answers_come_back_to_their_callers_in_another_process() -> None:
    worker = ParseWorker()
    try:
        child = await worker.call(pid)
        assert child != os.getpid()
        assert await asyncio.gather(*(worker.call(echo, n) for n in range(50))) == list(range(50))
        with pytest.raises(ParseError, match="not a feed"):
            await worker.call(fail)
        assert await worker.call(pid) == child  # an error is an answer: the same worker
    finally:
        await worker.aclose()
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"


async def test_a_caller_that_stops_waiting_leaves_the_others_their_answers(
    tmp_path: Path,
) -> None:
    worker = ParseWorker()
    gate = tmp_path / "go"
    try:
        blocked = asyncio.create_task(worker.call(wait_for, str(gate), "first"))
        await asyncio.sleep(0)  # its request written
        after = asyncio.create_task(worker.call(echo, "second"))
        blocked.cancel()
        gate.touch()
        assert await after == "second"
        assert blocked.cancelled()
    finally:
        await worker.aclose()


async def test_a_worker_that_dies_fails_its_request_and_the_next_one_starts_afresh() -> None:
    worker = ParseWorker()
    try:
        first = await worker.call(pid)
        with pytest.raises(ParseError, match="worker ended"):
            await worker.call(die)
        second = await worker.call(pid)
        assert second != first
        assert await worker.call(echo, "alive") == "alive"
    finally:
        await worker.aclose()


async def test_the_pool_needs_no_process_beside_its_worker() -> None:
    pool = FeedParserPool()
    try:
        await pool.run(echo, 1)
        lines = [" ".join(c.cmdline()) for c in psutil.Process().children(recursive=True)]
        assert sum("parseworker" in line for line in lines) == 1
        # no resource tracker beside it, as a multiprocessing pool would start
        assert not any("multiprocessing" in line for line in lines)
    finally:
        await pool.aclose()


async def test_an_answer_that_cannot_be_read_fails_its_request_alone() -> None:
    worker = ParseWorker()
    try:
        first = await worker.call(pid)
        odd, after = await asyncio.gather(
            worker.call(raise_odd), worker.call(echo, "after"), return_exceptions=True
        )
        assert isinstance(odd, ParseError) and "unreadable answer" in str(odd)
        assert after == "after"
        assert await worker.call(pid) == first  # the same worker goes on
    finally:
        await worker.aclose()


async def test_a_request_past_the_deadline_fails_and_a_new_worker_takes_the_next(
    tmp_path: Path,
) -> None:
    worker = ParseWorker(deadline=1.0)
    try:
        first = await worker.call(pid)
        stuck, behind = await asyncio.gather(
            worker.call(wait_for, str(tmp_path / "never"), "late"),  # blocks the child 30 s
            worker.call(echo, "behind"),
            return_exceptions=True,
        )
        assert isinstance(stuck, ParseError) and "longer than 1 s" in str(stuck)
        assert isinstance(behind, ParseError)  # it was queued behind: read again next poll
        assert await worker.call(echo, "next") == "next"
        assert await worker.call(pid) != first
    finally:
        await worker.aclose()
