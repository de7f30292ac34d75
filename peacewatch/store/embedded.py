"""The Redis connection: the embedded server by default, REDIS_URL when given."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.connection import UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from peacewatch.errors import StoreError
from peacewatch.store.redis_server import EmbeddedServer, start_server

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
"""Connections a process opens at most; past it a command waits for a free one."""
POOL_TIMEOUT = 30.0
"""Seconds a command waits for a free connection before it fails."""


@dataclass
class RedisHandle:
    """An open asyncio client plus, for the embedded server, the server it runs or shares."""

    client: aioredis.Redis
    server: EmbeddedServer | None = None
    description: str = ""
    _closed: bool = field(default=False, repr=False)

    async def close(self) -> None:
        """Close the client; stop the embedded server if this process started it (it saves
        its data first)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.client.aclose()
        finally:
            if self.server is not None:
                await asyncio.to_thread(self.server.stop)


def _pool(
    redis_url: str | None, socket: Path | None, max_connections: int, timeout: float
) -> aioredis.BlockingConnectionPool:
    """A pool that makes a command wait for a free connection (up to ``timeout`` seconds)
    instead of failing at once when ``max_connections`` are in use. Commands retry a lost
    connection as a client built by redis-py itself does."""
    options = {
        "max_connections": max_connections,
        "timeout": timeout,
        "decode_responses": True,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=1), 10),
    }
    if redis_url:
        return aioredis.BlockingConnectionPool.from_url(redis_url, **options)
    return aioredis.BlockingConnectionPool(
        connection_class=UnixDomainSocketConnection, path=str(socket), **options
    )


async def connect(
    redis_url: str | None,
    data_dir: Path,
    *,
    max_connections: int = MAX_CONNECTIONS,
    pool_timeout: float = POOL_TIMEOUT,
) -> RedisHandle:
    """Connect to ``redis_url``, or start the embedded server with its data under ``data_dir``
    (or join the one another peacewatch process runs there).

    Raises StoreError when the server cannot be reached or started.
    """
    server: EmbeddedServer | None = None
    if redis_url:
        pool = _pool(redis_url, None, max_connections, pool_timeout)
        description = f"redis at {redis_url.split('@')[-1]}"  # never show a password
    else:
        server = await asyncio.to_thread(start_server, data_dir)
        pool = _pool(None, server.socket, max_connections, pool_timeout)
        shared = "" if server.owned else ", shared with another peacewatch process"
        description = f"embedded redis in {server.data_dir}{shared}"
    handle = RedisHandle(aioredis.Redis.from_pool(pool), server, description)
    try:
        await handle.client.ping()
    except Exception as exc:
        await handle.close()
        raise StoreError(f"cannot reach {handle.description}: {exc}") from exc
    except BaseException:
        await handle.close()
        raise
    log.info("store: %s", handle.description)
    return handle
