"""A follow's reader who left the Discord server (or was removed) gets nothing more from it,
though Discord would still carry a DM to them: before a follow's DM is posted the sink asks
Get Guild Member (once per user in a burst); Unknown Member sets the DM aside as a dead letter
("reader left the team") and removes their follows of that server. Their follows of other
servers go on, through the same DM channel, which is neither paused nor failing. When Discord
cannot say, the DM goes out as before. Through the real discord.py client, pipeline,
dispatcher and Discord sink against the fake Discord."""

from __future__ import annotations

import logging
from typing import cast

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter import DiscordAdapter
from peacewatch.bot.discord_adapter.sink import DiscordSink
from peacewatch.cli.deadletters import format_list
from peacewatch.cli.status import format_status
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.services.membership import MEMBER_TTL, MemberCache
from peacewatch.status import collect
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.feeds import FeedStore
from peacewatch.store.follows import FollowStore
from peacewatch.store.teams import TeamStore
from tests.fakes.discord_dm import DmRefusingDiscord
from tests.story_driver import Ingest
from tests.test_follow_dms_discord import READER, adapter, as_user, deliver, fake, ingest
from tests.test_follow_paused import other_story
from tests.test_follows import NOW

__all__ = ["adapter", "fake", "ingest"]  # the fixtures

