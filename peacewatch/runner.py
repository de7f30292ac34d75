"""`peacewatch run`: the long-running bot, stopped cleanly by SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.config import AppConfig, load_config
from peacewatch.http_server import HttpServer
from peacewatch.settings import Settings
from peacewatch.status import collect
from peacewatch.watchers.poller import PollPolicy

log = logging.getLogger(__name__)


def _policy(config: AppConfig) -> PollPolicy:
    from datetime import timedelta

    return PollPolicy(
        backfill=timedelta(hours=config.backfill_hours)
        if config.backfill_hours is not None
        else None,
        max_age=timedelta(days=config.max_age_days) if config.max_age_days is not None else None,
    )


async def run_forever(settings: Settings, config_path: Path | None) -> None:
    from datetime import timedelta

    config = load_config(config_path) if config_path else AppConfig()
    sinks = [ConsoleSink()]
    app = await App.open(
        settings,
        poll_policy=_policy(config),
        story_window=timedelta(hours=config.story_window_hours),
        sinks=list(sinks),
    )
    http = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.apply_config(config)

        async def metrics() -> dict[str, float]:
            status = await collect(app.feeds, app.teams, app.queue, app.articles)
            return status.metrics()

        http = HttpServer(settings.http_host, settings.http_port, metrics)
        await http.start()
        await app.start()
        log.info(
            "peacewatch running: %d feeds, http on port %d", len(await app.feeds.all()), http.port
        )
        await stop.wait()
        log.info("stopping")
    finally:
        if http is not None:
            await http.stop()
        await app.close()
