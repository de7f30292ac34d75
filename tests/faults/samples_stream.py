"""Whole days of the sample feed exports as articles, in publication order (ties by id)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from peacewatch.models import Article
from tests.helpers import samples_dir

_TAG = re.compile(r"<[^>]+>")


def day_articles(day: str, limit: int | None = None) -> list[Article]:
    """Every dated entry with a headline of one day's exports (``2026-01-06``)."""
    folder = samples_dir() / "feeds-2026-01" / "2026" / "01" / day
    out: dict[str, Article] = {}
    for path in sorted(folder.glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            if not entry.get("title") or not entry.get("date_published"):
                continue
            try:
                published = datetime.fromisoformat(entry["date_published"].replace("Z", "+00:00"))
            except ValueError:
                continue
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            link = entry.get("link") or ""
            out[str(entry["id"])] = Article(
                id=str(entry["id"]),
                title=entry["title"],
                link=link,
                published=published.astimezone(UTC),
                source=(urlsplit(link).hostname or "").removeprefix("www."),
                summary=html.unescape(_TAG.sub(" ", entry.get("description") or ""))[:600],
                lang=(entry.get("language") or "")[:2] or None,
            )
    ordered = sorted(out.values(), key=lambda a: (a.published, a.id))
    return ordered[:limit] if limit else ordered
