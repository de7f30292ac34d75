"""A follow's reader who left the Slack workspace (deactivated, or in an Enterprise Grid
removed from the workspace) gets nothing more from it: before a follow's DM is posted the sink
asks users.info (once per user in a burst), drops the DM as a dead letter with the reason, and
removes their follows of that team. When Slack cannot say (an outage, ``user_not_found``, which
a token of another workspace also gets), the DM goes out as before, or the DM destination
pauses when Slack refuses it, whether or not a DM channel is open. Through the real pipeline,
dispatcher and Slack sink against the fake Slack, with the real bolt app for the commands."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.slack_adapter.oauth import SlackTokens
from peacewatch.bot.slack_adapter.pacing import ChannelPacer
from peacewatch.bot.slack_adapter.sink import SlackSink
from peacewatch.models import Article
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.services.membership import MEMBER_TTL, MemberCache
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.feeds import FeedStore
from peacewatch.store.follows import FollowStore
from tests import test_slack_commands
from tests.fakes.slack_api import FakeSlack
from tests.story_driver import Ingest
from tests.test_follows import CONFIG_FEED, NOW, Pipe, report
from tests.test_slack_commands import Env

env = test_slack_commands.env
slack = test_slack_commands.slack

__all__ = ["env", "slack"]  # the fixtures


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def members(clock: Clock) -> MemberCache:
    return MemberCache(clock)


async def no_wait(seconds: float) -> None:
    return None


def new_sink(redis: aioredis.Redis, slack: FakeSlack, members: MemberCache) -> SlackSink:
    """A sink as a freshly started process has it: no DM channel opened yet."""
    return SlackSink(
        SlackTokens("xoxb-one", None),
        redis,
        base_url=slack.base_url,
        pacer=ChannelPacer(clock=lambda: 0.0, sleep=no_wait),
        members=members,
    )


def other_story() -> Article:
    """A new story for the follow of ``actor:witkoff``, not a follow-up of ``report``'s."""
    return Article(
        id="cfg-berlin",
        title="Zelensky hosts Witkoff in Berlin for talks on European security guarantees",
        link="https://dw.com/2025/12/02/cfg-berlin",
        published=NOW - timedelta(minutes=30),
        source="dw.com",
        outlet="DW",
        summary="Volodymyr Zelensky received Steve Witkoff in Berlin; European leaders joined "
        "the talks on guarantees for Ukraine after a ceasefire.",
        feed_id="cfg",
    )


@pytest.fixture
async def pipe(
    redis_client: aioredis.Redis, slack: FakeSlack, members: MemberCache
) -> AsyncIterator[Pipe]:
    await FeedStore(redis_client).put(CONFIG_FEED)
    sink = new_sink(redis_client, slack, members)
    dispatcher = Dispatcher(AlertQueue(redis_client), {"slack": sink}, retry_idle_ms=0)
    try:
        yield Pipe(Ingest(redis_client, clock=lambda: NOW), dispatcher)
    finally:
        await sink.close()


def lookups(slack: FakeSlack, user: str) -> int:
    return len([c for c in slack.calls_to("users.info") if c.args.get("user") == user])


