"""The embedded Redis through real stops and crashes of `peacewatch run`: every stop stops the
server with its data saved, and a start after kill -9 works at the first try with the data."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest
import redis.asyncio as aioredis

from peacewatch.store.redis_config import socket_path
from tests.helpers import free_port, start_run

PR_SET_CHILD_SUBREAPER = 36


def servers_for(data_dir: Path) -> list[psutil.Process]:
    """Live (not zombie) redis-server processes whose command line names ``data_dir``."""
    found = []
    for proc in psutil.process_iter():
        try:
            if (
                "redis-server" in proc.name()
                and proc.status() != psutil.STATUS_ZOMBIE
                and str(data_dir.resolve()) in " ".join(proc.cmdline())
            ):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def redis_children(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True) if "redis" in p.name()]


async def wait_healthy(proc: asyncio.subprocess.Process, port: int) -> None:
    """Wait (up to ~30 s) until /healthz answers 200; fail at once if the process exits."""
    async with aiohttp.ClientSession() as http:
        for _ in range(150):
            if proc.returncode is not None:
                break
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    stderr = b""
    if proc.returncode is not None and proc.stderr is not None:
        stderr = await proc.stderr.read()
    raise AssertionError(f"no healthy start (exit {proc.returncode}): {stderr.decode()[-2000:]}")


def client_for(data_dir: Path) -> aioredis.Redis:
    sock = socket_path(data_dir.resolve())
    return aioredis.Redis(unix_socket_path=str(sock), decode_responses=True)


async def stop(proc: asyncio.subprocess.Process, sig: signal.Signals) -> str:
    """Send ``sig``, wait (bounded) for the exit; the process's stderr. A process that does not
    stop is killed, with its Redis, and fails the test."""
    servers = redis_children(proc.pid) if proc.returncode is None else []
    if proc.returncode is None:
        proc.send_signal(sig)
    communicating = asyncio.ensure_future(proc.communicate())
    done, _ = await asyncio.wait([communicating], timeout=60)
    if not done:
        proc.kill()
        for server in servers:
            with contextlib.suppress(psutil.NoSuchProcess):
                server.kill()
    _out, err = await communicating
    assert done, f"no stop within 60 s after {sig.name}: {err.decode()[-3000:]}"
    return err.decode()


@contextlib.contextmanager
def adopting_orphans() -> Iterator[None]:
    """Make this process the reaper of orphaned descendants (Linux), which it reaps only at the
    end: a killed redis-server then lingers as a zombie, as under a supervisor that reaps late.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if not sys.platform.startswith("linux") or libc.prctl(PR_SET_CHILD_SUBREAPER, 1) != 0:
        pytest.skip("needs Linux's child subreaper")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0)
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.NoSuchProcess, ChildProcessError):
                if child.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(child.pid, os.WNOHANG)


def config_file(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text("team: default\n")
    return config


async def test_start_after_kill_9_of_bot_and_redis_works_at_once_with_the_data(
    tmp_path: Path,
) -> None:
    config, data = config_file(tmp_path), tmp_path / "data"
    with adopting_orphans():
        port = free_port()
        first = await start_run(config, data, port)
        try:
            await wait_healthy(first, port)
            servers = redis_children(first.pid)
            assert len(servers) == 1 and servers[0].name() == "redis-server"
            client = client_for(data)
            await client.set("pw:test:survivor", "written before the crash")
            await client.aclose()
        finally:
            servers = redis_children(first.pid) if first.returncode is None else []
            first.kill()
            for server in servers:
                server.kill()
        await asyncio.wait_for(first.communicate(), 30)
        for server in servers:  # dead, but not reaped: it lingers as a zombie
            for _ in range(100):
                if server.status() == psutil.STATUS_ZOMBIE:
                    break
                await asyncio.sleep(0.1)
            assert server.status() == psutil.STATUS_ZOMBIE
        assert not servers_for(data)

        port = free_port()
        second = await start_run(config, data, port)
        try:
            await wait_healthy(second, port)  # the first start after the crash works
            client = client_for(data)
            assert await client.get("pw:test:survivor") == "written before the crash"
            await client.aclose()
        finally:
            err = await stop(second, signal.SIGTERM)
        assert second.returncode == 0, err[-2000:]
        assert not servers_for(data)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_stops_the_embedded_redis_with_its_data_saved(
    tmp_path: Path, sig: signal.Signals
) -> None:
    config, data = config_file(tmp_path), tmp_path / "data"
    port = free_port()
    proc = await start_run(config, data, port, {"PEACEWATCH_LOG_LEVEL": "DEBUG"})
    try:
        await wait_healthy(proc, port)
        (server,) = redis_children(proc.pid)
        client = client_for(data)
        await client.set("pw:test:kept", "across a stop")
        await client.aclose()
    finally:
        err = await stop(proc, sig)
    assert proc.returncode == 0, err[-2000:]
    assert not server.is_running()  # stopped and reaped by the bot
    assert not servers_for(data)
    assert "WARNING" not in err and "shutdown failed" not in err.lower(), err[-2000:]
    assert not socket_path(data.resolve()).exists()

    port = free_port()
    again = await start_run(config, data, port)
    try:
        await wait_healthy(again, port)
        client = client_for(data)
        assert await client.get("pw:test:kept") == "across a stop"  # reloaded from the data dir
        await client.aclose()
    finally:
        await stop(again, signal.SIGTERM)
    assert not servers_for(data)


async def test_a_failure_after_redis_started_leaves_no_server(tmp_path: Path) -> None:
    config, data = config_file(tmp_path), tmp_path / "data"
    with socket.socket() as taken:  # the HTTP port is taken: the start fails after Redis's
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = await start_run(config, data, taken.getsockname()[1])
        _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode not in (0, None), err.decode()[-2000:]
    assert "address already in use" in err.decode().lower()
    assert (data / "appendonly.aof").exists()  # the embedded Redis had started
    assert not servers_for(data)


def test_servers_for_sees_a_server_of_the_data_dir(tmp_path: Path) -> None:
    """The check the tests above rely on finds a running server (so its 'none' means none)."""
    from peacewatch.store.redis_server import start_server

    server = start_server(tmp_path)
    try:
        assert [p.pid for p in servers_for(tmp_path)] == [server.process.pid]  # type: ignore[union-attr]
    finally:
        server.stop()
    assert not servers_for(tmp_path)
    assert os.listdir(tmp_path)  # the data stays
