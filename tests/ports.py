"""Ports for the servers that tests start in child processes.

A port found by binding port 0 and closing the socket comes from the kernel's ephemeral range,
the same range it draws from for every outgoing connection's local port and every other bind of
port 0: between the moment the number is handed over and the moment the child binds it, a
connection made meanwhile (a test talking to a fake on 127.0.0.1, a Redis client) can take it,
and the child exits with "address already in use". The ports given here lie below the ephemeral
range, where the kernel hands out nothing by itself, are checked free by a bind, and are never
given twice in one process.
"""

from __future__ import annotations

import os
import random
import socket
import time
from pathlib import Path

_PORTS_GIVEN: set[int] = set()
_RANDOM = random.Random(os.getpid() ^ time.time_ns())
_LOWEST = 10_000


def ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (32768 when it cannot be read)."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A TCP port on 127.0.0.1, below the ephemeral range, that nothing listens on now and that
    this process has not given before. Where the ephemeral range leaves fewer than 2,000 ports
    above 10000 (a system that starts it low), a port the kernel picks, as before."""
    high = ephemeral_low()
    picks = (
        (_RANDOM.randrange(_LOWEST, high) for _ in range(500))
        if high - _LOWEST >= 2_000
        else (_kernel_pick() for _ in range(100))
    )
    for port in picks:
        if port in _PORTS_GIVEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise RuntimeError("no free port found on 127.0.0.1")


def _kernel_pick() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
