"""A config's feed entry to a FeedSpec: a feed URL, a Telegram channel, a page, a catalogue name."""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from dataclasses import dataclass
from typing import Protocol

from peacewatch.errors import InputError
from peacewatch.store.feeds import MIN_TELEGRAM_INTERVAL, FeedSpec
from peacewatch.watchers.catalogue import entry
from peacewatch.watchers.pages import PageSelectors, SelectorsConfig
from peacewatch.watchers.telegram import channel_name, preview_url


class SourceFields(Protocol):
    """The fields of ``FeedConfig`` that say what a feed entry reads."""

    @property
    def url(self) -> str | None: ...
    @property
    def telegram(self) -> str | None: ...
    @property
    def catalogue(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def selectors(self) -> SelectorsConfig | None: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def id(self) -> str | None: ...
    @property
    def outlet(self) -> str: ...
    @property
    def interval(self) -> int: ...
    @property
    def full_text(self) -> bool: ...
    @property
    def model_fields_set(self) -> set[str]: ...


def check_source(feed: SourceFields) -> None:
    """Raises ValueError (shown at the feed's entry) unless the entry names one source well:
    exactly one of ``url``, ``telegram``, ``catalogue``; selectors only for a page; a known
    timezone; a Telegram channel polled at most once a minute."""
    given = [name for name in ("url", "telegram", "catalogue") if getattr(feed, name)]
    if len(given) != 1:
        raise ValueError(
            "a feed needs exactly one of url, telegram (a channel name) or catalogue (a name"
            f" from `peacewatch sources list`), not {' and '.join(given) or 'none'}"
        )
    try:
        if feed.telegram:
            channel_name(feed.telegram)
        if feed.catalogue:
            entry(feed.catalogue)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    page = feed.kind == "page" or (feed.catalogue and entry(feed.catalogue).kind == "page")
    if (feed.selectors is not None or feed.timezone) and not page:
        raise ValueError("selectors and timezone are for pages (kind: page)")
    if feed.timezone:
        try:
            zoneinfo.ZoneInfo(feed.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {feed.timezone!r} (e.g. Europe/Kyiv)") from None
    telegram = feed.telegram or feed.kind == "telegram"
    if telegram and "interval" in feed.model_fields_set and feed.interval < MIN_TELEGRAM_INTERVAL:
        raise ValueError(
            f"a Telegram channel is polled at most once a minute: interval must be at least "
            f"{MIN_TELEGRAM_INTERVAL}, not {feed.interval}"
        )


def source_spec(feed: SourceFields, team_id: str) -> FeedSpec:
    """The FeedSpec of a checked entry (see :func:`check_source`)."""
    if feed.catalogue:
        found = entry(feed.catalogue)
        base = found.to_spec(feed.id or found.name, team_id)
    else:
        url = preview_url(feed.telegram) if feed.telegram else feed.url or ""
        kind = "telegram" if feed.telegram else feed.kind or "rss"
        feed_id = feed.id or "f" + hashlib.sha256(url.encode()).hexdigest()[:12]
        base = FeedSpec(feed_id, url, kind=kind, team_id=team_id)
    selectors = base.selectors
    if feed.selectors is not None or feed.timezone:
        old = PageSelectors.from_pairs(base.selectors)
        zone = feed.timezone or old.timezone
        chosen = feed.selectors.to_selectors(zone) if feed.selectors else old
        selectors = PageSelectors(chosen.item, chosen.title, chosen.link, chosen.date, zone).pairs()
    return FeedSpec(
        id=base.id,
        url=base.url,
        interval=feed.interval if "interval" in feed.model_fields_set else base.interval,
        outlet=feed.outlet or base.outlet,
        team_id=team_id,
        full_text=feed.full_text,
        kind=base.kind,
        selectors=selectors,
    )


@dataclass(frozen=True, slots=True)
class ChatSource:
    """What ``feeds add`` from chat watches."""

    url: str
    kind: str = "rss"
    outlet: str = ""
    interval: int = 600
    selectors: tuple[tuple[str, str], ...] = ()


def chat_source(text: str, search_template: str | None = None) -> ChatSource:
    """The source ``feeds add TEXT`` names: ``--catalogue NAME``, ``tg:NAME`` (also ``@NAME``
    and ``t.me/NAME`` links), or a feed URL (Slack's ``<url|label>`` unwrapped).

    Raises InputError for an unknown catalogue name or a bad channel name."""
    text = text.strip()
    if text.startswith("--catalogue"):
        found = entry(text.removeprefix("--catalogue").lstrip(" ="))
        spec = found.to_spec(found.name, search_template=search_template)
        return ChatSource(spec.url, spec.kind, found.title, spec.interval, spec.selectors)
    url = text.strip("<>").split("|", 1)[0]
    if _TELEGRAM.match(url):
        name = channel_name(url)
        return ChatSource(preview_url(name), "telegram")
    return ChatSource(url)


_TELEGRAM = re.compile(r"^(?:tg:|telegram:|@|(?:https?://)?(?:www\.)?(?:t|telegram)\.me/)", re.I)
