"""Three `peacewatch run` replicas on one Redis, the story assigner's holder killed with SIGKILL
while alerts go out: the others take over and Slack ends with every alert exactly once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.store import keys
from tests.faults.harness import bench, posted, reference, stop, tally, wait_settled
from tests.helpers import redis_url, samples_dir

pytestmark = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)


async def test_three_replicas_with_one_killed_post_each_alert_once(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    url = redis_url(redis_target)
    expected = await reference(redis_client, url, tmp_path)
    async with bench(url, tmp_path / "fault") as b:
        replicas = [await b.start(f"r{n}") for n in range(3)]
        try:
            await b.slack.wait_for(lambda: len(posted(b.slack)) >= 1, 60)
            holder = str(await redis_client.get(keys.assigner_lease()))
            victim = next(p for p in replicas if f"-{p.pid}-" in holder)
            victim.send_signal(signal.SIGKILL)
            await asyncio.wait_for(victim.wait(), 10)
            await wait_settled(redis_client, b.articles)
            assert all(p.returncode is None for p in replicas if p is not victim)
        finally:
            for proc in replicas:
                await stop(proc)
            print(b.logs())
        result = tally(expected, posted(b.slack))
    print(f"FAULT 3 replicas, the assigner's holder killed: 1 kill, {result}")
    assert (result.lost, result.doubled) == (0, 0), result
