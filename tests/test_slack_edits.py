"""Slack edits against the fake Web API: per channel, new posts go before edits, several
follow-ups of one story make one edit of its first message, and a restart resumes edits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.slack_adapter import ChannelPacer, SlackSink, SlackTokens
from peacewatch.store import keys
from tests.fakes.slack_api import FakeSlack, sample_alert


class ManualTime:
    """A clock that moves only when the test advances it; sleepers wake when their time comes."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, done))
        await done

    def sleeping_until(self) -> list[float]:
        return sorted(at for at, done in self._sleepers if not done.done())

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for at, done in self._sleepers:
            if at <= self.now and not done.done():
                done.set_result(None)
        self._sleepers = [(at, done) for at, done in self._sleepers if not done.done()]


async def until(predicate: object, what: str) -> None:
    """Let the sink's tasks and the fake's answers run until ``predicate()`` holds (bounded)."""
    for _ in range(500):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(valid_tokens={"xoxb-one"}) as fake:
        yield fake


def make_sink(slack: FakeSlack, redis_client: aioredis.Redis, time_: ManualTime) -> SlackSink:
    pacer = ChannelPacer(clock=time_.clock, sleep=time_.sleep)
    return SlackSink(
        SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url, pacer=pacer
    )


def order(slack: FakeSlack) -> list[str]:
    """The alert ids of posts and ``edit`` for each chat.update, in the order Slack took them."""
    out = []
    for call in slack.calls:
        if call.method == "chat.postMessage":
            out.append(call.args["metadata"]["event_payload"]["alert_id"])
        elif call.method == "chat.update":
            out.append("edit")
    return out


async def test_new_alerts_go_before_edits_and_edits_of_one_message_coalesce(
    slack: FakeSlack, redis_client: aioredis.Redis
) -> None:
    time_ = ManualTime()
    sink = make_sink(slack, redis_client, time_)
    try:
        root = await sink.deliver(sample_alert(alert_id="a1", outlets=("BBC",)), None)
        # two follow-ups of the story and a new story queue for the channel's next slots
        f1 = asyncio.create_task(
            sink.deliver(sample_alert(alert_id="f1", kind="followup", outlets=("BBC", "AP")), root)
        )
        await until(lambda: time_.sleeping_until() == [1.0], "f1 waits for its slot")
        time_.advance(1.0)
        await f1  # posted in the thread; its edit of the root now waits for a free slot
        assert order(slack) == ["a1", "f1"]
        f2 = asyncio.create_task(
            sink.deliver(
                sample_alert(alert_id="f2", kind="followup", outlets=("BBC", "AP", "Reuters")),
                root,
            )
        )
        new = asyncio.create_task(
            sink.deliver(sample_alert(alert_id="b1", story_id="s2", headline="Other"), None)
        )
        await until(lambda: time_.sleeping_until().count(3.0) >= 1, "b1 waits for slot 3")
        # f2 takes slot 2 and b1 slot 3, each finished (f2's edit request made) before the
        # next slot comes; the edit takes slot 4
        for task in (f2, new):
            time_.advance(1.0)
            await asyncio.wait_for(task, 10)
        time_.advance(1.0)
        await until(lambda: slack.calls_to("chat.update"), "the edit is sent")
        assert await sink.edits.flush(within=5.0)
        # the new story went out before the edit; one edit showed both follow-ups' outlets
        assert order(slack) == ["a1", "f1", "f2", "b1", "edit"]
        parent = slack.messages[0]
        (edit,) = parent.edits
        assert "Reported by 3 outlets" in str(edit["blocks"]) and "Reuters" in str(edit["blocks"])
        assert time_.now == 4.0  # the edit took the first slot no post wanted
        assert await redis_client.hlen(keys.slack_pending_edits()) == 0
    finally:
        await sink.close()


async def test_an_edit_left_unsent_is_sent_by_the_next_run(
    slack: FakeSlack, redis_client: aioredis.Redis
) -> None:
    time_ = ManualTime()
    first = make_sink(slack, redis_client, time_)
    root = await first.deliver(sample_alert(alert_id="a1", outlets=("BBC",)), None)
    time_.advance(1.0)
    # the slot after the follow-up is never free in this run: the edit is still pending at stop
    follow = sample_alert(alert_id="f1", kind="followup", outlets=("BBC", "AP", "Reuters"))
    await first.deliver(follow, root)
    await first.close()
    assert not slack.calls_to("chat.update")
    assert await redis_client.hlen(keys.slack_pending_edits()) == 1

    later = make_sink(slack, redis_client, ManualTime())
    try:
        await later.deliver(sample_alert(alert_id="b1", story_id="s2", channel="C2"), None)
        assert await later.edits.flush(within=5.0)
        (edit,) = slack.messages[0].edits
        assert "Reported by 3 outlets" in str(edit["blocks"])
        assert await redis_client.hlen(keys.slack_pending_edits()) == 0
    finally:
        await later.close()


async def test_an_edit_refused_for_now_is_tried_again(
    slack: FakeSlack, redis_client: aioredis.Redis
) -> None:
    time_ = ManualTime()
    sink = make_sink(slack, redis_client, time_)
    try:
        root = await sink.deliver(sample_alert(alert_id="a1", outlets=("BBC",)), None)
        time_.advance(1.0)
        follow = sample_alert(alert_id="f1", kind="followup", outlets=("BBC", "AP"))
        await sink.deliver(follow, root)
        await until(lambda: time_.sleeping_until() == [2.0], "the edit waits for slot 2")
        slack.rate_limit("C1", retry_after=7)
        time_.advance(1.0)
        await until(lambda: time_.sleeping_until() == [9.0], "the edit waits out the 429")
        assert len(slack.calls_to("chat.update")) == 1 and not slack.messages[0].edits
        slack.clear_rate_limit("C1")
        time_.advance(7.0)
        assert await sink.edits.flush(within=5.0)
        (edit,) = slack.messages[0].edits
        assert "Reported by 2 outlets" in str(edit["blocks"])
        assert await redis_client.hlen(keys.slack_pending_edits()) == 0
    finally:
        await sink.close()


async def test_a_burst_goes_out_at_once_and_an_edit_leaves_a_token_for_the_next_post() -> None:
    time_ = ManualTime()
    pacer = ChannelPacer(interval=1.0, clock=time_.clock, sleep=time_.sleep, burst=3)
    for _ in range(2):
        await pacer.wait("C1")  # a burst: no wait
    assert pacer.take_free("C1") == 1.0  # one token left, kept for the next new post
    await pacer.wait("C1")
    fourth = asyncio.create_task(pacer.wait("C1"))
    await until(lambda: time_.sleeping_until() == [1.0], "the fourth post waits a second")
    time_.advance(1.0)
    await fourth
    time_.advance(2.0)
    assert pacer.take_free("C1") == 0.0  # two tokens back: the edit takes one
    assert pacer.take_free("C1") == 1.0
    assert pacer.take_free("C2") == 0.0  # other channels are not slowed
