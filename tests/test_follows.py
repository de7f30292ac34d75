"""Personal follows: /peacewatch follow through the real Slack app, articles through the real
ingest stream, story assigner and pipeline, and direct messages through the dispatcher and the
Slack sink to the fake Slack (conversations.open, then chat.postMessage to the DM channel)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter.embeds import reply_embeds
from peacewatch.bot.slack_adapter.blocks import ACTION_MUTE_STORY, reply_message
from peacewatch.bot.slack_adapter.oauth import SlackTokens
from peacewatch.bot.slack_adapter.pacing import ChannelPacer
from peacewatch.bot.slack_adapter.sink import SlackSink
from peacewatch.models import Article
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.services.commands.follows import CHANGES_PER_HOUR
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.services.quiet import QuietHoursGate
from peacewatch.services.replies import Caller
from peacewatch.services.teamfeeds import chat_feed_id
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.store.follows import MAX_FOLLOWS, FollowStore
from peacewatch.store.teams import TeamStore
from tests import test_slack_commands
from tests.fakes.slack_api import FakeSlack
from tests.story_driver import Ingest
from tests.test_slack_commands import Env, signed_headers
from tests.test_slack_home import open_home, texts

env = test_slack_commands.env
slack = test_slack_commands.slack

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
CONFIG_FEED = FeedSpec("cfg", "http://127.0.0.1:9/wire.xml", outlet="Wire")
T2_URL = "http://127.0.0.1:9/t2-own.xml"
T2_FEED = FeedSpec(chat_feed_id("slack:T2", T2_URL), T2_URL, outlet="T2 own", team_id="slack:T2")


def report(n: int, feed_id: str = "cfg") -> Article:
    """Reports of one event (Witkoff and Kushner meet Putin), one outlet each, an hour apart."""
    outlets = [
        ("themoscowtimes.com", "The Moscow Times"),
        ("bbc.com", "BBC News"),
        ("reuters.com", "Reuters"),
    ]
    titles = [
        "Witkoff and Kushner Meet With Putin to Discuss Trump's Ukraine Peace Plan",
        "Witkoff and Kushner meet Putin in Moscow to discuss Trump's Ukraine peace plan",
        "Putin meets Witkoff and Kushner in Moscow on Trump's Ukraine peace plan",
    ]
    source, outlet = outlets[n % 3]
    return Article(
        id=f"{feed_id}-{n}",
        title=titles[n % 3],
        link=f"https://{source}/2025/12/02/{feed_id}-{n}",
        published=NOW - timedelta(hours=3 - n),
        source=source,
        outlet=outlet,
        summary="US envoy Steve Witkoff and Jared Kushner met Vladimir Putin in the Kremlin "
        "to discuss the US plan to end the war in Ukraine.",
        feed_id=feed_id,
    )


UNRELATED = Article(
    id="cfg-quake",
    title="Alaska earthquake shakes Anchorage",
    link="https://example.org/alaska-quake",
    published=NOW - timedelta(hours=1),
    source="example.org",
    summary="A strong earthquake struck southern Alaska on Friday, officials said.",
    feed_id="cfg",
)


@dataclass
class Pipe:
    """The bot's path from the ingest stream to Slack, delivering what is queued."""

    ingest: Ingest
    dispatcher: Dispatcher

    async def send(self, *articles: Article) -> None:
        await self.ingest.ingest(list(articles))
        await self.dispatcher.drain()


@pytest.fixture
async def pipe(redis_client: aioredis.Redis, slack: FakeSlack) -> AsyncIterator[Pipe]:
    feeds = FeedStore(redis_client)
    await feeds.put(CONFIG_FEED)
    await feeds.put(T2_FEED)
    await TeamStore(redis_client).add_feed("slack:T2", T2_FEED.id)

    async def no_wait(seconds: float) -> None:
        return None

    sink = SlackSink(
        SlackTokens("xoxb-one", None),
        redis_client,
        base_url=slack.base_url,
        pacer=ChannelPacer(clock=lambda: 0.0, sleep=no_wait),
    )
    dispatcher = Dispatcher(AlertQueue(redis_client), {"slack": sink}, retry_idle_ms=0)
    try:
        yield Pipe(Ingest(redis_client, clock=lambda: NOW), dispatcher)
    finally:
        await sink.close()


