"""The Redis connection: the embedded server by default, REDIS_URL when given (one server, a
Sentinel-managed master or a Redis Cluster; ``peacewatch.store.urls`` reads the URL)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import ExponentialWithJitterBackoff

from peacewatch.errors import StoreError
from peacewatch.store import keys
from peacewatch.store.migrate import migrate_untagged
from peacewatch.store.redis_server import EmbeddedServer, start_server
from peacewatch.store.urls import RedisTarget, parse_redis_url

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
"""Connections a process opens at most; past it a command waits for a free one."""
POOL_TIMEOUT = 30.0
"""Seconds a command waits for a free connection before it fails."""
CLUSTER_MAX_CONNECTIONS = 1024
"""Connections a process opens at most to one Cluster node. redis-py's cluster client cannot
wait for a free one (past the limit a command fails), so the limit is far above what a process
uses at once: its own limits on polls, deliveries and commands bound that."""
SENTINEL_TIMEOUT = 5.0
"""Seconds to connect to and hear from a Sentinel before asking the next one."""


class _SentinelConnection(SentinelManagedConnection):  # type: ignore[misc]
    """A connection to the master the Sentinels name now, also when it reconnects: redis-py 8
    reconnects a dropped connection (as after a failover turned the master it knew into a
    read-only replica) to the address it had, without asking the Sentinels again
    (redis/redis-py#3874), so every command would meet the old master until the retries ran
    out."""

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if not self.is_connected and self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super().connect_check_health(check_health, retry_socket_connect)


class _SentinelSSLConnection(_SentinelConnection, SSLConnection):  # type: ignore[misc]
    pass


class _BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):  # type: ignore[misc]
    """Connections to the master the Sentinels name, waiting for a free one as the pool of one
    server does (redis-py's Sentinel pool fails at once when all are in use)."""


@dataclass
class RedisHandle:
    """An open asyncio client plus, for the embedded server, the server it runs or shares."""

    client: aioredis.Redis
    """For a Cluster, a ``RedisCluster``: it answers every command peacewatch sends (all keys
    share one hash slot, see ``keys.PREFIX``), so the code uses the one client type."""
    server: EmbeddedServer | None = None
    description: str = ""
    cluster: bool = False
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


def _retry() -> Retry:
    return Retry(ExponentialWithJitterBackoff(base=0.01, cap=1), 10)


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
        "retry": _retry(),
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
    if redis_url:
        try:
            target = parse_redis_url(redis_url)
        except ValueError as exc:
            raise StoreError(f"REDIS_URL: {exc}") from exc
        handle = _client(target, max_connections, pool_timeout)
    else:
        server = await asyncio.to_thread(start_server, data_dir)
        pool = _pool(None, server.socket, max_connections, pool_timeout)
        shared = "" if server.owned else ", shared with another peacewatch process"
        description = f"embedded redis in {server.data_dir}{shared}"
        handle = RedisHandle(aioredis.Redis.from_pool(pool), server, description)
    step = "cannot reach"
    try:
        await handle.client.ping()
        if not handle.cluster:
            step = f"cannot move the keys of an earlier version ({keys.UNTAGGED_PREFIX}*) in"
            await migrate_untagged(handle.client)
    except Exception as exc:
        await handle.close()
        raise StoreError(f"{step} {handle.description}: {exc}") from exc
    except BaseException:
        await handle.close()
        raise
    log.info("store: %s", handle.description)
    return handle


def _client(target: RedisTarget, max_connections: int, pool_timeout: float) -> RedisHandle:
    """A client for REDIS_URL (nothing is sent yet)."""
    if target.kind == "server":
        pool = _pool(target.url, None, max_connections, pool_timeout)
        return RedisHandle(aioredis.Redis.from_pool(pool), description=f"redis at {target.shown}")
    auth: dict[str, Any] = {"username": target.username, "password": target.password}
    if target.kind == "sentinel":
        sentinel = Sentinel(
            list(target.hosts),
            sentinel_kwargs={
                "password": target.sentinel_password,
                "socket_timeout": SENTINEL_TIMEOUT,
                "socket_connect_timeout": SENTINEL_TIMEOUT,
                "ssl": target.tls,
            },
        )
        client = sentinel.master_for(
            target.service,
            redis_class=aioredis.Redis,
            connection_pool_class=_BlockingSentinelPool,
            connection_class=_SentinelSSLConnection if target.tls else _SentinelConnection,
            db=target.db,
            decode_responses=True,
            max_connections=max_connections,
            timeout=pool_timeout,
            retry=_retry(),
            ssl=target.tls,
            **auth,
        )
        return RedisHandle(client, description=f"redis master {target.service!r} of {target.shown}")
    cluster = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
        decode_responses=True,
        max_connections=CLUSTER_MAX_CONNECTIONS,
        retry=_retry(),
        socket_timeout=None,  # as on one server: blocking stream reads wait longer than 5 s
        ssl=target.tls,
        **auth,
    )
    description = f"redis cluster at {target.shown}"
    return RedisHandle(cast(aioredis.Redis, cluster), description=description, cluster=True)
