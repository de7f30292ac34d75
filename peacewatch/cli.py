"""The command line; the only place that exits the process. Exit codes: 0 ok, 1 runtime
failure, 2 bad input or config."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from peacewatch.errors import ConfigError, FeedError, InputError, PeacewatchError, StoreError

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


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"peacewatch: {message}", err=True)
    return typer.Exit(code)


def _settings() -> object:
    from peacewatch.settings import load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        raise _fail(f"bad setting: {exc}", EXIT_INPUT) from exc


def _logging(level: str, fmt: str) -> None:
    from peacewatch.logs import setup_logging

    setup_logging(level, fmt)


@app.command()
def demo() -> None:
    """Run the whole pipeline on the shipped sample feeds (offline, no accounts); ends by itself."""
    from peacewatch.demo.run import run_demo
    from peacewatch.settings import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(run_demo(settings.data_dir))
    except (ConfigError, InputError) as exc:
        raise _fail(str(exc), EXIT_INPUT) from exc
    except (PeacewatchError, TimeoutError) as exc:
        raise _fail(f"demo failed: {exc}", EXIT_RUNTIME) from exc


@app.command()
def run(
    config: Annotated[Path | None, typer.Option(help="YAML with feeds and rules")] = None,
    log_format: Annotated[
        LogFormatChoice | None,
        typer.Option(help="text, or json: one object per line (default PEACEWATCH_LOG_FORMAT)"),
    ] = None,
) -> None:
    """Run the bot until Ctrl-C: watchers, rules, alerts, chat adapters, /healthz and /metrics."""
    from peacewatch.runner import run_forever
    from peacewatch.settings import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    _logging(settings.log_level, log_format.value if log_format else settings.log_format)
    try:
        asyncio.run(run_forever(settings, config))
    except (ConfigError, InputError) as exc:
        raise _fail(str(exc), EXIT_INPUT) from exc
    except StoreError as exc:
        raise _fail(str(exc), EXIT_RUNTIME) from exc
    except KeyboardInterrupt:
        pass


@app.command()
def match(
    rules: Annotated[Path, typer.Option(help="rules YAML")],
    articles: Annotated[Path, typer.Option(help="articles, one JSON object per line")],
) -> None:
    """One JSON line per (article, rule) match: article_id, rule_id, matched, hits, summary."""
    from peacewatch.articles_io import LineError, read_articles
    from peacewatch.pipeline.summarise import summarise
    from peacewatch.rules.compile import load_engine

    engine, errors = load_engine(rules)
    bad = bool(errors)
    for error in errors:
        typer.echo(str(error), err=True)
    try:
        stream = articles.open(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{articles}: cannot read: {exc.strerror}", EXIT_INPUT) from exc
    with stream, _progress(articles) as tick:
        for item in read_articles(stream):
            tick()
            if isinstance(item, LineError):
                typer.echo(f"{articles}:{item.line}: {item.message}", err=True)
                bad = True
                continue
            for m in engine.match(item):
                record = {
                    "article_id": item.id,
                    "rule_id": m.rule_id,
                    "matched": list(m.matched),
                    "hits": [
                        {
                            "term": h.term,
                            "field": h.field,
                            "start": h.start,
                            "end": h.end,
                            "text": h.text,
                        }
                        for h in m.hits
                    ],
                    "entities": list(m.entities),
                    "summary": summarise(item, m.hits),
                }
                typer.echo(json.dumps(record, ensure_ascii=False))
    if bad:
        raise typer.Exit(EXIT_INPUT)


@contextlib.contextmanager
def _progress(path: Path):  # type: ignore[no-untyped-def]
    """A progress bar on stderr for large inputs when stderr is a terminal."""
    size = path.stat().st_size if path.exists() else 0
    if not sys.stderr.isatty() or size < 5_000_000:
        yield lambda: None
        return
    with typer.progressbar(length=0, label=f"reading {path.name}", file=sys.stderr) as bar:
        yield lambda: bar.update(1)


@rules_app.command("check")
def rules_check(files: Annotated[list[Path], typer.Argument(help="rules YAML files")]) -> None:
    """Print file:line:col: message for every error and warning; exit 2 if there is an error."""
    from peacewatch.rules.compile import load_engine
    from peacewatch.rules.rulefile import Located

    count = 0
    for path in files:
        warnings: list[Located] = []
        engine, errors = load_engine(path, warnings=warnings)
        for error in sorted([*errors, *warnings], key=lambda e: (e.line, e.column)):
            typer.echo(str(error))
        count += len(errors)
        if not errors:
            typer.echo(f"{path}: {engine.rule_count} rules OK", err=True)
    if count:
        raise typer.Exit(EXIT_INPUT)


@config_app.command("check")
def config_check(files: Annotated[list[Path], typer.Argument(help="config YAML files")]) -> None:
    """Print file:line:col: message for every error and warning; exit 2 if there is an error."""
    from peacewatch.configcheck import report

    if report(files, typer.echo, lambda text: typer.echo(text, err=True)):
        raise typer.Exit(EXIT_INPUT)


@rules_app.command("explain")
def rules_explain(
    rule: Annotated[str, typer.Option(help="a query")],
    article: Annotated[Path, typer.Option(help="one article as JSON (or a JSON-lines file)")],
) -> None:
    """Why a query matches an article or not, term by term."""
    from peacewatch.articles_io import LineError, read_articles
    from peacewatch.rules.explain import explain

    try:
        stream = article.open(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{article}: cannot read: {exc.strerror}", EXIT_INPUT) from exc
    with stream:
        text = stream.read()
    import io

    lines = (
        [text] if text.lstrip().startswith("{") and "\n{" not in text.strip() else text.splitlines()
    )
    for item in read_articles(
        io.StringIO("\n".join(json.dumps(json.loads(x)) for x in lines if x.strip()))
    ):
        if isinstance(item, LineError):
            raise _fail(f"{article}:{item.line}: {item.message}", EXIT_INPUT)
        try:
            typer.echo(explain(rule, item))
        except InputError as exc:
            raise _fail(str(exc), EXIT_INPUT) from exc


@rules_app.command("import")
def rules_import(
    file: Annotated[Path, typer.Argument(help="rules YAML")],
    team: Annotated[str, typer.Option(help="team id, e.g. slack:T0123 or discord:4455")],
) -> None:
    """Replace a team's rules and entities with those of a rules file (all or nothing)."""
    from peacewatch.services.rules_io import import_rules

    errors = asyncio.run(_with_store(lambda redis: import_rules(redis, team, file)))
    for error in errors:
        typer.echo(error, err=True)
    if errors:
        raise typer.Exit(EXIT_INPUT)
    typer.echo(f"imported {file} into team {team}", err=True)


