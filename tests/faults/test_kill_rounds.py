"""`peacewatch run` killed with SIGKILL round after round at random moments, while it starts,
polls, places stories and posts to Slack; then a last run delivers what is left. Slack ends
with every alert of an uninterrupted run exactly once, counted by the alert id each message
carries in its metadata."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.faults.harness import Bench, bench, kill, reference, stop, tally, wait_settled
from tests.helpers import redis_url, samples_dir

pytestmark = pytest.mark.skipif(
    not (samples_dir() / "feeds-2026-01").is_dir(), reason="no sample feed exports"
)
KILLS = 4
SEED = 2026
POSTS_WAIT = 30.0
"""Seconds a round waits for Slack to take the messages it is to be killed after (a round
whose alerts are all out by then is killed when the wait ends)."""


async def one_round(b: Bench, n: int, rng: random.Random) -> str:
    """Start a run and kill it: even rounds after a random delay (start-up, poll, placing
    stories), odd ones as soon as Slack took 1-3 more messages (a post accepted whose delivery
    may not be recorded yet). Returns when it was killed."""
    assert b.slack is not None
    slack = b.slack
    before = len(slack.messages)
    proc = await b.start(f"round{n}")
    try:
        if n % 2 == 0:
            delay = rng.uniform(1.0, 5.0)
            await asyncio.sleep(delay)  # a random moment is the point here: no event to await
            moment = f"{delay:.1f} s after start"
        else:
            more = rng.randint(1, 3)
            try:
                await slack.wait_for(lambda: len(slack.messages) >= before + more, POSTS_WAIT)
                moment = f"after Slack took {more} more messages"
            except TimeoutError:
                moment = f"after {POSTS_WAIT:.0f} s, Slack took fewer than {more} messages"
    finally:
        await kill(proc)
    return f"{moment}, {len(slack.messages) - before} messages in the round"


async def test_random_kills_then_a_last_run_post_every_alert_once(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    url = redis_url(redis_target)
    expected = await reference(redis_client, url, tmp_path)
    rng = random.Random(SEED)
    async with bench(url, tmp_path / "fault") as b:
        assert b.slack is not None
        try:
            for n in range(KILLS):
                print(f"round {n}: killed {await one_round(b, n, rng)}")
            before_last = sum(b.posted().values())
            last = await b.start("last")
            try:
                await wait_settled(redis_client, b.articles)
            finally:
                await stop(last)
            result = tally(expected, b.posted())
        finally:
            print(b.logs())
    print(f"FAULT slack random SIGKILL: {KILLS} kills, {result}; {before_last} messages "
          "before the last run")  # fmt: skip
    assert (result.lost, result.doubled) == (0, 0), result
    # the kills landed while there was work: Slack had taken some alerts before the last run
    assert before_last > 0, "no alert was delivered before the last run"
