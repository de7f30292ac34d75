"""Discord webhook URLs as rule destinations: checked with Discord when added, token hidden."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from peacewatch.bot.discord_adapter.client import DEFAULT_API_URL, apply_api_base
from peacewatch.bot.discord_adapter.webhook import WebhookClient, validate_webhook
from peacewatch.bot.replies import Caller
from peacewatch.services.commands import CommandService
from peacewatch.store.teams import TeamStore
from tests.fakes.discord_api import FakeDiscord

ADMIN = Caller("discord", "discord:4455", "u1", "discord:123456789", platform_admin=True)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    apply_api_base(server.api_url)
    try:
        yield server
    finally:
        apply_api_base(DEFAULT_API_URL)
        await server.close()


async def test_webhook_destination_is_validated_and_its_token_never_shown(
    fake: FakeDiscord, redis_client: Any
) -> None:
    hooks = WebhookClient(fake.api_url)
    service = CommandService(redis_client)
    service.destination_checks["discordhook"] = lambda url, _caller: validate_webhook(url, hooks)
    try:
        url = fake.add_webhook(fake.add_channel())
        token = url.rsplit("/", 1)[1]
        added = await service.rules_add(ADMIN, "envoys", "Witkoff OR Dmitriev", url)
        assert not added.error, added.text
        assert token not in added.text and "webhooks/" in added.text
        (rule,) = await TeamStore(redis_client).rules(ADMIN.team_id)
        assert rule.channels == [f"discordhook:{url}"]
        listed = await service.rules_list(ADMIN)
        assert all(token not in (i.meta + i.text) for i in listed.items)

        unknown = url.replace(token, "z" * len(token))
        refused = await service.subscribe(ADMIN, "envoys", unknown)
        assert refused.error and "does not know" in refused.text
        (rule,) = await TeamStore(redis_client).rules(ADMIN.team_id)
        assert rule.channels == [f"discordhook:{url}"]  # nothing changed
    finally:
        await service.close()
        await hooks.close()


async def test_a_rule_may_post_only_into_a_channel_of_its_own_server(
    fake: FakeDiscord, redis_client: Any
) -> None:
    from peacewatch.bot.discord_adapter import DiscordAdapter
    from peacewatch.settings import Settings

    service = CommandService(redis_client)
    settings = Settings(
        DISCORD_TOKEN=fake.token,
        DISCORD_API_URL=fake.api_url,
        DISCORD_APPLICATION_ID=str(fake.application_id),
    )
    adapter = DiscordAdapter(settings, service)
    service.destination_checks["discord"] = adapter.check_channel
    try:
        ours = fake.add_channel()
        admin = Caller("discord", f"discord:{fake.guild_id}", "u1", f"discord:{ours}", True)
        added = await service.rules_add(admin, "envoys", "Witkoff", f"discord:{ours}")
        assert not added.error, added.text

        other_server = Caller("discord", "discord:999999999999", "u2", "discord:1", True)
        refused = await service.rules_add(other_server, "steal", "Witkoff", f"discord:{ours}")
        assert refused.error and "not in this server" in refused.text
        unknown = await service.rules_add(admin, "x", "Witkoff", "discord:123456789012")
        assert unknown.error and "no channel" in unknown.text
        slack_team = Caller("slack", "slack:T1", "u3", "slack:C1", True)
        cross = await service.rules_add(slack_team, "y", "Witkoff", f"discord:{ours}")
        assert cross.error and "slack" in cross.text
        assert await TeamStore(redis_client).rules(other_server.team_id) == []
    finally:
        await adapter.stop()
        await service.close()
