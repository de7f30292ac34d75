"""Every state-changing command in the registry refuses a non-admin and changes nothing.

The list comes from the registry, so a command registered later is covered here without anyone
adding it; each one's example is checked to reach that command and, run by an admin, to change
something (a refusal test of a no-op would prove nothing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import REGISTRY, CommandService, Registry, not_admin
from peacewatch.services.commands.registry import Command
from peacewatch.services.parsing import parse_command
from peacewatch.services.replies import Caller
from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.store.teams import TeamStore
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.guard import GuardPolicy
from tests.fakes.feed_server import FeedServer

TEAM = "slack:T1"
ADMIN = Caller("slack", TEAM, "U1", "slack:C1", platform_admin=True)
MEMBER = Caller("slack", TEAM, "U2", "slack:C1")
FEED = (Path(__file__).parent.parent / "peacewatch" / "demo" / "feeds" / "bbc.xml").read_bytes()
CHANGES = REGISTRY.changing_state()


@pytest.fixture
async def service(redis_client: aioredis.Redis) -> AsyncIterator[CommandService]:
    async with (
        FeedServer() as server,
        Fetcher(GuardPolicy(allow_networks=("127.0.0.1/32",))) as fetcher,
    ):
        server.set_feed("/search", FEED)
        yield CommandService(
            redis_client, fetcher=fetcher, news_search_url=server.url("/search?q={query}")
        )


async def seed(redis: aioredis.Redis) -> None:
    """A team with a rule ``r1`` and a feed ``f0000000feed`` of its own."""
    teams = TeamStore(redis)
    await teams.put_rule(TEAM, RuleSpec(id="r1", query="Witkoff", channels=["slack:C1"]))
    await teams.mute(TEAM, "r1", datetime(2099, 1, 1, tzinfo=UTC))
    url = "http://127.0.0.1:9/feed"
    await FeedStore(redis).put(FeedSpec(id="f0000000feed", url=url, outlet="X", team_id=TEAM))
    await teams.add_feed(TEAM, "f0000000feed")


async def snapshot(redis: aioredis.Redis) -> dict[str, bytes]:
    return {key: await redis.dump(key) for key in sorted(await redis.keys("*"))}


def test_the_registry_lists_the_changing_commands() -> None:
    actions = {c.action for c in CHANGES}
    assert {"rules_add", "rules_remove", "feeds_add", "feeds_remove", "admins"} <= actions
    assert {"quiet", "timezone", "retention", "digest_at", "subscribe"} <= actions
    assert not {"search", "latest", "rules_list", "rules_test", "status"} & actions
    assert all(c.example for c in CHANGES), "every state-changing command needs an example"


def test_a_command_word_registered_twice_is_an_error() -> None:
    first = next(iter(REGISTRY))
    with pytest.raises(ValueError, match="registered twice"):
        Registry([first, Command(first.action, first.run)])


@pytest.mark.parametrize("command", CHANGES, ids=lambda c: c.action)
async def test_a_non_admin_is_refused_and_nothing_changes(
    service: CommandService, redis_client: aioredis.Redis, command: Command
) -> None:
    assert parse_command(command.example).action == command.action
    await seed(redis_client)
    before = await snapshot(redis_client)
    reply = await service.handle_text(MEMBER, command.example)
    assert reply.error and reply.ephemeral, reply
    assert reply.text == not_admin("slack")
    assert await snapshot(redis_client) == before


@pytest.mark.parametrize("command", CHANGES, ids=lambda c: c.action)
async def test_the_same_command_by_an_admin_changes_something(
    service: CommandService, redis_client: aioredis.Redis, command: Command
) -> None:
    await seed(redis_client)
    before = await snapshot(redis_client)
    reply = await service.handle_text(ADMIN, command.example)
    assert not reply.error, reply
    assert await snapshot(redis_client) != before