def said(answer: object) -> str:
    return json.dumps(answer, ensure_ascii=False)


def dms(slack: FakeSlack, user: str) -> list[str]:
    """Texts of what reached ``user``'s direct messages (the fake's DM channel is D+user)."""
    return [m.text for m in slack.messages if m.channel == f"D{user}"]


async def test_a_follow_sends_one_dm_per_story_and_follow_ups_in_its_thread(
    env: Env, pipe: Pipe
) -> None:
    answer = await env.command("follow actor:witkoff", user="UMEMBER")
    assert "Following actor:witkoff (follow 1)" in said(answer)

    await pipe.send(report(0), UNRELATED)
    (opened,) = env.slack.calls_to("conversations.open")
    assert opened.args["users"] == "UMEMBER" and opened.token == "xoxb-one"
    (first,) = env.slack.messages
    assert first.channel == "DUMEMBER" and first.thread_ts is None
    assert "Witkoff and Kushner Meet With Putin" in first.text
    posts = [c.method for c in env.slack.calls if c.method != "users.info"]
    assert posts.index("conversations.open") < posts.index("chat.postMessage")

    await pipe.send(report(1))
    assert len(env.slack.messages) == 2
    follow_up = env.slack.messages[1]
    assert follow_up.channel == "DUMEMBER" and follow_up.thread_ts == first.ts
    assert len(env.slack.calls_to("conversations.open")) == 1  # the DM channel is kept
    assert env.slack.top_level() == [first]
    # a personal follow is not the team's: no channel post, nothing in the team's latest
    latest = await env.command("latest", user="UMEMBER")
    assert "No alerts yet" in said(latest)


async def test_a_dms_alert_record_lives_as_long_as_its_story_a_channels_90_days(
    env: Env, pipe: Pipe, redis_client: aioredis.Redis
) -> None:
    rule = RuleSpec(id="envoys", query="Witkoff", channels=["slack:C1"])
    await TeamStore(redis_client).put_rule("slack:T1", rule)
    await env.command("follow actor:witkoff", user="UMEMBER")
    await pipe.send(report(0))
    ttls = {}
    for key in await redis_client.keys(keys.alert_record("*")):
        record = json.loads(await redis_client.get(key))
        ttls[record["destination"]] = await redis_client.ttl(key)
    assert set(ttls) == {"slack:C1", "slack:@UMEMBER"}
    assert 13 * 86400 < ttls["slack:@UMEMBER"] <= 14 * 86400
    assert 89 * 86400 < ttls["slack:C1"] <= 90 * 86400


async def test_dm_buttons_act_on_the_stored_alerts_story_and_not_for_the_team(
    env: Env, pipe: Pipe, redis_client: aioredis.Redis
) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    await pipe.send(report(0))
    (record,) = [json.loads(await redis_client.get(k)) for k in await redis_client.keys(
        keys.alert_record("*"))]  # fmt: skip
    service = CommandService(redis_client)
    reader = Caller("slack", "slack:T1", "UMEMBER", "slack:DUMEMBER")
    noted = await service.feedback(reader, record["story_id"], "not_relevant", record["alert_id"])
    assert not noted.error and "for you only" in noted.title
    assert not await redis_client.exists(keys.team_not_relevant("slack:T1"))
    # a button whose story id was altered still mutes the alert's own story, for the reader
    await service.feedback(reader, "some-other-story", "mute_story", record["alert_id"])
    dm = "slack:@UMEMBER"
    assert await redis_client.exists(keys.story_muted("slack:T1", dm, record["story_id"]))
    assert not await redis_client.exists(keys.story_muted("slack:T1", dm, "some-other-story"))


