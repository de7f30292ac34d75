"""The Slack sink against a local fake Web API, driven by the real dispatcher and alert queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import suppress

import pytest
import redis.asyncio as aioredis
from slack_sdk.models.blocks import Block
from slack_sdk.oauth.installation_store.models.installation import Installation

from peacewatch.bot.slack_adapter import (
    ChannelPacer,
    RedisInstallationStore,
    SlackSink,
    SlackTokens,
)
from peacewatch.bot.slack_adapter.sink import CLOCK_SKEW, LOOKUP_PAGE
from peacewatch.errors import PermanentDelivery, RetryLater
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from tests.fakes.slack_api import FakeSlack, sample_alert


class FakeTime:
    """A clock that only moves when the code under test sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(valid_tokens={"xoxb-one", "xoxb-T2"}) as fake:
        yield fake


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def sink(
    slack: FakeSlack, redis_client: aioredis.Redis, time_: FakeTime
) -> AsyncIterator[SlackSink]:
    pacer = ChannelPacer(clock=time_.clock, sleep=time_.sleep)
    out = SlackSink(
        SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url, pacer=pacer
    )
    yield out
    await out.close()


def dispatcher_for(redis_client: aioredis.Redis, sink: SlackSink, time_: FakeTime) -> Dispatcher:
    return Dispatcher(AlertQueue(redis_client), {"slack": sink}, retry_idle_ms=0, clock=time_.clock)


