"""The Typer application, its command groups and the helpers its commands share."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer

from peacewatch.errors import ConfigError, StoreError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="peacewatch: news alerts on the Russia-Ukraine peace talks.",
)
rules_app = typer.Typer(no_args_is_help=True, help="Check, explain, import and export rules.")
feeds_app = typer.Typer(no_args_is_help=True, help="Check feeds.")
discord_app = typer.Typer(no_args_is_help=True, help="Discord set-up steps.")
config_app = typer.Typer(no_args_is_help=True, help="Check a run config file.")
app.add_typer(rules_app, name="rules")
app.add_typer(config_app, name="config")
app.add_typer(feeds_app, name="feeds")
sources_app = typer.Typer(no_args_is_help=True, help="The catalogue of sources to add.")
app.add_typer(sources_app, name="sources")
app.add_typer(discord_app, name="discord")
deadletters_app = typer.Typer(no_args_is_help=True, help="Alerts set aside: list, retry, drop.")
app.add_typer(deadletters_app, name="deadletters")

T = TypeVar("T")


class LogFormatChoice(enum.StrEnum):
    text = "text"
    json = "json"


EXIT_RUNTIME = 1
EXIT_INPUT = 2


def fail(message: str, code: int) -> typer.Exit:
    """Print ``peacewatch: message`` on stderr; the Exit to raise with ``code``."""
    typer.echo(f"peacewatch: {message}", err=True)
    return typer.Exit(code)


def settings_or_exit() -> object:
    """The settings of this environment; a bad variable ends the command with exit 2."""
    from peacewatch.settings import load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(f"bad setting: {exc}", EXIT_INPUT) from exc


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)``, asyncio imported only by the commands that need it (a fifth of
    the imports of ``match`` or ``rules check``)."""
    import asyncio

    return asyncio.run(work)


def setup_logs(level: str, fmt: str) -> None:
    """Log to stderr at ``level``, as text or JSON lines."""
    from peacewatch.logs import setup_logging

    setup_logging(level, fmt)


async def with_store(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` with a client of the configured (or embedded) Redis, then close it."""
    from peacewatch.settings import Settings
    from peacewatch.store.embedded import connect

    settings = settings_or_exit()
    assert isinstance(settings, Settings)
    try:
        handle = await connect(settings.redis_url, settings.data_dir)
    except StoreError as exc:
        raise fail(str(exc), EXIT_RUNTIME) from exc
    try:
        return await work(handle.client)
    finally:
        await handle.close()