async def test_unfollow_stops_the_dms_and_only_the_callers(env: Env, pipe: Pipe) -> None:
    await env.command("follow Witkoff AND Putin", user="UMEMBER")
    await env.command("follow actor:witkoff", user="UADMIN")
    answer = await env.command("unfollow witkoff and putin", user="UMEMBER")  # by its query
    assert "Unfollowed Witkoff AND Putin" in said(answer)
    assert "You follow nothing here yet" in said(await env.command("follows", "UMEMBER"))

    await pipe.send(report(0))
    assert dms(env.slack, "UMEMBER") == []
    assert len(dms(env.slack, "UADMIN")) == 1  # the other user's follow still works
    assert [c.args["users"] for c in env.slack.calls_to("conversations.open")] == ["UADMIN"]


async def test_unfollow_by_id_then_nothing_arrives(env: Env, pipe: Pipe) -> None:
    await env.command("follow Kushner", user="UMEMBER")
    await env.command("follow actor:witkoff", user="UMEMBER")
    listed = said(await env.command("follows", user="UMEMBER"))
    assert "1 · `Kushner`" in listed and "2 · `actor:witkoff`" in listed
    await env.command("unfollow 1", user="UMEMBER")
    await env.command("unfollow 2", user="UMEMBER")
    await pipe.send(report(0))
    assert env.slack.messages == []


async def test_a_query_that_does_not_parse_gets_the_rules_add_error(
    env: Env, redis_client: aioredis.Redis
) -> None:
    query = "Witkoff AND (Donbas"
    followed = said(await env.command(f"follow {query}", user="UMEMBER"))
    added = said(await env.command(f"rules add r1 {query}", user="UADMIN"))
    for answer in (followed, added):
        assert "The query does not parse: 1:20:" in answer
        assert f"`{query}`\\n`{' ' * 19}^`" in answer  # the column, pointed at
    assert await FollowStore(redis_client).of_user("slack:T1", "UMEMBER") == []
    unknown = said(await env.command("follow actor:witkof", user="UMEMBER"))
    assert "unknown actor 'witkof'; did you mean 'witkoff'?" in unknown


async def test_app_home_lists_the_viewers_own_follows(env: Env) -> None:
    empty = texts(await open_home(env, "UMEMBER"))
    assert "You follow nothing yet" in empty
    await env.command("follow actor:witkoff", user="UMEMBER")
    await env.command('follow "security guarantees"', user="UMEMBER")
    await env.command("follow Kellogg", user="UADMIN")
    shown = texts(await open_home(env, "UMEMBER"))
    assert "Your follows" in shown
    assert "*1* · `actor:witkoff`" in shown and '*2* · `\\"security guarantees\\"`' in shown
    assert "Kellogg" not in shown  # another user's follow
    assert "Kellogg" in texts(await open_home(env, "UADMIN"))


async def test_a_follow_reads_its_own_teams_feeds_never_another_teams(
    env: Env, pipe: Pipe, redis_client: aioredis.Redis
) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER", team="T1")
    await env.command("follow actor:witkoff", user="UADMIN", team="T2")
    await pipe.send(report(0, feed_id=T2_FEED.id))  # a feed team T2 added for itself
    assert dms(env.slack, "UMEMBER") == []
    assert len(dms(env.slack, "UADMIN")) == 1
    await pipe.send(report(1, feed_id="cfg"))  # the operator's feeds are every team's
    assert len(dms(env.slack, "UMEMBER")) == 1
    # follows are per team: the same user sees none of T1's in T2
    other = said(await env.command("follows", user="UMEMBER", team="T2"))
    assert "You follow nothing here yet" in other
    # a team that subscribes to T2's feed receives it, and so do its users' follows
    await TeamStore(redis_client).add_feed("slack:T1", T2_FEED.id)
    await pipe.send(report(2, feed_id=T2_FEED.id))
    assert len(dms(env.slack, "UMEMBER")) == 2


async def test_a_follows_dm_names_no_source_that_only_another_teams_feed_carried(
    env: Env, pipe: Pipe
) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER", team="T1")
    private = report(0, feed_id=T2_FEED.id)  # only a feed team T2 added for itself has it
    await pipe.send(private)
    await pipe.send(report(1, feed_id="cfg"))  # the same story from the operator's feed
    (dm,) = [m for m in env.slack.messages if m.channel == "DUMEMBER"]
    shown = json.dumps(dm.blocks) + dm.text
    assert report(1, feed_id="cfg").link in shown
    assert private.link not in shown and "The Moscow Times" not in shown
    assert "2 outlets" not in shown


