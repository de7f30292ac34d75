"""Log lines about an alert carry its ids (team, story, destination) as fields, so
`--log-format json` can be filtered by them."""

from __future__ import annotations

import logging

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.slack_adapter import SlackSink, SlackTokens
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store.alert_queue import AlertQueue
from tests.fakes.slack_api import FakeSlack, sample_alert


async def test_a_dead_letter_is_logged_with_the_alerts_team_story_and_destination(
    redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeSlack(valid_tokens={"xoxb-one"}) as slack:
        slack.fail_channel("CGONE", "channel_not_found")
        sink = SlackSink(SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url)
        try:
            queue = AlertQueue(redis_client)
            await queue.enqueue(sample_alert(alert_id="a1", story_id="s9", channel="CGONE"))
            with caplog.at_level(logging.WARNING, logger="peacewatch.services.dispatcher"):
                await Dispatcher(queue, {"slack": sink}, retry_idle_ms=0).drain()
        finally:
            await sink.close()
    [record] = [r for r in caplog.records if "dead letter" in r.getMessage()]
    assert (record.team_id, record.story_id, record.destination) == (  # type: ignore[attr-defined]
        "slack:T1", "s9", "slack:CGONE"
    )  # fmt: skip
