"""`peacewatch rules`, `config check`, `match` and `stories`: rules and articles offline."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from peacewatch.cli.app import (
    EXIT_INPUT,
    app,
    config_app,
    fail,
    rules_app,
    run_async,
    with_store,
)
from peacewatch.errors import InputError

if TYPE_CHECKING:
    from peacewatch.rules.engine import RuleEngine
    from peacewatch.rules.rulefile import Located


@app.command()
def match(
    rules: Annotated[Path, typer.Option(help="rules YAML")],
    articles: Annotated[Path, typer.Option(help="articles, one JSON object per line")],
) -> None:
    """One JSON line per (article, rule) match: article_id, rule_id, matched, hits, summary."""
    from peacewatch.cli.articles_io import LineError, read_articles
    from peacewatch.cli.match_lines import MatchLines
    from peacewatch.pipeline.summarise import ArticleSummariser

    engine, errors = load_frozen(rules)
    bad = bool(errors)
    for error in errors:
        typer.echo(str(error), err=True)
    try:
        stream = articles.open(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{articles}: cannot read: {exc.strerror}", EXIT_INPUT) from exc
    # one write an article, flushed at the end: echo would flush (and look for colour codes to
    # strip, which JSON cannot hold) on every line
    out = typer.get_text_stream("stdout")
    with stream, _progress(articles) as tick:
        for item in read_articles(stream):
            tick()
            if isinstance(item, LineError):
                out.flush()
                typer.echo(f"{articles}:{item.line}: {item.message}", err=True)
                bad = True
                continue
            summariser = None
            writer = None
            lines = []
            for m in engine.match(item):
                # the article is split and its sentences scored once, for all its matches
                summariser = summariser or ArticleSummariser(item)
                writer = writer or MatchLines(item.id)
                lines.append(writer.line(m, summariser.summary(m.hits)))
            if lines:
                out.write("".join(lines))
    out.flush()
    if bad:
        raise typer.Exit(EXIT_INPUT)


def load_frozen(
    rules: Path, warnings: list[Located] | None = None
) -> tuple[RuleEngine, list[Located]]:
    """``load_engine(rules, warnings=warnings)`` with the cyclic collector off while it runs,
    and every object alive then frozen out of the collector's generations.

    The command keeps the engine to the end: the collector would otherwise walk the hundreds of
    thousands of objects of a large rule set again and again while the command allocates (a
    tenth of the time over 10,000 rules), and once more as soon as it is back on after the
    read, for the objects that reading made (about 0.08 s of a warm start). The rules
    package is imported in the same stretch: its modules and numpy's are kept to the end too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        from peacewatch.rules.compile import load_engine

        return load_engine(rules, warnings=warnings)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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
    count = 0
    for path in files:
        warnings: list[Located] = []
        engine, errors = load_frozen(path, warnings)
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
    from peacewatch.cli.articles_io import LineError, read_articles
    from peacewatch.rules.explain import explain

    try:
        stream = article.open(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{article}: cannot read: {exc.strerror}", EXIT_INPUT) from exc
    with stream:
        text = stream.read()

    lines = (
        [text] if text.lstrip().startswith("{") and "\n{" not in text.strip() else text.splitlines()
    )
    for item in read_articles(
        io.StringIO("\n".join(json.dumps(json.loads(x)) for x in lines if x.strip()))
    ):
        if isinstance(item, LineError):
            raise fail(f"{article}:{item.line}: {item.message}", EXIT_INPUT)
        try:
            typer.echo(explain(rule, item))
        except InputError as exc:
            raise fail(str(exc), EXIT_INPUT) from exc


@rules_app.command("import")
def rules_import(
    file: Annotated[Path, typer.Argument(help="rules YAML")],
    team: Annotated[str, typer.Option(help="team id, e.g. slack:T0123 or discord:4455")],
) -> None:
    """Replace a team's rules and entities with those of a rules file (all or nothing)."""
    from peacewatch.services.rules_io import import_rules

    errors = run_async(with_store(lambda redis: import_rules(redis, team, file)))
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

    text = run_async(with_store(lambda redis: export_rules(redis, team)))
    if str(file) == "-":
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")


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
    from peacewatch.cli.stories import group_file
    from peacewatch.stories.scoring import check_threshold

    if threshold is not None:
        try:
            check_threshold(threshold)
        except ValueError as exc:
            raise fail(f"--threshold: {exc}", EXIT_INPUT) from exc

    try:
        bad = group_file(articles, sys.stdout, sys.stderr, threshold)
    except OSError as exc:
        raise fail(f"{articles}: cannot read: {exc}", EXIT_INPUT) from exc
    if bad:
        raise typer.Exit(EXIT_INPUT)