@pytest.mark.parametrize("leaves", ["deactivate", "grid"])
async def test_a_reader_who_left_the_workspace_gets_no_more_dms_and_loses_the_follows(
    env: Env,
    pipe: Pipe,
    clock: Clock,
    leaves: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    await env.command("follow Kushner", user="UMEMBER", name="second")
    await pipe.send(report(0))
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER"]

    if leaves == "deactivate":
        env.slack.deactivate("UMEMBER")
    else:  # an Enterprise Grid account stays active, in another workspace of the org only
        env.slack.set_grid_teams("UMEMBER", ["T9"])
    clock.now += MEMBER_TTL + 1  # the answer kept since the first DM has aged
    with caplog.at_level(logging.WARNING):
        await pipe.send(report(1))  # a follow-up of the story, in the DM's thread
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER"]  # nothing more
    (dead,) = await AlertQueue(env.redis).dead_letters()
    expected = "deleted" if leaves == "deactivate" else "not in workspace T1 (Enterprise Grid)"
    assert dead.reason.startswith("reader left the team: ")
    assert expected in dead.reason and "no longer a member of slack:T1" in dead.reason
    assert dead.destination == "slack:@UMEMBER"
    assert await AlertQueue(env.redis).outages() == {}  # neither paused nor failing
    assert await FollowStore(env.redis).of_user("slack:T1", "UMEMBER") == []
    said = [r.getMessage() for r in caplog.records if "no longer a member" in r.getMessage()]
    assert any("removed their 2 follows there" in line for line in said), said
    assert not any("xoxb" in line for line in said)  # the token never reaches a log

    # no alert is made for them any more, and nothing else is asked of Slack
    calls = len(env.slack.calls)
    await pipe.send(report(2))
    assert len(env.slack.calls) == calls and len(env.slack.messages) == 1
    assert pipe.dispatcher.stats.dead == 1


async def test_a_burst_of_dms_costs_one_users_info_call(env: Env, pipe: Pipe) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    before = lookups(env.slack, "UMEMBER")  # the command's own (is the caller an admin?)
    await pipe.send(report(0))
    await pipe.send(report(1))
    await pipe.send(report(2))
    assert len(env.slack.messages) == 3
    assert lookups(env.slack, "UMEMBER") == before + 1


async def test_when_slack_cannot_say_the_dm_goes_out_as_before(env: Env, pipe: Pipe) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    env.slack.fail_users_info("internal_error", status=500)
    await pipe.send(report(0))
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER"]
    assert pipe.dispatcher.stats.dead == 0
    assert len(await FollowStore(env.redis).of_user("slack:T1", "UMEMBER")) == 1


async def test_a_member_of_the_workspace_keeps_getting_dms(
    env: Env, pipe: Pipe, clock: Clock
) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    await pipe.send(report(0))
    clock.now += MEMBER_TTL + 1
    await pipe.send(report(1))
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER", "DUMEMBER"]
    assert lookups(env.slack, "UMEMBER") >= 2  # asked again once the answer aged


async def test_a_deactivated_reader_slack_refuses_a_dm_to_loses_the_follows_too(
    env: Env, pipe: Pipe
) -> None:
    """No DM channel open yet: Slack refuses to open one (user_disabled); users.info, asked
    again, says the account is deactivated, so the follows go as for any departed member."""
    await env.command("follow actor:witkoff", user="UMEMBER")
    env.slack.deactivate("UMEMBER")
    await pipe.send(report(0))
    assert env.slack.messages == []
    queue = AlertQueue(env.redis)
    (dead,) = await queue.dead_letters()
    assert dead.reason.startswith("reader left the team: ")
    assert "deleted (deactivated)" in dead.reason
    assert await queue.outages() == {}  # gone, not a paused or failing destination
    assert await FollowStore(env.redis).of_user("slack:T1", "UMEMBER") == []


async def test_leaving_one_workspace_keeps_the_follows_of_another(
    env: Env, pipe: Pipe, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """An Enterprise Grid account removed from T1 but still in T2 (users.info: ``deleted:
    false``, ``enterprise_user.teams`` ["T2"]). Their direct messages are one destination for
    both teams: T1's alert is a dead letter with the reason, T2's goes out, and the
    destination is neither paused nor failing."""
    env.slack.set_grid_teams("UMEMBER", ["T1", "T2"])
    await env.command("follow actor:witkoff", user="UMEMBER")
    await env.command("follow Kushner", user="UMEMBER", team="T2", name="second")
    await pipe.send(report(0))  # one DM from each team; both DM channels are open
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER", "DUMEMBER"]

    env.slack.set_grid_teams("UMEMBER", ["T2"])  # removed from T1, the account stays active
    clock.now += MEMBER_TTL + 1
    before = pipe.dispatcher.stats.delivered
    with caplog.at_level(logging.WARNING, logger="peacewatch.services.dispatcher"):
        await pipe.send(report(1))  # a follow-up in each team's DM thread
    logged = [r.getMessage() for r in caplog.records]
    assert not [line for line in logged if "failing" in line or "paused" in line], logged
    assert len(env.slack.messages) == 3  # T2's only
    (parent,) = [m for m in env.slack.messages if m.ts == env.slack.messages[-1].thread_ts]
    assert "Your follow: Kushner" in json.dumps(parent.blocks)  # T2's follow's thread
    assert pipe.dispatcher.stats.delivered == before + 1
    assert pipe.dispatcher.stats.dead == 1 and pipe.dispatcher.stats.retried == 0
    queue = AlertQueue(env.redis)
    (dead,) = await queue.dead_letters()
    assert dead.destination == "slack:@UMEMBER"
    assert dead.reason.startswith("reader left the team: ")
    assert "not in workspace T1 (Enterprise Grid)" in dead.reason
    assert "no longer a member of slack:T1" in dead.reason
    assert await queue.paused("slack:@UMEMBER") is None
    assert await queue.outages() == {}
    assert (await queue.depth())["pending"] == 0
    follows = FollowStore(env.redis)
    assert await follows.of_user("slack:T1", "UMEMBER") == []
    assert [f.query for f in await follows.of_user("slack:T2", "UMEMBER")] == ["Kushner"]


@pytest.mark.parametrize("dm_channel", ["cached", "fresh"])
async def test_a_user_slack_does_not_find_pauses_the_dms_and_keeps_the_follows(
    env: Env, pipe: Pipe, clock: Clock, members: MemberCache, dm_channel: str
) -> None:
    """``user_not_found`` says nothing sure about the reader (it is also what a token of
    another workspace gets): no follow is removed on it. The outcome is the same whether the
    sink has the DM channel from an earlier DM (a post answers ``user_not_found``) or starts
    afresh, as after a restart or on another replica (conversations.open answers it): their
    direct messages pause, and following again resumes them."""
    await env.command("follow actor:witkoff", user="UMEMBER")
    await env.command("follow Kushner", user="UMEMBER", name="second")
    await pipe.send(report(0))
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER"]

    env.slack.remove_user("UMEMBER")
    clock.now += MEMBER_TTL + 1
    opened = len(env.slack.calls_to("conversations.open"))
    if dm_channel == "fresh":
        sink = new_sink(env.redis, env.slack, MemberCache(clock))
        dispatcher = Dispatcher(AlertQueue(env.redis), {"slack": sink}, retry_idle_ms=0)
        try:
            await Pipe(pipe.ingest, dispatcher).send(other_story())
        finally:
            await sink.close()
        assert len(env.slack.calls_to("conversations.open")) == opened + 1
        stats = dispatcher.stats
    else:
        await pipe.send(other_story())
        assert len(env.slack.calls_to("conversations.open")) == opened  # the kept channel
        stats = pipe.dispatcher.stats
    assert len(env.slack.messages) == 1  # nothing more reached them
    assert stats.dead == 1 and stats.delivered == (0 if dm_channel == "fresh" else 1)
    queue = AlertQueue(env.redis)
    (dead,) = await queue.dead_letters()
    assert dead.destination == "slack:@UMEMBER"
    assert not dead.reason.startswith("reader left the team")
    assert dead.reason.endswith(": user_not_found")
    assert await queue.paused("slack:@UMEMBER") is not None
    held = await FollowStore(env.redis).of_user("slack:T1", "UMEMBER")
    assert sorted(f.query for f in held) == ["Kushner", "actor:witkoff"]


async def test_a_token_of_another_workspace_never_removes_follows(
    env: Env, pipe: Pipe, clock: Clock
) -> None:
    """T2 has no installation, so its alerts go out with the single-workspace token (T1's);
    users.info with it answers ``user_not_found`` for T2's member. That is no answer about
    them: their DMs go out and their follows stay."""
    await env.command("follow Kushner", user="UMEMBER", team="T2", name="t2")
    env.slack.place_user("UMEMBER", "T2")
    env.slack.team_of_token["xoxb-one"] = "T1"
    await pipe.send(report(0))
    clock.now += MEMBER_TTL + 1
    await pipe.send(report(1))
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER", "DUMEMBER"]
    asked = [c for c in env.slack.calls_to("users.info") if c.args.get("user") == "UMEMBER"]
    assert asked and asked[-1].token == "xoxb-one"
    queue = AlertQueue(env.redis)
    assert await queue.dead_letters() == [] and await queue.outages() == {}
    assert [f.query for f in await FollowStore(env.redis).of_user("slack:T2", "UMEMBER")] == [
        "Kushner"
    ]