OTHER_SERVER = "discord:800000000000000077"
"""A server the fake does not know (its members cannot be checked: delivered as before)."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def member_checks(fake: DmRefusingDiscord) -> int:
    return len(fake.of("GET", f"/guilds/{fake.guild_id}/members/"))


def with_clock(adapter: DiscordAdapter) -> Clock:
    clock = Clock()
    cast(DiscordSink, adapter.sink).members = MemberCache(clock)
    return clock


async def test_a_reader_who_left_the_server_gets_no_more_dms_and_loses_the_follows(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = with_clock(adapter)
    team = f"discord:{fake.guild_id}"
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    await deliver(redis_client, ingest, adapter, 0)
    dm = fake.dm_channels[str(READER)]
    assert len(fake.in_channel(dm)) == 1

    fake.members.leave(READER)
    clock.now += MEMBER_TTL + 1
    with caplog.at_level(logging.WARNING):
        later = await deliver(redis_client, ingest, adapter, 1)  # the story's follow-up
    assert len(fake.in_channel(dm)) == 1  # Discord would have taken it; it was not sent
    assert later.stats.dead == 1
    (dead,) = await AlertQueue(redis_client).dead_letters()
    assert dead.reason.startswith("reader left the team: ")
    assert "Unknown Member" in dead.reason and f"no longer a member of {team}" in dead.reason
    assert await AlertQueue(redis_client).outages() == {}  # neither paused nor failing
    assert await FollowStore(redis_client).of_user(team, str(READER)) == []
    said = [r.getMessage() for r in caplog.records if "no longer a member" in r.getMessage()]
    assert any("removed their 1 follow there" in line for line in said), said
    assert not any(fake.token in line for line in said)

    # no alert is made for them any more
    checks = member_checks(fake)
    quiet = await deliver(redis_client, ingest, adapter, 2)
    assert quiet.stats.delivered == 0 and len(fake.in_channel(dm)) == 1
    assert member_checks(fake) == checks


async def test_leaving_one_server_keeps_the_follows_of_another(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_clock(adapter)
    team = f"discord:{fake.guild_id}"
    follows = FollowStore(redis_client)
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    await follows.add(OTHER_SERVER, str(READER), "discord", "Kushner", NOW.timestamp())
    fake.members.leave(READER)

    with caplog.at_level(logging.WARNING, logger="peacewatch.services.dispatcher"):
        dispatcher = await deliver(redis_client, ingest, adapter, 0)  # one pass settles it
    logged = [r.getMessage() for r in caplog.records]
    assert not [line for line in logged if "failing" in line or "paused" in line], logged
    dm = fake.dm_channels[str(READER)]
    (story,) = fake.in_channel(dm)  # the other server's alert only
    assert "Kushner" in story["embeds"][0]["footer"]["text"]
    assert dispatcher.stats.delivered == 1 and dispatcher.stats.dead == 1
    assert dispatcher.stats.retried == 0 and dispatcher.stats.dropped == 0
    queue = AlertQueue(redis_client)
    (dead,) = await queue.dead_letters()  # the left server's alert, with the reason
    assert dead.destination == f"discord:@{READER}"
    assert dead.reason.startswith("reader left the team: ")
    assert "Unknown Member" in dead.reason and f"no longer a member of {team}" in dead.reason
    assert await queue.paused(f"discord:@{READER}") is None  # their DMs are not paused
    assert await queue.outages() == {}  # nor failing: delivery to them is healthy
    assert (await queue.depth())["pending"] == 0
    # what the operator sees: `peacewatch deadletters list` and `peacewatch status`
    listed = format_list(await queue.dead_letters())
    assert f"discord:@{READER}" in listed and "reader left the team" in listed
    stores = FeedStore(redis_client), TeamStore(redis_client), queue, ArticleStore(redis_client)
    shown = format_status(await collect(*stores))
    assert "dead=1" in shown and "failing" not in shown, shown
    assert await follows.of_user(team, str(READER)) == []
    assert [f.query for f in await follows.of_user(OTHER_SERVER, str(READER))] == ["Kushner"]

    # the other server's follow-ups still reach them
    await deliver(redis_client, ingest, adapter, 1)
    assert len(fake.in_channel(dm)) == 2


async def test_a_burst_of_dms_costs_one_member_check(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
) -> None:
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    await deliver(redis_client, ingest, adapter, 0, 1, 2)
    assert len(fake.in_channel(fake.dm_channels[str(READER)])) == 3
    assert member_checks(fake) == 1


@pytest.mark.parametrize("status", [503, 403])
async def test_when_discord_cannot_say_the_dm_goes_out_as_before(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
    status: int,
) -> None:
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    fake.members.fail(status)
    dispatcher = await deliver(redis_client, ingest, adapter, 0)
    assert len(fake.in_channel(fake.dm_channels[str(READER)])) == 1
    assert dispatcher.stats.dead == 0 and member_checks(fake) == 1
    team = f"discord:{fake.guild_id}"
    assert len(await FollowStore(redis_client).of_user(team, str(READER))) == 1


async def test_a_dm_refused_after_leaving_removes_the_follows_too(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
) -> None:
    """Left the only server shared with the bot: Discord refuses the DM (50007), which an
    answer kept from before would not explain; the membership is asked again."""
    team = f"discord:{fake.guild_id}"
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    await deliver(redis_client, ingest, adapter, 0)  # a member: the answer is kept
    fake.members.leave(READER)
    fake.refuse_dms(str(READER))
    dispatcher = await deliver(redis_client, ingest, adapter, 1)
    assert dispatcher.stats.dead == 1
    (dead,) = await AlertQueue(redis_client).dead_letters()
    assert "Unknown Member" in dead.reason
    assert await FollowStore(redis_client).of_user(team, str(READER)) == []


async def test_a_reader_who_comes_back_and_follows_again_gets_dms_again(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
) -> None:
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    fake.members.leave(READER)
    gone = await deliver(redis_client, ingest, adapter, 0)
    assert gone.stats.dead == 1 and str(READER) not in fake.dm_channels

    fake.members.join(READER)  # back in the server, at once
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    assert await ingest.ingest([other_story(1)]) == 1  # a story of its own
    back = Dispatcher(AlertQueue(redis_client), {"discord": adapter.sink}, retry_idle_ms=0)
    await back.drain()
    assert back.stats.delivered == 1
    assert len(fake.in_channel(fake.dm_channels[str(READER)])) == 1
