"""Shared fixtures: a real Redis (embedded by default, REDIS_URL when set), flushed per test;
at the end, a check that the session left no embedded Redis server running."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis.asyncio as aioredis

from peacewatch.store.redis_server import start_server

_BASETEMP: list[Path] = []
"""This session's temporary directory, under which every embedded server of the tests keeps its
data (and so its working directory)."""


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's compiled-rule and model caches live in its temporary folder, never in the
    user's ~/.cache (subprocesses inherit the variable)."""
    before = os.environ.get("PEACEWATCH_CACHE_DIR")
    os.environ["PEACEWATCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("PEACEWATCH_CACHE_DIR", None)
    else:
        os.environ["PEACEWATCH_CACHE_DIR"] = before


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A disk cache folder of the test's own (empty at first)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("PEACEWATCH_CACHE_DIR", str(directory))
    return directory


@pytest.fixture(scope="session", autouse=True)
def _record_basetemp(tmp_path_factory: pytest.TempPathFactory) -> None:
    _BASETEMP.append(tmp_path_factory.getbasetemp().resolve())


@pytest.fixture(scope="session")
def redis_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Connection arguments of the test Redis: REDIS_URL if set, else one embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield {"url": url}
        return
    server = start_server(tmp_path_factory.mktemp("redis"))
    try:
        yield {"unix_socket_path": str(server.socket)}
    finally:
        server.stop()


def make_client(target: dict[str, Any]) -> aioredis.Redis:
    if "url" in target:
        return aioredis.Redis.from_url(target["url"], decode_responses=True)
    return aioredis.Redis(unix_socket_path=target["unix_socket_path"], decode_responses=True)


@pytest.fixture
async def redis_client(redis_target: dict[str, Any]) -> AsyncIterator[aioredis.Redis]:
    """An empty database for each test."""
    client = make_client(redis_target)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the real Redis, so CI can rerun them against another server."""
    for item in items:
        if "redis_client" in getattr(item, "fixturenames", ()) or "redis_target" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.redis)


def _started_here(proc: psutil.Process, basetemp: Path) -> bool:
    """Whether ``proc`` is a live redis-server working in (or listening under) ``basetemp``."""
    try:
        if "redis-server" not in proc.name() or proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return proc.cwd().startswith(str(basetemp)) or str(basetemp) in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def leftover_servers() -> list[psutil.Process]:
    """The redis-server processes this session started that still run (other sessions may run
    beside: theirs work in another temporary directory)."""
    if not _BASETEMP:
        return []
    return [p for p in psutil.process_iter() if _started_here(p, _BASETEMP[0])]


@pytest.hookimpl(trylast=True)  # after the session fixtures' teardown
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when an embedded Redis started by this session is still running (then kill
    it): every stop path must stop the server."""
    alive = leftover_servers()
    for _ in range(50):  # up to ~5 s: a server may still be saving as it exits
        if not alive:
            return
        time.sleep(0.1)
        alive = leftover_servers()
    if not alive:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for proc in alive:
        try:
            line = f"{proc.pid} {' '.join(proc.cmdline())}"
            proc.kill()
        except psutil.NoSuchProcess:
            continue
        message = f"LEAK: this test session left an embedded Redis running (killed it): {line}"
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
        else:
            print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