async def test_a_story_first_seen_in_another_teams_feed_reaches_a_follow_once_its_feed_has_it(
    env: Env, pipe: Pipe, redis_client: aioredis.Redis
) -> None:
    rule = RuleSpec(id="envoys", query="Witkoff", channels=["slack:C1"])
    await TeamStore(redis_client).put_rule("slack:T1", rule)
    await env.command("follow actor:witkoff", user="UMEMBER", team="T1")
    first = report(0, feed_id=T2_FEED.id)  # team T2's own feed carries it first
    await pipe.send(first)
    assert dms(env.slack, "UMEMBER") == []
    assert len([m for m in env.slack.messages if m.channel == "C1"]) == 1  # a team rule reads all
    # then the operator's feed carries the same article (the same id): T1's follow now sees it
    again = replace(first, feed_id="cfg")
    await pipe.send(again)
    assert len(dms(env.slack, "UMEMBER")) == 1
    # once: later sightings, by either feed, bring no second DM and no second channel post
    await pipe.send(again, first)
    await pipe.send(replace(first, feed_id=chat_feed_id("slack:T3", "http://127.0.0.1:9/t3")))
    assert len(dms(env.slack, "UMEMBER")) == 1
    assert len([m for m in env.slack.messages if m.channel == "C1"]) == 1
    assert not await redis_client.smembers(keys.resight_entries())  # each handled, then dropped


async def test_a_team_rule_and_a_follow_of_the_same_story_post_apart(
    env: Env, pipe: Pipe, redis_client: aioredis.Redis
) -> None:
    rule = RuleSpec(id="envoys", query="Witkoff", channels=["slack:C1"])
    await TeamStore(redis_client).put_rule("slack:T1", rule)
    await env.command("follow actor:witkoff", user="UMEMBER")
    await pipe.send(report(0), report(1))
    assert [m.thread_ts is None for m in env.slack.messages if m.channel == "C1"] == [True, False]
    assert [m.thread_ts is None for m in env.slack.messages if m.channel == "DUMEMBER"] == [
        True,
        False,
    ]


