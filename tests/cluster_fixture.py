"""Real Redis topologies for the tests, started from the machine's ``redis-server`` on 127.0.0.1:
a three-node Redis Cluster (no replicas) and a master watched by one Sentinel. Every server
works in a temporary directory of the test session (so the session's leak check sees it) and is
stopped when its fixture ends, whatever the test did."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port


def _redis_7(name: str) -> str | None:
    """The first ``name`` on PATH from Redis 7 or later (Cluster's ``--cluster-port`` is 7's;
    an activated virtualenv may put the embedded server, an older one, first on PATH)."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which(name, path=folder) if folder else None
        if found is None:
            continue
        try:
            said = subprocess.run([found, "--version"], capture_output=True, text=True,
                                  timeout=10, check=False).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        version = re.search(r"(?:v=|redis-cli )(\d+)\.", said)
        if version and int(version[1]) >= 7:
            return found
    return None


REDIS_SERVER = _redis_7("redis-server")
REDIS_CLI = _redis_7("redis-cli")
needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_CLI is None,
    reason="redis-server and redis-cli 7 or later are not installed (apt-get install redis-server)",
)
TEST_DEADLINE = 90.0
"""Seconds a scenario may take on these servers before it fails (with the place it waited)."""
START_DEADLINE = 20.0
"""Seconds a server (or the cluster as a whole) has to come up before the fixture gives up."""


def bounded(test: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[None]]:
    """``test`` (an async test, with its fixtures and marks) failing after ``TEST_DEADLINE``
    seconds instead of waiting for ever on a server that never answers."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        await asyncio.wait_for(test(*args, **kwargs), TEST_DEADLINE)

    return run


def _cli(port: int, *args: str) -> str:
    assert REDIS_CLI is not None
    done = subprocess.run(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout + done.stderr


def _wait(what: str, ready: object, procs: list[subprocess.Popen[bytes]]) -> None:
    """Poll ``ready()`` until it holds (a server has no event to await from outside); fail at
    once when one of ``procs`` exited, and after ``START_DEADLINE`` seconds."""
    assert callable(ready)
    deadline = time.monotonic() + START_DEADLINE
    while not ready():
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: redis-server exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {START_DEADLINE} s")
        time.sleep(0.05)


def _die_with_parent() -> None:
    """In the child before it runs redis-server: the kernel stops it when the test process dies
    (killed, or a fixture's teardown never ran), so no server outlives the test session."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Servers:
    """redis-server processes started for one fixture, stopped together."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, workdir: Path, *args: str) -> subprocess.Popen[bytes]:
        assert REDIS_SERVER is not None
        workdir.mkdir(parents=True, exist_ok=True)
        with open(workdir / "server.log", "wb") as log:  # the server keeps its own copy
            proc = subprocess.Popen(
                [REDIS_SERVER, *args],
                cwd=workdir,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,  # call from the main thread: the signal follows it
            )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _answers(port: int) -> bool:
    return "PONG" in _cli(port, "PING")


@dataclass
class Cluster:
    ports: list[int]
    servers: Servers
    root: Path

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)


def _base_args(port: int) -> list[str]:
    return [
        "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--repl-diskless-sync-delay", "0",  # a replica syncs at once, not 5 s later
    ]  # fmt: skip


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A three-node Redis Cluster on 127.0.0.1 (every slot served, no replicas)."""
    if REDIS_SERVER is None or REDIS_CLI is None:
        pytest.skip("redis-server and redis-cli are not installed (apt-get install redis-server)")
    root = tmp_path_factory.mktemp("cluster")
    servers = Servers()
    try:
        ports = []
        for n in range(3):
            port = free_port()
            ports.append(port)
            servers.start(
                root / str(n),
                *_base_args(port),
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                str(free_port()),
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            )
        _wait("cluster nodes", lambda: all(_answers(p) for p in ports), servers.procs)
        nodes = [f"127.0.0.1:{p}" for p in ports]
        made = _cli(ports[0], "--cluster", "create", *nodes, "--cluster-replicas", "0",
                    "--cluster-yes")  # fmt: skip
        if "All 16384 slots covered" not in made:
            raise RuntimeError(f"redis-cli --cluster create failed: {made}")
        _wait(
            "cluster state",
            lambda: all("cluster_state:ok" in _cli(p, "CLUSTER", "INFO") for p in ports),
            servers.procs,
        )
        yield Cluster(ports, servers, root)
    finally:
        servers.stop()


def _node_id(port: int) -> str:
    return _cli(port, "CLUSTER", "MYID").strip()


def _slot_owner(port: int, slot: int) -> int:
    """The port of the master serving ``slot``, from CLUSTER NODES as ``port`` sees it."""
    for line in _cli(port, "CLUSTER", "NODES").splitlines():
        fields = line.split()
        if len(fields) < 9 or "master" not in fields[2]:
            continue
        for spec in fields[8:]:
            first, _, last = spec.partition("-")
            if first.isdigit() and int(first) <= slot <= int(last or first):
                return int(fields[1].split("@")[0].rpartition(":")[2])
    raise RuntimeError(f"no master serves slot {slot}")


def master_of(cluster: Cluster, key: str) -> int:
    """The port of the master that serves ``key`` now."""
    port = cluster.ports[0]
    return _slot_owner(port, int(_cli(port, "CLUSTER", "KEYSLOT", key)))


def fail_over_slot(cluster: Cluster, key: str) -> tuple[int, int]:
    """Give the master that serves ``key`` a replica, then have the replica take its slots over
    (CLUSTER FAILOVER TAKEOVER: at once, without the election a failed master's replica waits
    for; the clients see the same change of owner). Returns the old and the new master's
    port."""
    owner = master_of(cluster, key)
    port = free_port()
    cluster.servers.start(
        cluster.root / f"replica-{port}",
        *_base_args(port),
        "--cluster-enabled", "yes", "--cluster-port", str(free_port()),
        "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
    )  # fmt: skip
    _wait("replica node", lambda: _answers(port), cluster.servers.procs)
    joined = _cli(
        cluster.ports[0], "--cluster", "add-node", f"127.0.0.1:{port}",
        f"127.0.0.1:{owner}", "--cluster-slave", "--cluster-master-id", _node_id(owner),
    )  # fmt: skip
    if "[OK] New node added correctly" not in joined:
        raise RuntimeError(f"redis-cli --cluster add-node failed: {joined}")
    _wait(
        "replica sync",
        lambda: "master_link_status:up" in _cli(port, "INFO", "replication"),
        cluster.servers.procs,
    )
    # wait until every node lists the new replica, its master as its own
    _wait(
        "replica known",
        lambda: (
            all(f":{port}@" in _cli(p, "CLUSTER", "NODES") for p in cluster.ports)
            and f":{port}@" in _cli(owner, "CLUSTER", "REPLICAS", _node_id(owner))
        ),
        cluster.servers.procs,
    )

    def promoted() -> bool:
        return (
            _cli(port, "ROLE").split()[0] == "master" and _cli(owner, "ROLE").split()[0] == "slave"
        )

    for _attempt in range(3):
        _cli(port, "CLUSTER", "FAILOVER", "TAKEOVER")
        deadline = time.monotonic() + 7
        while not promoted() and time.monotonic() < deadline:
            time.sleep(0.05)
        if promoted():
            break
    else:
        raise RuntimeError("CLUSTER FAILOVER: the replica did not take over")
    cluster.ports.append(port)
    return owner, port


@dataclass
class SentinelSetup:
    master_port: int
    replica_port: int
    sentinel_port: int
    service: str = "pwmaster"

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}/0"

    def master(self) -> int:
        """The port of the server the Sentinel names master now."""
        reply = _cli(self.sentinel_port, "SENTINEL", "get-master-addr-by-name", self.service)
        return int(reply.split()[1])

    def role(self, port: int) -> str:
        return _cli(port, "ROLE").split()[0]


