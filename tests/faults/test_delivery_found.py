"""`peacewatch run` killed with SIGKILL while Discord holds its posts (stored, not yet answered),
restarted when the message nonce no longer helps: past Discord's nonce window, or for a follow's
direct message whose reader has left the server since. The restarted run finds the posts among
the destination's newest messages and records them; nothing is posted twice, and a delivered
direct message is not set aside as a dead letter."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.follows import FollowStore
from tests.fakes.discord_api import FORUM, TEXT, FakeDiscord
from tests.fakes.feed_server import FeedServer
from tests.faults.test_delivery_once import delivered, kill, one_item, start_run, stop, write_config

READER = 300000000000000007


def discord_env(fake: FakeDiscord) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_APPLICATION_ID": str(fake.application_id),
    }


def decoy(
    fake: FakeDiscord, channel: int, like: dict[str, Any], message_id: int | None = None
) -> None:
    """A newer message of the bot in ``channel``: ``like``'s with another alert's buttons
    (``message_id``: a forum post's starter message has the post's id)."""
    other = "f" * 32
    buttons = [
        {**button, "custom_id": button["custom_id"].rsplit(":", 1)[0] + ":" + other}
        for button in like["components"][0]["components"]
        if "custom_id" in button
    ]
    message_id = message_id or fake.snowflake()
    fake.messages[message_id] = {
        **{k: v for k, v in like.items() if k != "nonce"},
        "id": str(message_id),
        "channel_id": str(channel),
        "components": [{"type": 1, "components": buttons}],
    }


async def started_alerts(redis: aioredis.Redis) -> list[str]:
    """Alert ids whose delivery was begun (recorded or not)."""
    prefix = keys.delivery_started("")
    return [k.removeprefix(prefix) async for k in redis.scan_iter(keys.delivery_started("*"))]


@asynccontextmanager
async def discord_bench(
    tmp_path: Path, kind: int = TEXT
) -> AsyncIterator[tuple[FakeDiscord, int, Path]]:
    """The fake Discord with one channel of its server (of type ``kind``), a feed of one
    matching item, and the config that routes it to that channel."""
    fake = FakeDiscord()
    await fake.start()
    try:
        channel = fake.add_channel(kind)
        async with FeedServer() as feeds:
            feeds.set_feed("/feed.xml", one_item())
            team = f"discord:{fake.guild_id}"
            config = write_config(
                tmp_path / "config.yaml", feeds.url("/feed.xml"), team, f"discord:{channel}"
            )
            yield fake, channel, config
    finally:
        await fake.close()


async def killed_while_held(
    fake: FakeDiscord, config: Path, data: Path, redis_target: dict[str, Any], posts: int
) -> None:
    """A run killed with SIGKILL once Discord holds ``posts`` of its posts unanswered."""
    fake.hold_messages()
    first = await start_run(config, data, redis_target, discord_env(fake))
    try:
        await fake.wait_for(lambda: fake.held >= posts, 60)
        await kill(first)
    finally:
        await stop(first)
        fake.release_messages()


async def test_a_post_found_after_the_nonce_window_is_not_posted_again(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with discord_bench(tmp_path) as (fake, channel, config):
        await killed_while_held(fake, config, tmp_path / "first", redis_target, 1)
        (posted,) = fake.in_channel(channel)
        (alert_id,) = await started_alerts(redis_client)
        assert await redis_client.get(keys.delivered(alert_id)) is None

        fake.nonce_window = 0.0  # Discord no longer knows the nonce
        decoy(fake, channel, posted)  # a newer message of the bot, another alert's
        second = await start_run(config, tmp_path / "second", redis_target, discord_env(fake))
        try:
            ref = await delivered(redis_client, alert_id)
        finally:
            await stop(second)
        assert ref == f"{channel}/{posted['id']}"
        assert len(fake.in_channel(channel)) == 2  # the alert's and the decoy
        assert len(fake.of("POST", f"/channels/{channel}/messages")) == 1  # never posted again
        (lookup,) = fake.of("GET", f"/channels/{channel}/messages")
        assert lookup.query.get("limit") == "50"
        assert await redis_client.xlen(keys.alert_dead_letter()) == 0


async def test_a_forum_post_found_after_a_restart_is_not_posted_again(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    # A forum post carries no nonce: only the lookup among the forum's posts spares a second.
    async with discord_bench(tmp_path, FORUM) as (fake, forum, config):
        await killed_while_held(fake, config, tmp_path / "first", redis_target, 1)
        (post,) = [c for c in fake.channels.values() if c.get("parent_id") == str(forum)]
        (alert_id,) = await started_alerts(redis_client)
        assert await redis_client.get(keys.delivered(alert_id)) is None

        # newer posts: the bot's, named alike, whose starter carries another alert's buttons;
        # the bot's with other names (more than are read); one named alike in another forum,
        # and one a user made in this forum
        starter = fake.messages[int(post["id"])]
        elsewhere = fake.add_channel(FORUM)
        newer = [
            {**post, "name": name, "parent_id": str(parent), "owner_id": owner}
            for name, parent, owner in [
                (post["name"], forum, post["owner_id"]),
                *[(f"Another story {n}", forum, post["owner_id"]) for n in range(6)],
                (post["name"], elsewhere, post["owner_id"]),
                (post["name"], forum, "300000000000000009"),
            ]
        ]
        for thread in newer:
            other = fake.snowflake()
            fake.channels[other] = {**thread, "id": str(other)}
            decoy(fake, other, starter, message_id=other)
        second = await start_run(config, tmp_path / "second", redis_target, discord_env(fake))
        try:
            ref = await delivered(redis_client, alert_id)
        finally:
            await stop(second)
        assert ref == f"{post['id']}/{post['id']}"
        assert len(fake.of("POST", f"/channels/{forum}/threads")) == 1  # never posted again
        assert len(fake.of("GET", "/threads/active")) == 1
        (read,) = fake.of("GET", "/messages/")  # the alert's post's starter, read first
        assert read.path.endswith(f"/channels/{post['id']}/messages/{post['id']}")
        assert await redis_client.xlen(keys.alert_dead_letter()) == 0


async def test_a_dm_delivered_before_its_reader_left_is_not_a_dead_letter(
    redis_target: dict[str, Any], redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with discord_bench(tmp_path) as (fake, channel, config):
        team = f"discord:{fake.guild_id}"
        follows = FollowStore(redis_client)
        await follows.add(team, str(READER), "discord", "Witkoff", time.time())
        # the channel's alert and the follow's DM, both held
        await killed_while_held(fake, config, tmp_path / "first", redis_target, 2)
        dm = fake.dm_channels[str(READER)]
        (sent,) = fake.in_channel(dm)
        alert_ids = await started_alerts(redis_client)
        assert len(alert_ids) == 2

        fake.members.leave(READER)  # before the restart asks
        second = await start_run(config, tmp_path / "second", redis_target, discord_env(fake))
        try:
            refs = {await delivered(redis_client, alert_id) for alert_id in alert_ids}
        finally:
            await stop(second)
        assert f"{dm}/{sent['id']}" in refs
        assert fake.in_channel(dm) == [sent] and len(fake.in_channel(channel)) == 1
        assert await redis_client.xlen(keys.alert_dead_letter()) == 0
        assert len(fake.of("POST", f"/channels/{dm}/messages")) == 1
