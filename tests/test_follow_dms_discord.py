"""A follow's Discord DM, through the real discord.py client and the real pipeline, dispatcher
and Discord sink against the fake Discord: the DM names the follow by its query (never an
internal id), carries the alert's buttons, and "Mute this story" pressed there (no server in
the interaction) mutes the story for that reader, in the follow's own team; a user who takes
no DM from the bot sees their follow as failing, with Discord's reason."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import yarl
from discord.gateway import DiscordWebSocket

from peacewatch import status
from peacewatch.bot.discord_adapter import DiscordAdapter
from peacewatch.bot.discord_adapter.client import DEFAULT_API_URL, apply_api_base
from peacewatch.bot.discord_adapter.embeds import FEEDBACK_ID_RE
from peacewatch.services.commands import CommandService
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.feeds import FeedStore
from tests.fakes.discord_api import Seen
from tests.fakes.discord_dm import DmRefusingDiscord, dm_interaction
from tests.fakes.discord_ui import buttons, press
from tests.story_driver import Ingest
from tests.test_discord_commands import command, settings_for, titles
from tests.test_follows import CONFIG_FEED, NOW, report

READER = 300000000000000007
OTHER = 300000000000000009


@pytest.fixture
async def fake() -> AsyncIterator[DmRefusingDiscord]:
    server = DmRefusingDiscord()
    await server.start()
    try:
        yield server
    finally:
        apply_api_base(DEFAULT_API_URL)
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("wss://gateway.discord.gg/")
        await server.close()


@pytest.fixture
async def adapter(
    fake: DmRefusingDiscord, redis_client: aioredis.Redis
) -> AsyncIterator[DiscordAdapter]:
    service = CommandService(redis_client)
    bot = DiscordAdapter(settings_for(fake), service)
    await bot.client.ensure_login(fake.token)  # REST only: interactions arrive below
    await FeedStore(redis_client).put(CONFIG_FEED)
    try:
        yield bot
    finally:
        await bot.stop()
        await service.close()


async def as_user(
    fake: DmRefusingDiscord, adapter: DiscordAdapter, user: int, *path: str, **options: Any
) -> str:
    """Run ``/peacewatch PATH`` in the server as ``user``; the text of the answer."""
    channel = next(iter(c for c, v in fake.channels.items() if v.get("type") == 0), None)
    channel = channel or fake.add_channel()
    payload = fake.interaction_payload(command(*path, **options), channel_id=channel, user_id=user)
    adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await fake.wait_for(lambda: bool(fake.answers(payload)))
    return json.dumps([s.body for s in fake.answers(payload)], ensure_ascii=False)


async def press_in_dm(
    fake: DmRefusingDiscord, adapter: DiscordAdapter, user: int, label: str, message: Any
) -> Seen:
    """Press the button ``label`` of ``message`` in the bot's DM with ``user``."""
    payload = dm_interaction(
        fake,
        press(label, message),
        channel_id=int(message["channel_id"]),
        user_id=user,
        message=message,
    )
    adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await fake.wait_for(lambda: bool(fake.answers(payload)))
    (answer,) = fake.answers(payload)
    return answer


@pytest.fixture
def ingest(redis_client: aioredis.Redis) -> Ingest:
    """One ingest for the whole test: its story assigner takes the lease at the first article
    and keeps it, so later reports join the story of the earlier ones. (A second ``Ingest``
    would find the lease held and process nothing.)"""
    return Ingest(redis_client, clock=lambda: NOW)


async def deliver(
    redis: aioredis.Redis, ingest: Ingest, adapter: DiscordAdapter, *numbers: int
) -> Dispatcher:
    """Ingest reports ``numbers`` (each one processed, or the test fails) and deliver what
    they queue."""
    assert await ingest.ingest([report(n) for n in numbers]) == len(numbers)
    dispatcher = Dispatcher(AlertQueue(redis), {"discord": adapter.sink}, retry_idle_ms=0)
    await dispatcher.drain()
    return dispatcher


async def test_a_dm_names_the_follow_and_its_mute_button_is_the_readers(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
) -> None:
    assert "Following actor:witkoff" in await as_user(
        fake, adapter, READER, "follow", query="actor:witkoff"
    )
    await deliver(redis_client, ingest, adapter, 0)
    dm = fake.dm_channels[str(READER)]
    (story,) = fake.in_channel(dm)
    embed = story["embeds"][0]
    assert embed["footer"]["text"] == "peacewatch · Your follow: actor:witkoff"
    found = FEEDBACK_ID_RE.fullmatch(buttons(story)["Mute this story"])
    assert found is not None
    shown = re.sub(r"https://\S+?(?=[\")])", "LINK", json.dumps(embed))  # addresses aside
    for internal in (f"follow:{READER}", found["story"], found["alert"], "discord:"):
        assert internal not in shown, internal

    # the buttons of a channel alert, in the DM too
    assert {"Mute this story", "Not relevant"} <= set(buttons(story))
    team = f"discord:{fake.guild_id}"
    muted = keys.story_muted(team, f"discord:@{READER}", found["story"])
    answer = await press_in_dm(fake, adapter, READER, "Mute this story", story)
    assert answer.body["type"] == 4 and "muted in your direct messages" in titles(answer)
    assert await redis_client.exists(muted)
    await deliver(redis_client, ingest, adapter, 1)
    assert len(fake.in_channel(dm)) == 1  # no follow-up reaches the reader who muted it

    # "Not relevant" in the DM is the reader's taste: answered, not counted as the team's
    noted = await press_in_dm(fake, adapter, READER, "Not relevant", story)
    assert "Noted, for you only" in titles(noted)
    assert not await redis_client.exists(keys.team_not_relevant(team))


async def test_a_dm_button_pressed_by_someone_else_acts_for_no_team(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
) -> None:
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    await deliver(redis_client, ingest, adapter, 0)
    (story,) = fake.in_channel(fake.dm_channels[str(READER)])
    answer = await press_in_dm(fake, adapter, OTHER, "Mute this story", story)
    assert "inside a server" in titles(answer)
    assert not await redis_client.keys(keys.story_muted("*", "*", "*"))


async def test_a_user_discord_will_not_let_the_bot_message_sees_the_follow_failing(
    fake: DmRefusingDiscord,
    adapter: DiscordAdapter,
    redis_client: aioredis.Redis,
    ingest: Ingest,
) -> None:
    fake.refuse_dms(str(READER))
    await as_user(fake, adapter, READER, "follow", query="actor:witkoff")
    dispatcher = await deliver(redis_client, ingest, adapter, 0)
    assert dispatcher.stats.dead == 1 and not fake.in_channel(fake.dm_channels[str(READER)])

    listed = await as_user(fake, adapter, READER, "follows")
    assert "failing: not delivered since" in listed and "50007" in listed
    assert "Discord does not let the bot message you" in listed
    home = await as_user(fake, adapter, READER, "home")
    assert "actor:witkoff (failing: not delivered since" in home
    assert "failing" not in await as_user(fake, adapter, OTHER, "follows")
    assert "paused until you follow a query again" in listed
    # the user's refusal is no Discord outage, and their later alerts are not dead letters
    outages = await status.destinations(AlertQueue(redis_client), set())
    assert not [d for d in outages if d.failing]
    later = await deliver(redis_client, ingest, adapter, 1, 2)
    assert later.stats.dead == 0 and not fake.in_channel(fake.dm_channels[str(READER)])