@pytest.fixture(scope="module")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSetup]:
    """A Redis master and its replica on 127.0.0.1, and one Sentinel that monitors them."""
    if REDIS_SERVER is None or REDIS_CLI is None:
        pytest.skip("redis-server and redis-cli are not installed (apt-get install redis-server)")
    root = tmp_path_factory.mktemp("sentinel")
    servers = Servers()
    try:
        setup = SentinelSetup(free_port(), free_port(), free_port())
        servers.start(root / "master", *_base_args(setup.master_port))
        _wait("master", lambda: _answers(setup.master_port), servers.procs)
        servers.start(
            root / "replica",
            *_base_args(setup.replica_port),
            "--replicaof",
            "127.0.0.1",
            str(setup.master_port),
        )
        _wait(
            "replica",
            lambda: "master_link_status:up" in _cli(setup.replica_port, "INFO", "replication"),
            servers.procs,
        )
        conf = root / "sentinel" / "sentinel.conf"
        conf.parent.mkdir()
        conf.write_text(
            f"port {setup.sentinel_port}\nbind 127.0.0.1\n"
            f"sentinel monitor {setup.service} 127.0.0.1 {setup.master_port} 1\n"
            f"sentinel down-after-milliseconds {setup.service} 2000\n"
            f"sentinel failover-timeout {setup.service} 10000\n"
        )
        servers.start(conf.parent, str(conf), "--sentinel")
        _wait(
            "sentinel",
            lambda: (
                str(setup.replica_port)
                in _cli(setup.sentinel_port, "SENTINEL", "replicas", setup.service)
            ),
            servers.procs,
        )
        yield setup
    finally:
        servers.stop()


def failover(setup: SentinelSetup) -> int:
    """Make the Sentinel promote the replica; wait until the old master serves as its replica.
    Returns the new master's port."""
    old = setup.master()
    # the Sentinel refuses (NOGOODSLAVE) until it has fresh word from the replica: ask again
    _wait(
        "failover",
        lambda: "OK" in _cli(setup.sentinel_port, "SENTINEL", "FAILOVER", setup.service),
        [],
    )
    _wait("promotion", lambda: setup.master() != old, [])
    new = setup.master()
    # what the Sentinel does at its next look at the old master (up to 10 s): done at once
    _cli(old, "REPLICAOF", "127.0.0.1", str(new))
    _wait("demotion", lambda: setup.role(old) == "slave", [])
    return new
