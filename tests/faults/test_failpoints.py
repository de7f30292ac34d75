"""`peacewatch run` exits hard at each named failpoint (PEACEWATCH_FAILPOINT), is started again
without it, and Slack (or Discord) ends with every alert of an uninterrupted run exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from peacewatch.errors import ConfigError
from peacewatch.failpoints import EXIT_STATUS, parse
from tests.faults.harness import (
    Platform,
    Tally,
    bench,
    exit_status,
    reference,
    stop,
    tally,
    wait_settled,
)
from tests.helpers import redis_url, samples_dir

needs_samples = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)


async def killed_once_then_restarted(
    point: str, platform: Platform, redis_client: aioredis.Redis, url: str, tmp: Path
) -> Tally:
    """A run exits at ``point``; a second one, unarmed, settles everything. The chat fake's
    messages against an uninterrupted run's."""
    expected = await reference(redis_client, url, tmp, platform)
    async with bench(url, tmp / "fault", platform) as b:
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
            result = tally(expected, b.posted())
        finally:
            print(b.logs())
    print(f"FAULT {platform} {point}: 1 kill, {result}")
    return result


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
    result = await killed_once_then_restarted(
        point, "slack", redis_client, redis_url(redis_target), tmp_path
    )
    assert (result.lost, result.doubled) == (0, 0), result


@needs_samples
@pytest.mark.parametrize(
    "point",
    [
        "pipeline.before_enqueue:3",  # two alerts queued (maybe posted), the third not
        "dispatcher.after_post:2",  # Discord took the second message, no delivery record
    ],
)
async def test_a_discord_run_killed_at_a_failpoint_loses_and_doubles_nothing(
    point: str, redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """The same through discord.py against the Discord fake: a message Discord took before
    the crash is found again by its nonce, not posted twice."""
    result = await killed_once_then_restarted(
        point, "discord", redis_client, redis_url(redis_target), tmp_path
    )
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
