"""`peacewatch run` exits hard at each named failpoint (PEACEWATCH_FAILPOINT), is started again
without it, and Slack ends with every alert of an uninterrupted run exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.errors import ConfigError
from peacewatch.failpoints import EXIT_STATUS, parse
from tests.faults.harness import bench, exit_status, posted, reference, stop, tally, wait_settled
from tests.helpers import redis_url, samples_dir

needs_samples = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)


@needs_samples
@pytest.mark.parametrize(
    "point",
    [
        "ingest.after_submit",  # the poll's articles queued, the poll not finished
        "assigner.after_write",  # the batch's stories written, nothing matched yet
        "pipeline.before_enqueue:3",  # two alerts queued (maybe posted), the third not
        "dispatcher.after_post:2",  # Slack took the second post, no delivery record
    ],
)
async def test_a_run_killed_at_a_failpoint_loses_and_doubles_nothing(
    point: str, redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    url = redis_url(redis_target)
    expected = await reference(redis_client, url, tmp_path)
    async with bench(url, tmp_path / "fault") as b:
        try:
            first = await b.start("first", failpoint=point)
            assert await exit_status(first) == EXIT_STATUS
            name = point.partition(":")[0]
            assert f"failpoint {name}: exiting" in b.log("first")
            second = await b.start("second")
            try:
                await wait_settled(redis_client, b.articles)
            finally:
                await stop(second)
            result = tally(expected, posted(b.slack))
        finally:
            print(b.logs())
    print(f"FAULT {point}: 1 kill, {result}")
    assert (result.lost, result.doubled) == (0, 0), result


def test_failpoint_specs_are_checked() -> None:
    assert parse(" ingest.after_submit , dispatcher.after_post:4,") == {
        "ingest.after_submit": 1,
        "dispatcher.after_post": 4,
    }
    with pytest.raises(ConfigError, match=r"unknown point 'ingest\.after'"):
        parse("ingest.after")
    with pytest.raises(ConfigError, match=r"'dispatcher\.after_post:0'"):
        parse("dispatcher.after_post:0")
