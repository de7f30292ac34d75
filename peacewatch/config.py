"""The YAML config of `peacewatch run --config`: feeds, a team's rules, polling policy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from peacewatch.errors import ConfigError
from peacewatch.rules.rulefile import EntitySpec, RuleSpec
from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.pages import SelectorsConfig
from peacewatch.watchers.sourceconfig import check_source, source_spec


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2048)
    telegram: str | None = None
    """A public Telegram channel (``NAME``), read from its web preview ``t.me/s/NAME``."""
    catalogue: str | None = None
    """A source of the shipped catalogue (``peacewatch sources list``) by name."""
    kind: Literal["rss", "telegram", "page"] | None = None
    """What ``url`` is: a feed (default), a Telegram preview, or a page of items."""
    selectors: SelectorsConfig | None = None
    """For a page: CSS selectors of its items (without them, items are found automatically)."""
    timezone: str | None = None
    """For a page: the zone of dates it writes without one (``Europe/Kyiv``)."""
    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    outlet: str = ""
    interval: int = Field(default=600, ge=10, le=86400)
    """Seconds between polls."""
    full_text: bool = False
    """Fetch each new item's page and extract its text (for feeds that give only a teaser)."""

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("a feed URL starts with http:// or https://")
        return url

    @model_validator(mode="after")
    def _source(self) -> FeedConfig:
        check_source(self)
        return self

    def to_spec(self, team_id: str) -> FeedSpec:
        return source_spec(self, team_id)


class AppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")
    """The team the rules belong to: `slack:T0123` or `discord:1122...` for a chat team."""
    feeds: list[FeedConfig] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)
    entities: list[EntitySpec] = Field(default_factory=list)
    backfill_hours: float | None = Field(default=6.0, ge=0)
    """On a feed's first poll, alert only on items newer than this many hours (null: all)."""
    max_age_days: float | None = Field(default=7.0, gt=0)
    """On later polls, items older than this are recorded without alerting (null: no limit)."""
    story_window_hours: float = Field(default=48.0, gt=0)
    story_merge_threshold: float | None = Field(default=None, gt=0, lt=1)
    """Probability at which a report that fits two stories merges them (null: never)."""
    story_threshold: float | None = Field(default=None, gt=0, lt=1)
    """Probability a report needs to join a story (null: the shipped model's); lower merges
    more outlets into one thread and, on unrelated news, more reports that are not one story."""


def load_config(path: Path, named: frozenset[str] = frozenset()) -> AppConfig:
    """Read and validate a config file. Raises ConfigError listing every error as
    ``file:line:col: message``, the same errors ``peacewatch config check`` prints; channel
    names (``slack:#news``) are accepted on the platforms in ``named``, for the caller to look
    up."""
    from peacewatch.configcheck import check_config_text

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"{path}: cannot read: {reason}") from exc
    errors = [
        found for found in check_config_text(text, str(path), named=named) if not found.warning
    ]
    if errors:
        raise ConfigError("\n".join(map(str, errors)))
    try:
        return AppConfig.model_validate(yaml.safe_load(text) or {})
    except (yaml.YAMLError, ValidationError) as exc:  # the check above reports these first
        raise ConfigError(f"{path}: {exc}") from exc
