"""A personal follow's direct messages on Discord: the real discord.py HTTP client and the real
dispatcher against the fake Discord, which opens DM channels and refuses threads in them."""

from __future__ import annotations

import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter.client import PeacewatchClient
from peacewatch.bot.discord_adapter.sink import DiscordSink
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.follows import dm_destination
from tests.fakes.direct_messages import DM
from tests.fakes.discord_api import FakeDiscord
from tests.test_discord_sink import client, fake, followup_of, new_alert

__all__ = ["client", "fake"]  # the fixtures, shared with the sink's own tests

USER = "300000000000000007"


async def test_a_dm_opens_once_and_follow_ups_reply_to_the_storys_message(
    fake: FakeDiscord, client: PeacewatchClient, redis_client: aioredis.Redis
) -> None:
    queue = AlertQueue(redis_client)
    dispatcher = Dispatcher(queue, {"discord": DiscordSink(client, fake.token)})
    first = new_alert(dm_destination("discord", USER))
    other_story = new_alert(dm_destination("discord", USER), story="fedcba9876543210")
    for alert in (first, followup_of(first), other_story):
        await queue.enqueue(alert)
    await dispatcher.drain()

    assert dispatcher.stats.delivered == 3 and dispatcher.stats.dead == 0
    (opened,) = [s for s in fake.of("POST", "/users/@me/channels")]
    assert opened.body == {"recipient_id": USER} and opened.status == 200
    dm = fake.dm_channels[USER]
    assert fake.channels[dm]["type"] == DM
    story, reply, second_story = fake.in_channel(dm)
    assert story["embeds"][0]["title"] == "Witkoff will meet Putin in Moscow"
    labels = [b["label"] for row in story["components"] for b in row["components"]]
    assert labels[:2] == ["Mute this story", "Not relevant"]  # they answer in a DM too
    assert reply["message_reference"]["message_id"] == story["id"]  # no thread in a DM
    assert reply["embeds"][0]["title"] == "Dmitriev meets Witkoff in Miami"
    assert "message_reference" not in second_story  # a new story is a new DM
    assert not fake.of("POST", "/threads")
    # the story's DM shows the new outlet count, as a channel alert does
    (edit,) = fake.of("PATCH", f"/channels/{dm}/messages/{story['id']}")
    assert "Reported by 2 outlets" in str(edit.body["embeds"][0]["fields"])
