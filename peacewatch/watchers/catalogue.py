"""The curated source catalogue shipped with peacewatch: outlets, official sites and channels.

Entries live in ``watchers/data/sources.yaml``. Each has a name, a title, a kind (``rss``,
``telegram``, ``page``, ``search``), a language, and whether it is official (a government's or
an institution's own channel). ``peacewatch sources list`` shows them, ``feeds add --catalogue
NAME`` and ``catalogue: NAME`` in a config add one, and severity counts the official ones.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal
from urllib.parse import quote_plus, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from peacewatch.errors import InputError
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.pages import PageSelectors
from peacewatch.watchers.telegram import preview_url

NEWS_SEARCH = {
    "en": "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en",
    "uk": "https://news.google.com/rss/search?q={query}&hl=uk&gl=UA&ceid=UA:uk",
    "ru": "https://news.google.com/rss/search?q={query}&hl=ru&gl=RU&ceid=RU:ru",
}
"""News-search feed of a query, by the language of the query."""


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    title: str = Field(min_length=1)
    kind: Literal["rss", "telegram", "page", "search"]
    lang: Literal["en", "uk", "ru"]
    official: bool = False
    url: str | None = None
    channel: str | None = None
    query: str | None = None
    interval: int = Field(default=600, ge=60, le=86400)
    item: str = ""
    """For a page: the CSS selector of one item (empty: found automatically); ``title``,
    ``link`` and ``date`` selectors are not needed for the shipped pages."""
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _where(self) -> CatalogueEntry:
        needs = {"telegram": "channel", "search": "query"}.get(self.kind, "url")
        if not getattr(self, needs):
            raise ValueError(f"a {self.kind} entry needs {needs}")
        return self

    def feed_url(self, search_template: str | None = None) -> str:
        """The URL polled: the feed or page, the channel's preview, the query's search feed."""
        if self.kind == "telegram":
            return preview_url(self.channel or "")
        if self.kind == "search":
            template = search_template or NEWS_SEARCH[self.lang]
            return template.replace("{query}", quote_plus(self.query or ""))
        return self.url or ""

    @property
    def where(self) -> str:
        """Where it is read, as shown in ``sources list``."""
        if self.kind == "telegram":
            return f"t.me/{self.channel}"
        if self.kind == "search":
            return f"search: {self.query}"
        return self.url or ""

    def to_spec(
        self, feed_id: str, team_id: str = "", search_template: str | None = None
    ) -> FeedSpec:
        selectors = PageSelectors(item=self.item, timezone=self.timezone).pairs()
        return FeedSpec(
            id=feed_id,
            url=self.feed_url(search_template),
            interval=self.interval,
            outlet=self.title,
            team_id=team_id,
            kind="rss" if self.kind == "search" else self.kind,
            selectors=selectors if self.kind == "page" else (),
        )


@functools.cache
def catalogue() -> tuple[CatalogueEntry, ...]:
    """The shipped entries, in the file's order (read once)."""
    text = resources.files("peacewatch.watchers").joinpath("data/sources.yaml").read_text("utf-8")
    entries = TypeAdapter(list[CatalogueEntry]).validate_python(yaml.safe_load(text))
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError("sources.yaml: two entries share a name")
    return tuple(entries)


def entry(name: str) -> CatalogueEntry:
    """The entry called ``name``. Raises InputError listing near names when there is none."""
    wanted = name.strip().lower()
    for found in catalogue():
        if found.name == wanted:
            return found
    close = [e.name for e in catalogue() if wanted[:4] and wanted[:4] in e.name][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise InputError(f"no source {name.strip()[:40]!r} in the catalogue{hint} (sources list)")


@functools.cache
def official_domains() -> tuple[str, ...]:
    """Domains of the catalogue's official feeds and pages (``kremlin.ru``, ``gov.uk``)."""
    found: list[str] = []
    for item in catalogue():
        if item.official and item.url:
            host = (urlsplit(item.url).hostname or "").removeprefix("www.")
            if host and host not in found:
                found.append(host)
    return tuple(found)


@functools.cache
def official_channels() -> frozenset[str]:
    """Sources (``t.me/name``, lower case) of the catalogue's official Telegram channels."""
    return frozenset(
        f"t.me/{item.channel.lower()}" for item in catalogue() if item.official and item.channel
    )


def table(kind: str | None = None, lang: str | None = None) -> list[str]:
    """Lines of ``sources list``: name, kind, language, official mark, title, where."""
    rows = [
        e
        for e in catalogue()
        if (kind is None or e.kind == kind) and (lang is None or e.lang == lang)
    ]
    width = max((len(e.name) for e in rows), default=4)
    lines = [f"{'NAME':<{width}}  KIND      LANG  OFFICIAL  TITLE — WHERE"]
    for e in rows:
        mark = "yes" if e.official else ""
        lines.append(
            f"{e.name:<{width}}  {e.kind:<8}  {e.lang:<4}  {mark:<8}  {e.title} — {e.where}"
        )
    return lines