@rules_app.command("export")
def rules_export(
    file: Annotated[Path, typer.Argument(help="where to write the YAML ('-' for stdout)")],
    team: Annotated[str, typer.Option(help="team id")],
) -> None:
    """Write a team's rules and entities as a rules file."""
    from peacewatch.services.rules_io import export_rules

    text = asyncio.run(_with_store(lambda redis: export_rules(redis, team)))
    if str(file) == "-":
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")


async def _with_store(work: Callable[[Any], Awaitable[T]]) -> T:
    from peacewatch.settings import Settings
    from peacewatch.store.embedded import connect

    settings = _settings()
    assert isinstance(settings, Settings)
    try:
        handle = await connect(settings.redis_url, settings.data_dir)
    except StoreError as exc:
        raise _fail(str(exc), EXIT_RUNTIME) from exc
    try:
        return await work(handle.client)
    finally:
        await handle.close()


@discord_app.command("sync")
def discord_sync(
    guild: Annotated[int | None, typer.Option(help="sync to one guild at once (testing)")] = None,
) -> None:
    """Register the /peacewatch app commands with Discord (run after install or upgrade)."""
    from peacewatch.bot.discord_adapter import sync_commands
    from peacewatch.settings import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    try:
        names = asyncio.run(sync_commands(settings, guild))
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_INPUT) from exc
    where = f"guild {guild}" if guild else "all guilds (global; may take up to an hour)"
    typer.echo(f"synced {', '.join(names)} to {where}")


@feeds_app.command("check")
def feeds_check(url: str) -> None:
    """Fetch and parse one feed through the same guard and caps as the watchers."""
    from peacewatch.feedcheck import check_feed
    from peacewatch.settings import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    try:
        report = asyncio.run(check_feed(url, settings))
    except FeedError as exc:
        raise _fail(f"{url}: {exc}", EXIT_INPUT) from exc
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


@app.command()
def stories(
    articles: Annotated[Path, typer.Option(help="articles, one JSON object per line")],
    threshold: Annotated[
        float | None,
        typer.Option(
            help="probability (0-1) a report needs to join a story, as the config's "
            "story_threshold (default: the shipped model's)",
        ),
    ] = None,
) -> None:
    """Print {"article_id", "story_id"} per input article, grouped as the pipeline would."""
    from peacewatch.stories.scoring import check_threshold
    from peacewatch.storiescmd import group_file

    if threshold is not None:
        try:
            check_threshold(threshold)
        except ValueError as exc:
            raise _fail(f"--threshold: {exc}", EXIT_INPUT) from exc

    try:
        bad = group_file(articles, sys.stdout, sys.stderr, threshold)
    except OSError as exc:
        raise _fail(f"{articles}: cannot read: {exc}", EXIT_INPUT) from exc
    if bad:
        raise typer.Exit(EXIT_INPUT)


@app.command()
def status() -> None:
    """Feeds (last poll, last error, items), queue depth, delivery failures, rules."""
    from peacewatch.settings import Settings
    from peacewatch.statuscmd import print_status

    settings = _settings()
    assert isinstance(settings, Settings)
    try:
        asyncio.run(print_status(settings))
    except StoreError as exc:
        raise _fail(str(exc), EXIT_RUNTIME) from exc


@deadletters_app.command("list")
def deadletters_list() -> None:
    """Each alert set aside: id, alert, destination, when, reason."""
    from peacewatch.deadletters import list_letters

    typer.echo(asyncio.run(_with_store(list_letters)))


def _deadletters(action: str, ids: list[str] | None, every: bool) -> None:
    from peacewatch import deadletters

    if bool(ids) == every:
        raise _fail(f"deadletters {action}: name dead letters by ID, or give --all", EXIT_INPUT)
    work = deadletters.retry if action == "retry" else deadletters.drop
    outcome = asyncio.run(_with_store(lambda redis: work(redis, ids or [], every)))
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


def main() -> None:
    # Ctrl-C ends a command quietly; `run` handles SIGINT itself for an orderly stop.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
