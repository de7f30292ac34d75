"""`peacewatch run`: the long-running bot, stopped cleanly by SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.config import AppConfig, load_config
from peacewatch.eventloop import loop_name
from peacewatch.http_server import HttpServer
from peacewatch.rules.engine import TeamRuleSet
from peacewatch.settings import Settings
from peacewatch.startup import (
    ChannelCheck,
    check_destinations,
    check_team_channels,
    log_platforms,
    resolve_names,
    wants,
)
from peacewatch.status import DestinationHealth, Status, collect, delivery
from peacewatch.watchers.poller import PollPolicy

log = logging.getLogger(__name__)


def _policy(config: AppConfig) -> PollPolicy:
    return PollPolicy(
        backfill=timedelta(hours=config.backfill_hours)
        if config.backfill_hours is not None
        else None,
        max_age=timedelta(days=config.max_age_days) if config.max_age_days is not None else None,
    )


class Adapter(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def _chat_adapters(
    settings: Settings,
    app: App,
    http: HttpServer,
    rule_sets: Sequence[TeamRuleSet],
    channel_checks: dict[str, ChannelCheck],
) -> tuple[list[Adapter], dict[str, str]]:
    """The chat adapters the settings (and the rules' destinations) call for, their sinks
    joined to the dispatcher, their channel checks added to ``channel_checks``; and each
    platform served, with how it is connected."""
    adapters: list[Adapter] = []
    served = {"console": "alerts printed on stdout"}
    slack_configured = settings.slack_bot_token or (
        settings.slack_client_id and settings.slack_client_secret
    )
    if slack_configured:
        from peacewatch.bot.slack_adapter import SlackAdapter

        slack = SlackAdapter(settings, app.commands, app.redis.client)
        slack.mount(http.app)
        app.dispatcher.add_sink(slack.sink)
        adapters.append(slack)
        served["slack"] = f"connected ({settings.slack_mode} mode)"
    # a webhook URL is its own credential: webhook destinations need no bot token
    if settings.discord_token or wants(rule_sets, "discordhook"):
        from peacewatch.bot.discord_adapter import DiscordAdapter

        discord = DiscordAdapter(settings, app.commands)
        app.dispatcher.add_sink(discord.webhook_sink)
        app.commands.destination_checks["discordhook"] = discord.check_webhook
        served["discordhook"] = "webhooks, no bot token needed"
        if settings.discord_token:
            app.dispatcher.add_sink(discord.sink)
            app.commands.destination_checks["discord"] = discord.check_channel
            channel_checks["discord"] = discord.channel_problem
            served["discord"] = "connected (bot token)"
        adapters.append(discord)
    return adapters, served


async def run_forever(settings: Settings, config_path: Path | None) -> None:
    """Run until SIGINT or SIGTERM, then stop in order. Raises ConfigError for bad config."""
    # The bot writes to sockets (Redis, HTTP): a peer that went away is an error to handle,
    # never a reason to die (the command line's default lets a closed pipe end a command).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # with one workspace's bot token, channels may be named in the config: looked up below
    named = frozenset({"slack"}) if settings.slack_bot_token else frozenset()
    config = load_config(config_path, named) if config_path else AppConfig()
    app = await App.open(
        settings,
        poll_policy=_policy(config),
        story_window=timedelta(hours=config.story_window_hours),
        story_threshold=config.story_threshold,
        story_merge_threshold=config.story_merge_threshold,
        sinks=[ConsoleSink()],
    )
    http: HttpServer | None = None
    adapters: list[Adapter] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:

        async def status() -> Status:
            return await collect(app.feeds, app.teams, app.queue, app.articles)

        async def health() -> tuple[DestinationHealth, ...]:
            return (await delivery(app.teams, app.queue)).destinations

        http = HttpServer(settings.http_host, settings.http_port, status, health)
        if app.websub is not None:
            http.mount_websub(app.websub)
        stored = [*await app.teams.rule_sets(), TeamRuleSet(config.team, config.rules)]
        checks: dict[str, ChannelCheck] = {}
        adapters, served = _chat_adapters(settings, app, http, stored, checks)
        config = await resolve_names(config, app.commands.channel_resolvers)
        await check_team_channels(config, checks)
        await app.apply_config(config)
        # From here on the feeds and rules live in the store. The parsed file is not kept for
        # the months the bot runs: at 10,000 feeds and 10,000 rules its objects, spread over
        # memory that validating the file also used, held about 55 MB.
        del config, stored
        log_platforms(served, check_destinations(await app.teams.rule_sets(), served))
        await http.start()
        for adapter in adapters:
            await adapter.start()
        await app.start()
        log.info(
            "peacewatch running: %d feeds, %d chat adapters, event loop %s, http on port %d",
            len(await app.feeds.all()), len(adapters), loop_name(), http.port,
        )  # fmt: skip
        await stop.wait()
        log.info("stopping")
    finally:
        for adapter in reversed(adapters):
            await adapter.stop()
        if http is not None:
            await http.stop()
        await app.close()
