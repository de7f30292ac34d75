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
    service.destination_checks["discordhook"] = lambda url: validate_webhook(url, hooks)
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
