"""`peacewatch feeds check`, `sources list`, `discord sync` and `deadletters`."""

from __future__ import annotations

from typing import Annotated

import typer

from peacewatch.cli.app import (
    EXIT_INPUT,
    deadletters_app,
    discord_app,
    fail,
    feeds_app,
    run_async,
    settings_or_exit,
    sources_app,
    with_store,
)
from peacewatch.errors import ConfigError, FeedError


@discord_app.command("sync")
def discord_sync(
    guild: Annotated[int | None, typer.Option(help="sync to one guild at once (testing)")] = None,
) -> None:
    """Register the /peacewatch app commands with Discord (run after install or upgrade)."""
    from peacewatch.bot.discord_adapter import sync_commands
    from peacewatch.settings import Settings

    settings = settings_or_exit()
    assert isinstance(settings, Settings)
    try:
        names = run_async(sync_commands(settings, guild))
    except ConfigError as exc:
        raise fail(str(exc), EXIT_INPUT) from exc
    where = f"guild {guild}" if guild else "all guilds (global; may take up to an hour)"
    typer.echo(f"synced {', '.join(names)} to {where}")


@feeds_app.command("check")
def feeds_check(url: str) -> None:
    """Fetch and parse one feed through the same guard and caps as the watchers."""
    from peacewatch.cli.feedcheck import check_feed
    from peacewatch.settings import Settings

    settings = settings_or_exit()
    assert isinstance(settings, Settings)
    try:
        report = run_async(check_feed(url, settings))
    except FeedError as exc:
        raise fail(f"{url}: {exc}", EXIT_INPUT) from exc
    typer.echo(report)


@sources_app.command("list")
def sources_list(
    kind: Annotated[str | None, typer.Option(help="rss, telegram, page or search")] = None,
    lang: Annotated[str | None, typer.Option(help="en, uk or ru")] = None,
) -> None:
    """The curated sources (official ones count towards severity); add one with
    `feeds add --catalogue NAME` in chat or `catalogue: NAME` in a config."""
    from peacewatch.watchers.catalogue import table

    typer.echo("\n".join(table(kind, lang)))


@deadletters_app.command("list")
def deadletters_list() -> None:
    """Each alert set aside: id, alert, destination, when, reason."""
    from peacewatch.cli.deadletters import list_letters

    typer.echo(run_async(with_store(list_letters)))


def _deadletters(action: str, ids: list[str] | None, every: bool) -> None:
    from peacewatch.cli import deadletters

    if bool(ids) == every:
        raise fail(f"deadletters {action}: name dead letters by ID, or give --all", EXIT_INPUT)
    work = deadletters.retry if action == "retry" else deadletters.drop
    outcome = run_async(with_store(lambda redis: work(redis, ids or [], every)))
    for line in outcome.lines:
        typer.echo(line)
    for wanted in outcome.unknown:
        typer.echo(
            f"peacewatch: no dead letter {wanted} (see: peacewatch deadletters list)", err=True
        )
    if outcome.unknown or outcome.failed:
        raise typer.Exit(EXIT_INPUT)


_IDS = typer.Argument(help="dead letter ids or alert ids, as `deadletters list` shows")
_ALL = typer.Option("--all", help="every dead letter")


@deadletters_app.command("retry")
def deadletters_retry(
    ids: Annotated[list[str] | None, _IDS] = None, every: Annotated[bool, _ALL] = False
) -> None:
    """Queue dead letters again once their cause is fixed; each alert is still posted once."""
    _deadletters("retry", ids, every)


@deadletters_app.command("drop")
def deadletters_drop(
    ids: Annotated[list[str] | None, _IDS] = None, every: Annotated[bool, _ALL] = False
) -> None:
    """Delete dead letters."""
    _deadletters("drop", ids, every)
