"""A personal follow's Slack DM is delivered once, as a channel alert is: a post interrupted
after Slack took it is found in the DM by its metadata by a restarted replica, not sent again;
a user Slack cannot open a DM with sets the alert aside at once."""

from __future__ import annotations

import redis.asyncio as aioredis

from peacewatch.bot.slack_adapter.oauth import SlackTokens
from peacewatch.bot.slack_adapter.pacing import ChannelPacer
from peacewatch.bot.slack_adapter.sink import SlackSink
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from tests.fakes.slack_api import FakeSlack, sample_alert
from tests.test_slack_sink import FakeTime, dispatcher_for, interrupted, sink, slack, time_

__all__ = ["sink", "slack", "time_"]  # the fixtures, shared with the sink's own tests


async def test_an_interrupted_dm_is_found_in_the_dm_and_not_sent_again(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    slack.add_user("U7", "max")
    queue = AlertQueue(redis_client)
    await queue.enqueue(sample_alert(alert_id="a1", channel="@U7"))
    await interrupted(dispatcher_for(redis_client, sink, time_), slack)
    (posted,) = slack.messages
    assert posted.channel == "DU7" and await redis_client.get(keys.delivered("a1")) is None

    # a restarted replica: a sink of its own, which opens the DM again to look in it
    pacer = ChannelPacer(clock=time_.clock, sleep=time_.sleep)
    restarted = SlackSink(
        SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url, pacer=pacer
    )
    try:
        second = Dispatcher(
            queue, {"slack": restarted}, "dispatcher-2", retry_idle_ms=0, clock=time_.clock
        )
        await second.run_once(claim=True)
    finally:
        await restarted.close()
    assert slack.messages == [posted] and len(slack.calls_to("chat.postMessage")) == 1
    assert second.stats.recovered == 1
    (lookup,) = slack.calls_to("conversations.history")
    assert lookup.args["channel"] == "DU7"
    assert await redis_client.get(keys.delivered("a1")) == f"DU7:{posted.ts}"
    thread = keys.story_thread("slack:T1", "slack:@U7", "s1")
    assert await redis_client.get(thread) == f"DU7:{posted.ts}"  # follow-ups go under it


async def test_a_user_slack_cannot_dm_is_a_dead_letter_not_a_retry(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    queue = AlertQueue(redis_client)
    await queue.enqueue(sample_alert(alert_id="gone", channel="@UGONE"))
    await queue.enqueue(sample_alert(alert_id="ok", channel="C1", story_id="s2"))
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await dispatcher.drain()
    assert dispatcher.stats.dead == 1 and dispatcher.stats.retried == 0
    assert [m.channel for m in slack.messages] == ["C1"]
    (opened,) = slack.calls_to("conversations.open")
    assert opened.args["users"] == "UGONE"
