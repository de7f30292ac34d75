"""`peacewatch run`, `demo` and `status`: the bot, the offline demo and its health."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from peacewatch.cli.app import (
    EXIT_INPUT,
    EXIT_RUNTIME,
    LogFormatChoice,
    app,
    fail,
    run_async,
    settings_or_exit,
    setup_logs,
)
from peacewatch.errors import ConfigError, InputError, PeacewatchError, StoreError


@app.command()
def demo() -> None:
    """Run the whole pipeline on the shipped sample feeds (offline, no accounts); ends by itself."""
    from peacewatch import eventloop
    from peacewatch.demo.run import run_demo
    from peacewatch.settings import Settings

    settings = settings_or_exit()
    assert isinstance(settings, Settings)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        eventloop.run(run_demo(settings.data_dir), settings.event_loop)
    except (ConfigError, InputError) as exc:
        raise fail(str(exc), EXIT_INPUT) from exc
    except (PeacewatchError, TimeoutError) as exc:
        raise fail(f"demo failed: {exc}", EXIT_RUNTIME) from exc


@app.command()
def run(
    config: Annotated[Path | None, typer.Option(help="YAML with feeds and rules")] = None,
    log_format: Annotated[
        LogFormatChoice | None,
        typer.Option(help="text, or json: one object per line (default PEACEWATCH_LOG_FORMAT)"),
    ] = None,
) -> None:
    """Run the bot until Ctrl-C: watchers, rules, alerts, chat adapters, /healthz and /metrics."""
    from peacewatch import eventloop
    from peacewatch.runner import run_forever
    from peacewatch.settings import Settings

    settings = settings_or_exit()
    assert isinstance(settings, Settings)
    setup_logs(settings.log_level, log_format.value if log_format else settings.log_format)
    try:
        eventloop.run(run_forever(settings, config), settings.event_loop)
    except (ConfigError, InputError) as exc:
        raise fail(str(exc), EXIT_INPUT) from exc
    except StoreError as exc:
        raise fail(str(exc), EXIT_RUNTIME) from exc
    except KeyboardInterrupt:
        pass


@app.command()
def status() -> None:
    """Feeds (last poll, last error, items), queue depth, delivery failures, rules."""
    from peacewatch.cli.status import print_status
    from peacewatch.settings import Settings

    settings = settings_or_exit()
    assert isinstance(settings, Settings)
    try:
        run_async(print_status(settings))
    except StoreError as exc:
        raise fail(str(exc), EXIT_RUNTIME) from exc