async def test_alert_then_followup_in_thread_and_parent_updated(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    queue = AlertQueue(redis_client)
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await queue.enqueue(sample_alert(alert_id="a1", outlets=("BBC",)))
    await queue.enqueue(
        sample_alert(alert_id="a2", kind="followup", outlets=("BBC", "Reuters", "Meduza"))
    )
    await dispatcher.drain()

    assert dispatcher.stats.delivered == 2
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 2
    parent, reply = slack.messages
    assert parent.channel == "C1" and parent.thread_ts is None and parent.token == "xoxb-one"
    assert reply.channel == "C1" and reply.thread_ts == parent.ts
    assert "Follow-up" in str(reply.blocks)
    for message in (parent, reply):
        assert message.text and all(Block.parse(b).to_dict() for b in message.blocks)
    # the parent now says how many outlets carry the story, and lists the new ones
    assert await sink.edits.flush()
    assert len(parent.edits) == 1
    edit = parent.edits[0]
    assert edit["ts"] == parent.ts and edit["channel"] == "C1"
    assert "Reported by 3 outlets" in str(edit["blocks"])
    assert "Reuters" in str(edit["blocks"]) and "Reported by 3 outlets" in edit["text"]
    assert edit["blocks"][0]["text"]["text"] == parent.blocks[0]["text"]["text"]
    # posting to one channel is paced: the second message waited for its slot, the edit too
    assert time_.sleeps[:1] == [1.0] and sum(time_.sleeps) == 2.0
    ref = await redis_client.get(keys.delivered("a1"))
    assert ref == f"C1:{parent.ts}"


async def test_redelivered_alert_is_not_posted_twice(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    queue = AlertQueue(redis_client)
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await queue.enqueue(sample_alert(alert_id="a1"))
    await queue.enqueue(sample_alert(alert_id="a1"))
    await dispatcher.drain()
    assert len(slack.messages) == 1 and dispatcher.stats.duplicates == 1


async def test_429_waits_in_the_queue_and_goes_out_once(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    slack.rate_limit("C1", retry_after=7)
    with pytest.raises(RetryLater) as caught:
        await sink.deliver(sample_alert(alert_id="direct"), None)
    assert caught.value.retry_after == 7.0  # from the Retry-After header
    assert len(slack.calls_to("chat.postMessage")) == 1  # the SDK did not retry by itself

    queue = AlertQueue(redis_client)
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await queue.enqueue(sample_alert(alert_id="a1"))
    await dispatcher.drain()
    assert dispatcher.stats.retried == 1 and not slack.messages

    slack.clear_rate_limit("C1")
    await dispatcher.run_once(claim=True)  # still inside Retry-After: left alone
    assert not slack.messages
    time_.now += 7.5
    await dispatcher.run_once(claim=True)
    await dispatcher.run_once(claim=True)
    assert len(slack.messages) == 1 and dispatcher.stats.delivered == 1
    assert await redis_client.xlen(keys.alert_dead_letter()) == 0


async def test_missing_channel_is_dead_lettered_and_other_channels_still_get_alerts(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    slack.fail_channel("CGONE", "channel_not_found")
    slack.fail_channel("CNOTIN", "not_in_channel")
    queue = AlertQueue(redis_client)
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await queue.enqueue(sample_alert(alert_id="a1", channel="CGONE"))
    await queue.enqueue(sample_alert(alert_id="a2", channel="CNOTIN"))
    await queue.enqueue(sample_alert(alert_id="a3", channel="C2"))
    await dispatcher.drain()

    assert [m.channel for m in slack.messages] == ["C2"]
    assert dispatcher.stats.dead == 2 and dispatcher.stats.delivered == 1
    dead = await redis_client.xrange(keys.alert_dead_letter())
    reasons = sorted(fields["reason"] for _id, fields in dead)
    assert reasons == ["slack chat.postMessage: channel_not_found",
                       "slack chat.postMessage: not_in_channel"]  # fmt: skip
    failures = await redis_client.hgetall(keys.delivery_failures())
    assert "channel_not_found" in failures["slack:CGONE"]
    assert time_.sleeps == []  # different channels are not paced against each other


async def test_revoked_token_is_permanent(slack: FakeSlack, sink: SlackSink) -> None:
    slack.revoked.add("xoxb-one")
    with pytest.raises(PermanentDelivery, match="token_revoked"):
        await sink.deliver(sample_alert(), None)


async def test_refused_blocks_fall_back_to_plain_text(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis
) -> None:
    slack.refuse_blocks("CB")
    ref = await sink.deliver(sample_alert(channel="CB"), None)
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 2 and "blocks" in posts[0].args and "blocks" not in posts[1].args
    (message,) = slack.messages
    assert message.text.startswith("• [NORMAL] Witkoff") and ref == f"CB:{message.ts}"


async def test_followup_without_a_parent_is_a_top_level_alert(
    slack: FakeSlack, sink: SlackSink
) -> None:
    ref = await sink.deliver(sample_alert(kind="followup", outlets=("BBC", "Reuters")), None)
    (message,) = slack.messages
    assert message.thread_ts is None and message.blocks[0]["type"] == "header"
    assert ref == f"C1:{message.ts}"


async def test_many_workspaces_each_use_their_own_installation(
    slack: FakeSlack, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    store = RedisInstallationStore(redis_client)
    await store.async_save(
        Installation(app_id="A1", team_id="T2", bot_token="xoxb-T2", bot_id="B2", user_id="U9")
    )
    sink = SlackSink(
        SlackTokens(None, store),
        redis_client,
        base_url=slack.base_url,
        pacer=ChannelPacer(clock=time_.clock, sleep=time_.sleep),
    )
    try:
        await sink.deliver(sample_alert(team_id="slack:T2"), None)
        assert slack.messages[0].token == "xoxb-T2"
        with pytest.raises(PermanentDelivery, match="no Slack installation"):
            await sink.deliver(sample_alert(team_id="slack:T3"), None)
        await store.async_delete_all(enterprise_id=None, team_id="T2")
        with pytest.raises(PermanentDelivery):
            await sink.deliver(sample_alert(team_id="slack:T2"), None)
    finally:
        await sink.close()
    assert len(slack.messages) == 1


async def test_installation_store_round_trip(redis_client: aioredis.Redis) -> None:
    store = RedisInstallationStore(redis_client)
    original = Installation(
        app_id="A1",
        team_id="T2",
        team_name="Two",
        bot_token="xoxb-T2",
        bot_id="B2",
        bot_user_id="UB2",
        bot_scopes=["chat:write", "commands"],
        user_id="U9",
    )
    await store.async_save(original)
    found = await store.async_find_installation(enterprise_id=None, team_id="T2")
    assert found is not None and found.bot_token == "xoxb-T2" and found.team_name == "Two"
    assert found.bot_scopes == ["chat:write", "commands"]
    bot = await store.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_user_id == "UB2"
    # bolt asks with the enterprise id of a Grid workspace: the workspace's record answers
    in_grid = await store.async_find_bot(enterprise_id="E1", team_id="T2")
    assert in_grid is not None and in_grid.bot_token == "xoxb-T2"
    assert await store.async_find_bot(enterprise_id=None, team_id="T3") is None
    assert await redis_client.exists(keys.slack_bot("", "T2")) == 1


async def test_pacer_spaces_one_channel_only() -> None:
    time_ = FakeTime()
    pacer = ChannelPacer(interval=1.0, clock=time_.clock, sleep=time_.sleep)
    for _ in range(3):
        await pacer.wait("C1")
    await pacer.wait("C2")
    assert time_.sleeps == [1.0, 1.0]
    time_.now += 5
    await pacer.wait("C1")
    assert time_.sleeps == [1.0, 1.0]


async def interrupted(dispatcher: Dispatcher, slack: FakeSlack) -> None:
    """The dispatcher dies while Slack holds its post: the message is in the channel, the
    answer never arrives, nothing is recorded."""
    slack.hold_posts()
    task = asyncio.create_task(dispatcher.run_once(claim=False))
    await slack.wait_for(lambda: slack.held >= 1)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    slack.release_posts()


def successor(redis_client: aioredis.Redis, sink: SlackSink, time_: FakeTime) -> Dispatcher:
    """Another dispatcher (a restarted replica) that takes over idle entries at once."""
    return Dispatcher(
        AlertQueue(redis_client), {"slack": sink}, "dispatcher-2", retry_idle_ms=0,
        clock=time_.clock,
    )  # fmt: skip


async def test_an_interrupted_post_is_found_by_its_metadata_and_not_posted_again(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    queue = AlertQueue(redis_client)
    await queue.enqueue(sample_alert(alert_id="a1"))
    await interrupted(dispatcher_for(redis_client, sink, time_), slack)
    (posted,) = slack.messages
    assert posted.metadata == {
        "event_type": "peacewatch_alert",
        "event_payload": {"alert_id": "a1"},
    }
    assert await redis_client.get(keys.delivered("a1")) is None

    second = successor(redis_client, sink, time_)
    await second.run_once(claim=True)
    assert slack.messages == [posted] and len(slack.calls_to("chat.postMessage")) == 1
    assert second.stats.recovered == 1 and second.stats.delivered == 1
    assert await redis_client.get(keys.delivered("a1")) == f"C1:{posted.ts}"
    (lookup,) = slack.calls_to("conversations.history")
    assert lookup.args["include_all_metadata"] == "true" and lookup.args["channel"] == "C1"
    # the found message is the story's thread parent, as a posted one would be
    assert await redis_client.get(keys.story_thread("slack:T1", "slack:C1", "s1")) == (
        f"C1:{posted.ts}"
    )
    assert await redis_client.exists(keys.slack_parent(f"C1:{posted.ts}")) == 1
    assert (await queue.depth())["pending"] == 0


async def test_an_interrupted_thread_reply_is_found_in_the_thread(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    queue = AlertQueue(redis_client)
    await queue.enqueue(sample_alert(alert_id="a1"))
    await dispatcher_for(redis_client, sink, time_).drain()
    await queue.enqueue(
        sample_alert(alert_id="a2", kind="followup", outlets=("BBC", "Reuters", "Meduza"))
    )
    await interrupted(dispatcher_for(redis_client, sink, time_), slack)
    parent, reply = slack.messages
    assert reply.thread_ts == parent.ts and not parent.edits  # cut off before the edit

    await successor(redis_client, sink, time_).run_once(claim=True)
    assert slack.messages == [parent, reply]
    (lookup,) = slack.calls_to("conversations.replies")
    assert lookup.args["ts"] == parent.ts and lookup.args["include_all_metadata"] == "true"
    assert not slack.calls_to("conversations.history")
    assert await redis_client.get(keys.delivered("a2")) == f"C1:{reply.ts}"
    # what the interrupted post never did is done now: the parent shows the outlet count,
    # and keeps naming its own alert
    assert await sink.edits.flush()
    (edit,) = parent.edits
    assert "Reported by 3 outlets" in str(edit["blocks"])
    assert parent.metadata == {
        "event_type": "peacewatch_alert",
        "event_payload": {"alert_id": "a1"},
    }


async def test_a_started_post_that_never_reached_slack_is_posted_once(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    queue = AlertQueue(redis_client)
    # other alerts in the channel, and one attempt at a1 that died before reaching Slack
    await sink.deliver(sample_alert(alert_id="other", story_id="s0"), None)
    assert await queue.start_delivery("a1", time.time(), 60) is None
    await queue.enqueue(sample_alert(alert_id="a1"))
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await dispatcher.drain()
    assert len(slack.calls_to("conversations.history")) == 1
    assert [len(slack.with_alert(a)) for a in ("other", "a1")] == [1, 1]
    assert dispatcher.stats.recovered == 0 and dispatcher.stats.delivered == 1
    assert await redis_client.exists(keys.delivery_started("a1")) == 0


async def test_a_channel_the_bot_cannot_read_still_gets_its_alert(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    slack.fail_history("C1", "missing_scope")  # installed before the history scopes
    queue = AlertQueue(redis_client)
    await queue.start_delivery("a1", time.time(), 60)
    await queue.enqueue(sample_alert(alert_id="a1"))
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await dispatcher.drain()
    assert len(slack.with_alert("a1")) == 1 and dispatcher.stats.delivered == 1
    assert dispatcher.stats.dead == 0


async def test_history_answering_429_keeps_the_alert_queued(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis
) -> None:
    slack.rate_limit("C1", retry_after=9)
    with pytest.raises(RetryLater) as caught:
        await sink.find_delivered(sample_alert(alert_id="a1"), None, time.time())
    assert caught.value.retry_after == 9.0 and "conversations.history" in str(caught.value)


async def test_lookup_reads_further_pages_and_only_messages_since_the_attempt(
    slack: FakeSlack, sink: SlackSink
) -> None:
    started = time.time()
    target = sample_alert(alert_id="target")
    ref = await sink.deliver(target, None)
    for n in range(LOOKUP_PAGE + 5):  # newer messages push it onto the second page
        await sink.deliver(sample_alert(alert_id=f"n{n}", story_id=f"s{n}"), None)
    assert await sink.find_delivered(target, None, started) == ref
    assert len(slack.calls_to("conversations.history")) == 2
    assert await sink.find_delivered(sample_alert(alert_id="never"), None, started) is None
    # an attempt that began well after the message: the message is not looked at
    later = started + CLOCK_SKEW + 3600
    assert await sink.find_delivered(target, None, later) is None
    # a 429 on a later page ends the check (it would start over at every retry): not found;
    # one on the first page keeps the alert queued
    slack.limit_history("C1", calls=1)
    assert await sink.find_delivered(target, None, started) is None
    with pytest.raises(RetryLater):
        await sink.find_delivered(target, None, started)


async def test_an_escalation_replies_in_the_thread_and_is_shown_in_the_channel(
    slack: FakeSlack, sink: SlackSink, redis_client: aioredis.Redis, time_: FakeTime
) -> None:
    from dataclasses import replace

    queue = AlertQueue(redis_client)
    dispatcher = dispatcher_for(redis_client, sink, time_)
    await queue.enqueue(sample_alert(alert_id="a1"))
    followup = sample_alert(alert_id="a2", kind="followup", outlets=("BBC", "Reuters"))
    await queue.enqueue(followup)
    escalation = sample_alert(
        alert_id="a3", kind="followup", severity="high", outlets=("BBC", "Reuters", "Meduza")
    )
    await queue.enqueue(replace(escalation, extra={"broadcast": "1", "parent_alert": "a1"}))
    await dispatcher.drain()
    parent, reply, escalated = slack.messages
    assert reply.thread_ts == parent.ts and not reply.reply_broadcast
    assert escalated.thread_ts == parent.ts and escalated.reply_broadcast
    assert [m.ts for m in slack.messages if m.thread_ts is None] == [parent.ts]  # one thread
