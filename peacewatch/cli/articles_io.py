"""Articles from JSON lines (the `match` and `stories` commands), with line-numbered errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any

from peacewatch.models import Article
from peacewatch.watchers.language import detect
from peacewatch.watchers.normalise import article_id, canonical_link, domain_of
from peacewatch.watchers.text import html_to_text, without_surrogates


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str


def parse_time(value: Any) -> datetime:
    """ISO 8601 (with or without time and zone), RFC 822, or epoch seconds; UTC. ValueError else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("published must be a date string")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"unreadable published date {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _text(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value:
            return without_surrogates(value)
    return ""


def article_from_dict(data: dict[str, Any]) -> Article:
    """An Article from one input object. Only ``title`` or ``summary`` is required."""
    title = html_to_text(_text(data, "title"))
    summary = html_to_text(_text(data, "summary", "description"))
    if not title and not summary:
        raise ValueError("needs a title or a summary")
    link = _text(data, "link", "url")
    outlet = _text(data, "outlet", "source_outlet")
    source = _text(data, "source") or domain_of(link) or outlet
    published = parse_time(data["published"]) if data.get("published") else datetime.now(UTC)
    given_id = data.get("id")
    return Article(
        id=without_surrogates(str(given_id))
        if given_id
        else article_id(None, link or None, title, source),
        title=title,
        link=canonical_link(link) if link else "",
        published=published,
        source=source,
        outlet=outlet or source,
        summary=summary,
        content=html_to_text(_text(data, "content")),
        lang=_text(data, "lang", "language") or detect(f"{title}. {summary}"),
    )


def read_articles(stream: IO[str]) -> Iterator[Article | LineError]:
    """Articles of a JSON-lines stream; a broken line yields a LineError and reading goes on."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            yield article_from_dict(data)
        except (ValueError, KeyError, TypeError) as exc:
            yield LineError(number, str(exc))
