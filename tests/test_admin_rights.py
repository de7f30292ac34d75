"""Team settings commands (retention, digest time) change nothing unless an admin runs them."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.replies import Caller
from peacewatch.services.commands import CommandService
from peacewatch.store.teams import TeamSettings, TeamStore

ADMIN = Caller("slack", "slack:T1", "U1", "slack:C1", platform_admin=True)
MEMBER = Caller("slack", "slack:T1", "U2", "slack:C1")
DEFAULTS = TeamSettings()


@pytest.fixture
async def service(redis_client: aioredis.Redis) -> CommandService:
    return CommandService(redis_client)


async def settings(service: CommandService) -> tuple[int, str]:
    current = await TeamStore(service._redis).settings("slack:T1")
    return current.retention_days, current.digest_time


@pytest.mark.parametrize("text", ["retention 30d", "retention 7", "digest at 06:30"])
async def test_a_member_cannot_change_retention_or_digest_time(
    service: CommandService, text: str
) -> None:
    reply = await service.handle_text(MEMBER, text)
    assert reply.error and reply.ephemeral
    assert "Only workspace admins" in reply.text
    assert await settings(service) == (DEFAULTS.retention_days, DEFAULTS.digest_time)


async def test_direct_calls_check_rights_too(service: CommandService) -> None:
    assert "Only workspace admins" in (await service.retention(MEMBER, "30d")).text
    assert "Only workspace admins" in (await service.digest_time(MEMBER, "06:30")).text
    assert await settings(service) == (DEFAULTS.retention_days, DEFAULTS.digest_time)


async def test_an_admin_changes_them(service: CommandService) -> None:
    assert (DEFAULTS.retention_days, DEFAULTS.digest_time) != (30, "06:30")
    for text in ("retention 30d", "digest at 06:30"):
        reply = await service.handle_text(ADMIN, text)
        assert not reply.error, reply.text
    assert await settings(service) == (30, "06:30")


async def test_a_member_on_the_teams_admin_list_changes_them(service: CommandService) -> None:
    await service.handle_text(ADMIN, "admins add <@U2|maria>")
    assert not (await service.handle_text(MEMBER, "retention 14d")).error
    assert not (await service.handle_text(MEMBER, "digest at 21:15")).error
    assert await settings(service) == (14, "21:15")
    other_team = Caller("slack", "slack:T9", "U2", "slack:C1")  # the list is per team
    assert (await service.handle_text(other_team, "retention 3d")).error
