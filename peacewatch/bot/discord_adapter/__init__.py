"""The Discord adapter: the one place that imports discord.py (sinks, app commands, lifecycle)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from peacewatch.bot.discord_adapter.client import (
    PeacewatchClient,
    api_base,
    apply_api_base,
)
from peacewatch.bot.discord_adapter.commands import install, settings_app_id, sync_commands
from peacewatch.bot.discord_adapter.sink import DiscordSink
from peacewatch.bot.discord_adapter.webhook import (
    WebhookClient,
    WebhookSink,
    parse_webhook_url,
    validate_webhook,
)
from peacewatch.errors import ConfigError, DeliveryError, PermanentDelivery, RetryLater
from peacewatch.services.sinks import Sink
from peacewatch.settings import Settings

if TYPE_CHECKING:
    from peacewatch.bot.replies import Caller
    from peacewatch.services.commands import CommandService

__all__ = [
    "DiscordAdapter",
    "DiscordSink",
    "WebhookSink",
    "parse_webhook_url",
    "sync_commands",
    "validate_webhook",
]

log = logging.getLogger(__name__)


def _no_voice_warning(record: logging.LogRecord) -> bool:
    """False for discord.py's "PyNaCl/davey is not installed, voice will NOT be supported": the
    bot never joins a voice channel, so these say nothing at each start."""
    return "voice will NOT be supported" not in record.getMessage()


class DiscordAdapter:
    """The bot (REST and gateway), its alert sinks and its ``/peacewatch`` commands.

    Creating it sets discord.py's REST base URL from DISCORD_API_URL for the whole process.
    Commands are registered with Discord only by ``sync_commands`` (``peacewatch discord
    sync``), never on start.
    """

    def __init__(self, settings: Settings, commands: CommandService) -> None:
        apply_api_base(api_base(settings))
        voice_warnings = logging.getLogger("discord.client")
        if _no_voice_warning not in voice_warnings.filters:
            voice_warnings.addFilter(_no_voice_warning)
        self._token = settings.discord_token.get_secret_value() if settings.discord_token else None
        self._client = PeacewatchClient(commands, application_id=settings_app_id(settings))
        install(self._client)
        self._sink = DiscordSink(self._client, self._token)
        self._webhooks = WebhookClient(api_base(settings))
        self._webhook_sink = WebhookSink(self._webhooks)
        self._task: asyncio.Task[None] | None = None

    @property
    def sink(self) -> Sink:
        """Alerts for ``discord:<channel_id>`` destinations."""
        return self._sink

    @property
    def webhook_sink(self) -> Sink:
        """Alerts for ``discordhook:<webhook URL>`` destinations."""
        return self._webhook_sink

    @property
    def client(self) -> PeacewatchClient:
        return self._client

    async def validate_webhook(self, url: str) -> str | None:
        """None when ``url`` is a webhook Discord knows, else what is wrong with it."""
        return await self._webhook_sink.validate(url)

    async def check_webhook(self, url: str, caller: Caller) -> str | None:
        """The command service's check of a new ``discordhook:`` destination."""
        return await self.validate_webhook(url)

    async def check_channel(self, channel_id: str, caller: Caller) -> str | None:
        """None when ``channel_id`` is a channel of the caller's own server that the bot can
        see; else what is wrong (one bot serves many servers: a rule must never post into
        another server's channel)."""
        problem, _definite = await self.channel_problem(channel_id, caller.team_id)
        return problem

    async def channel_problem(self, channel_id: str, team_id: str) -> tuple[str | None, bool]:
        """What is wrong with posting a ``team_id`` (``discord:GUILD``) rule into channel
        ``channel_id``, or None; and whether Discord said so (False: it could not be asked)."""
        guild = team_id.removeprefix("discord:")
        if self._token is None:
            return "DISCORD_TOKEN is not set, so Discord channels cannot be checked.", False
        try:
            await self._client.ensure_login(self._token)
            data = await self._client.http.get_channel(int(channel_id))
        except DeliveryError as exc:
            return f"Discord could not be reached to check the channel: {exc}", False
        except (ValueError, discord.NotFound):
            return f"Discord has no channel {channel_id} that the bot can see.", True
        except discord.Forbidden:
            return f"The bot may not see channel {channel_id}; invite it there first.", True
        except discord.HTTPException as exc:
            return f"Discord could not check channel {channel_id}: {exc.status}", False
        if str(data.get("guild_id")) != guild:
            return f"Channel {channel_id} is not in this server.", True
        return None, True

    async def start(self) -> None:
        """Log in, then keep a gateway connection (for commands and buttons) in the background.

        Raises ConfigError when Discord rejects DISCORD_TOKEN. When Discord cannot be reached,
        the login is retried in the background; alerts wait in the queue meanwhile.
        """
        if self._token is None:
            log.info("DISCORD_TOKEN is not set: the Discord bot stays off (webhooks still work)")
            return
        try:
            await self._client.ensure_login(self._token)
        except PermanentDelivery as exc:
            raise ConfigError(str(exc)) from exc
        except RetryLater as exc:
            log.warning("Discord is unreachable (%s); retrying in the background", exc)
        self._task = asyncio.create_task(
            self._client.run_gateway(self._token), name="discord-gateway"
        )

    async def stop(self) -> None:
        await self._client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._webhooks.close()