async def press_mute(env: Env, user: str, channel: str, message: Any) -> str:
    """Press "Mute this story" on a posted message, as ``user``; the answer's text."""
    (button,) = [
        e
        for b in message.blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("action_id") == ACTION_MUTE_STORY
    ]
    payload = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "peace-desk"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message.ts, "channel_id": channel},
        "channel": {"id": channel, "name": "directmessage"},
        "trigger_id": "1.2.3",
        "response_url": env.slack.response_url("button"),
        "actions": [{**button, "block_id": "pw_feedback", "action_ts": "1700000001.000001"}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    before = len(env.slack.responses)
    response = await env.post(body, signed_headers(body))
    assert response.status == 200
    await env.slack.wait_for(lambda: len(env.slack.responses) > before)
    return str(env.slack.responses[before].body["text"])


async def test_mute_this_story_in_a_dm_is_the_followers_own(env: Env, pipe: Pipe) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    await env.command("follow actor:witkoff", user="UADMIN")
    await pipe.send(report(0))
    (mine,) = [m for m in env.slack.messages if m.channel == "DUMEMBER"]
    (theirs,) = [m for m in env.slack.messages if m.channel == "DUADMIN"]
    # a member may not mute the story in the other user's DM (the team's rule: admins only)
    assert "Only workspace admins" in await press_mute(env, "UMEMBER", "DUADMIN", theirs)
    assert "muted in your direct messages" in await press_mute(env, "UMEMBER", "DUMEMBER", mine)
    await pipe.send(report(1))
    assert len(dms(env.slack, "UMEMBER")) == 1  # no follow-up for the one who muted it
    assert len(dms(env.slack, "UADMIN")) == 2


async def test_dms_held_by_quiet_hours_are_dropped_for_who_unfollowed_or_muted_meanwhile(
    env: Env, pipe: Pipe, redis_client: aioredis.Redis
) -> None:
    env.slack.add_user("UTHIRD", "tam")
    for user in ("UMEMBER", "UADMIN", "UTHIRD"):
        await env.command("follow actor:witkoff", user=user)
    await pipe.send(report(0))  # before the quiet hours: one DM each
    (first,) = [m for m in env.slack.messages if m.channel == "DUTHIRD"]
    admin = Caller("slack", "slack:T1", "UBOSS", "slack:C1", platform_admin=True)
    quiet = await CommandService(redis_client, clock=lambda: NOW).quiet(admin, "11:00-13:00 UTC")
    assert not quiet.error, quiet
    pipe.ingest.pipeline.gates.append(QuietHoursGate(redis_client, clock=lambda: NOW))
    await pipe.send(report(1))  # a follow-up for each, held until 13:00
    assert [len(dms(env.slack, u)) for u in ("UMEMBER", "UADMIN", "UTHIRD")] == [1, 1, 1]
    assert "No more direct messages" in said(await env.command("unfollow all", user="UMEMBER"))
    assert "muted in your direct messages" in await press_mute(env, "UTHIRD", "DUTHIRD", first)
    later = QuietHoursGate(redis_client, clock=lambda: NOW + timedelta(hours=2))
    assert await later.release_due(AlertQueue(redis_client)) == 3
    await pipe.dispatcher.drain()
    assert [len(dms(env.slack, u)) for u in ("UMEMBER", "UADMIN", "UTHIRD")] == [1, 2, 1]


MEMBER = Caller("slack", "slack:T1", "U2", "slack:C1")


async def test_a_user_may_follow_up_to_the_cap(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client)
    for n in range(MAX_FOLLOWS):
        reply = await service.follow(MEMBER, f"Witkoff NEAR/5 term{n}")
        assert not reply.error, reply
    again = await service.follow(MEMBER, "witkoff  near/5 TERM3")  # the same query
    assert not again.error and "already follow this (follow 4)" in again.title
    refused = await service.handle_text(MEMBER, "follow Kushner")
    assert refused.error and f"You already follow {MAX_FOLLOWS} queries" in refused.text
    assert "unfollow" in refused.footer
    assert len(await FollowStore(redis_client).of_user("slack:T1", "U2")) == MAX_FOLLOWS
    # another user of the team is not held by this one's cap; the freed id is taken again
    other = Caller("slack", "slack:T1", "U3", "slack:C1")
    assert not (await service.follow(other, "Kushner")).error
    assert not (await service.unfollow(MEMBER, "7")).error
    assert "(follow 7)" in (await service.follow(MEMBER, "Kushner")).title


async def test_follow_needs_no_admin_and_changes_nothing_of_the_team(
    redis_client: aioredis.Redis,
) -> None:
    service = CommandService(redis_client)
    assert not service.changes_state("follow actor:witkoff")
    reply = await service.handle_text(MEMBER, "follow actor:witkoff")
    assert not reply.error and reply.ephemeral
    teams = TeamStore(redis_client)
    assert await teams.rules("slack:T1") == []
    (rule_set,) = await teams.match_sets()
    assert [(r.id, r.channels) for r in rule_set.rules] == [("follow:U2:1", ["slack:@U2"])]


async def test_the_discord_dashboard_lists_the_callers_follows(
    redis_client: aioredis.Redis,
) -> None:
    service = CommandService(redis_client)
    caller = Caller("discord", "discord:800000000000000001", "300000000000000007", "discord:9")
    assert "Your follows (direct messages): none" in (await service.dashboard(caller)).text
    await service.follow(caller, "actor:witkoff")
    other = Caller("discord", "discord:800000000000000001", "300000000000000008", "discord:9")
    await service.follow(other, "Kellogg")
    shown = (await service.dashboard(caller)).text
    assert "Your follows (direct messages):\n• 1: actor:witkoff" in shown
    assert "Kellogg" not in shown


async def test_twenty_long_follows_with_failing_dms_all_fit_in_one_slack_and_discord_answer(
    redis_client: aioredis.Redis,
) -> None:
    service = CommandService(redis_client)
    for n in range(MAX_FOLLOWS):
        query = (f'"security guarantees for ukraine number {n}" AND (Witkoff OR Kushner OR '
                 "Dmitriev OR Umerov) NEAR/10 (Donbas OR Zaporizhzhia)")  # fmt: skip
        assert not (await service.follow(MEMBER, query)).error
    await AlertQueue(redis_client).pause("slack:@U2", "chat.postMessage: cannot_dm_bot", 1.0)
    reply = await service.follows(MEMBER)
    assert reply.text.count("failing") == 1 and "paused until" in reply.text
    slack_text = reply_message(reply).blocks[0]["text"]["text"]
    discord_text = reply_embeds(reply)[0].description or ""
    for shown in (slack_text, discord_text):
        assert all(f"\n{n} · `" in shown for n in range(2, MAX_FOLLOWS + 1)), shown[-300:]


async def test_follow_changes_are_capped_per_user_and_hour(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client)
    for n in range(CHANGES_PER_HOUR // 2):
        assert not (await service.follow(MEMBER, f"Witkoff NEAR/5 term{n}")).error
        assert not (await service.unfollow(MEMBER, "all")).error
    version = await TeamStore(redis_client).rules_version()
    refused = await service.follow(MEMBER, "Witkoff")
    assert refused.error and f"{CHANGES_PER_HOUR} times in the last hour" in refused.text
    assert await TeamStore(redis_client).rules_version() == version  # nothing recompiles
    assert "You follow nothing" in (await service.follows(MEMBER)).title
    other = Caller("slack", "slack:T1", "U3", "slack:C1")
    assert not (await service.follow(other, "Witkoff")).error  # the cap is each user's own
    assert 0 < await redis_client.ttl(keys.follow_changes(MEMBER.team_id, MEMBER.user_id)) <= 3600


async def test_a_query_too_long_for_a_rule_is_refused(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client)
    reply = await service.follow(MEMBER, " OR ".join(["Witkoff"] * 300))
    assert reply.error and "too long (3296 characters, at most 2000)" in reply.text
    assert await FollowStore(redis_client).of_user("slack:T1", "U2") == []
    assert await TeamStore(redis_client).match_sets() == []


async def test_unfollow_all_and_unfollow_of_nothing(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client)
    await service.follow(MEMBER, "Kushner")
    await service.follow(MEMBER, "actor:witkoff")
    missing = await service.handle_text(MEMBER, "unfollow Dmitriev")
    assert missing.error and "Your follows: 1 (Kushner), 2 (actor:witkoff)." in missing.text
    assert "Unfollowed all 2" in (await service.handle_text(MEMBER, "unfollow all")).title
    assert await FollowStore(redis_client).of_user("slack:T1", "U2") == []
    assert await TeamStore(redis_client).match_sets() == []
    assert (await service.handle_text(MEMBER, "unfollow")).error


async def test_the_last_unfollow_drops_the_user_and_then_the_team_from_the_follow_sets(
    redis_client: aioredis.Redis,
) -> None:
    service = CommandService(redis_client)
    other = Caller("slack", "slack:T1", "U3", "slack:C1")
    await service.follow(MEMBER, "Kushner")
    await service.follow(MEMBER, "actor:witkoff")
    await service.follow(other, "Kellogg")
    followers, teams = keys.team_followers("slack:T1"), keys.follow_teams()
    await service.unfollow(MEMBER, "1")  # one of two: still a follower
    assert await redis_client.smembers(followers) == {"U2", "U3"}
    await service.unfollow(MEMBER, "2")
    assert await redis_client.smembers(followers) == {"U3"}
    assert await redis_client.smembers(teams) == {"slack:T1"}
    await service.unfollow(other, "all")  # the team's last follower
    assert not await redis_client.exists(followers, teams)
    assert await FollowStore(redis_client).by_team() == {}
    # following again puts them back
    await service.follow(other, "Kellogg")
    assert await redis_client.smembers(teams) == {"slack:T1"}
