"""The Redis server stopped under a running `peacewatch run` and started again on the same data:
the run rides out the outage and Slack ends with every alert exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.store.redis_server import start_server
from tests.faults.harness import bench, posted, reference, stop, tally, wait_settled
from tests.helpers import redis_url, samples_dir

pytestmark = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)
OUTAGE = 3.0
"""Seconds Redis stays down (the run keeps going: polls fail, the assigner and dispatcher
retry)."""


async def test_redis_stopped_and_started_again_loses_and_doubles_nothing(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    expected = await reference(redis_client, redis_url(redis_target), tmp_path)
    server = start_server(tmp_path / "redis")
    url = f"unix://{server.socket}"
    try:
        async with bench(url, tmp_path / "fault") as b:
            run = await b.start("run")
            try:
                # stopped while the alerts go out: some posted, the rest queued
                await b.slack.wait_for(lambda: len(posted(b.slack)) >= 1, 60)
                server.stop()  # SIGTERM: the server saves its data and exits
                await asyncio.sleep(OUTAGE)
                assert run.returncode is None, "the run exited when Redis went away"
                server = start_server(tmp_path / "redis")
                client = aioredis.Redis(unix_socket_path=str(server.socket), decode_responses=True)
                try:
                    await wait_settled(client, b.articles)
                finally:
                    await client.aclose()
                assert run.returncode is None, "the run exited when Redis went away"
            finally:
                await stop(run)
                print(b.logs())
            result = tally(expected, posted(b.slack))
    finally:
        server.stop()
    print(f"FAULT redis stopped {OUTAGE:.0f} s and restarted: 1 round, {result}")
    assert (result.lost, result.doubled) == (0, 0), result
