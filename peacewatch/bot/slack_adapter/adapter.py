"""The Slack adapter lifecycle: the bolt app, the sink and the connection, built from Settings."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from peacewatch.bot.slack_adapter.app import AdminCache, BoltConfig, build_bolt_app
from peacewatch.bot.slack_adapter.channels import SlackChannels
from peacewatch.bot.slack_adapter.homes import HomePublisher
from peacewatch.bot.slack_adapter.http import RequestCheck, mount_routes
from peacewatch.bot.slack_adapter.oauth import (
    RedisInstallationStore,
    RedisOAuthStateStore,
    SlackTokens,
)
from peacewatch.bot.slack_adapter.sink import SlackSink
from peacewatch.errors import ConfigError
from peacewatch.services.sinks import Sink
from peacewatch.settings import Settings

if TYPE_CHECKING:
    from peacewatch.services.commands import CommandService

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else None


def bolt_config(settings: Settings) -> BoltConfig:
    """The bolt app's configuration; ConfigError names the missing setting."""
    base_url = settings.slack_api_url or DEFAULT_API_URL
    if not base_url.endswith("/"):
        base_url += "/"  # the SDK joins "base_url + method"
    bot_token = _secret(settings.slack_bot_token)
    signing_secret = _secret(settings.slack_signing_secret) or ""
    client_secret = _secret(settings.slack_client_secret)
    http_mode = settings.slack_mode == "http"
    oauth = bool(settings.slack_client_id and client_secret)
    if http_mode:
        if not signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is required when SLACK_MODE=http")
        if not bot_token and not oauth:
            raise ConfigError(
                "SLACK_MODE=http needs SLACK_BOT_TOKEN (one workspace) or "
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (installs into many workspaces)"
            )
    else:
        if not _secret(settings.slack_app_token):
            raise ConfigError("SLACK_APP_TOKEN (xapp-...) is required when SLACK_MODE=socket")
        if not bot_token:
            raise ConfigError("SLACK_BOT_TOKEN (xoxb-...) is required when SLACK_MODE=socket")
        oauth = False  # the install pages are served in HTTP mode only
    return BoltConfig(
        base_url=base_url,
        signing_secret=signing_secret,
        bot_token=bot_token,
        client_id=settings.slack_client_id if oauth else None,
        client_secret=client_secret if oauth else None,
        http_mode=http_mode,
    )


class SlackAdapter:
    """Builds the bolt app, the sink and (in Socket Mode) the connection, from Settings.

    Raises ConfigError when the settings cannot run Slack in the chosen mode.
    """

    def __init__(self, settings: Settings, commands: CommandService, redis: aioredis.Redis) -> None:
        self._config = bolt_config(settings)
        self._redis = redis
        self._app_token = _secret(settings.slack_app_token)
        multi = self._config.client_id is not None
        self._installations = RedisInstallationStore(redis) if multi else None
        self._states = RedisOAuthStateStore(redis) if multi else None
        self._homes = HomePublisher(commands)
        self._bolt = build_bolt_app(
            self._config, commands, self._installations, self._states, AdminCache(), self._homes
        )
        tokens = SlackTokens(self._config.bot_token, self._installations)
        self._sink = SlackSink(tokens, redis, base_url=self._config.base_url)
        self._channels = SlackChannels(tokens, self._config.base_url)
        # people type #names; rules need ids: the command service asks this adapter
        commands.channel_resolvers["slack"] = self.resolve_channel
        self._socket: AsyncSocketModeHandler | None = None

    @property
    def sink(self) -> Sink:
        return self._sink

    async def resolve_channel(self, team_id: str, destination: str) -> str:
        """``slack:#name`` to ``slack:ID`` in the team's workspace (conversations.list).
        Raises ValueError naming the channel and how to find its id."""
        return await self._channels.resolve(team_id, destination)

    @property
    def bolt(self) -> AsyncApp:
        return self._bolt

    def mount(self, app: web.Application) -> None:
        """Add /slack/events (and the OAuth pages when installing into many workspaces) to
        ``app`` before it starts. Nothing in Socket Mode."""
        if self._config.http_mode:
            mount_routes(app, self._bolt, RequestCheck(self._config.signing_secret, self._redis))

    async def start(self) -> None:
        """Socket Mode: open the connection to Slack. HTTP mode: nothing (requests come in)."""
        if self._config.http_mode or self._socket is not None:
            return
        self._socket = AsyncSocketModeHandler(self._bolt, app_token=self._app_token)
        await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        await self._homes.close()
        await self._sink.close()
