"""Settings from the environment: the only module that reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from peacewatch.errors import ConfigError
from peacewatch.store.urls import parse_redis_url


class Settings(BaseSettings):
    """Deployment settings. Secrets are SecretStr so that they never print or log."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    data_dir: Path = Field(default=Path("data"), alias="PEACEWATCH_DATA_DIR")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    http_port: int = Field(default=3000, ge=0, le=65535, alias="PEACEWATCH_HTTP_PORT")
    http_host: str = Field(default="0.0.0.0", alias="PEACEWATCH_HTTP_HOST")  # noqa: S104
    log_level: str = Field(default="INFO", alias="PEACEWATCH_LOG_LEVEL")
    log_format: Literal["text", "json"] = Field(default="text", alias="PEACEWATCH_LOG_FORMAT")
    """``json``: one JSON object per log line, with feed, team and story ids as fields."""
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop", alias="PEACEWATCH_EVENT_LOOP"
    )
    """The event loop of ``run`` and ``demo``: uvloop where installed, or the standard one."""
    allow_private_feeds: bool = Field(default=False, alias="PEACEWATCH_ALLOW_PRIVATE_FEEDS")
    allow_networks: str = Field(default="", alias="PEACEWATCH_ALLOW_NETWORKS")
    """Comma-separated CIDRs that feeds may use although they are private (self-hosted feeds)."""
    max_polls: int = Field(default=50, ge=1, le=1000, alias="PEACEWATCH_MAX_POLLS")
    """Feed polls under way at once; due polls past it wait their turn."""
    fetch_per_host: int = Field(default=4, ge=1, le=100, alias="PEACEWATCH_FETCH_PER_HOST")
    """Fetches of one host at once (many news-search feeds share one host)."""

    public_url: str | None = Field(default=None, alias="PEACEWATCH_PUBLIC_URL")
    """The base URL at which WebSub hubs reach this deployment's HTTP server (e.g.
    https://peacewatch.example.org); unset, feeds are only polled."""

    summariser: Literal["extractive", "llm"] = Field(
        default="extractive", alias="PEACEWATCH_SUMMARISER"
    )
    llm_url: str | None = Field(default=None, alias="PEACEWATCH_LLM_URL")
    """An OpenAI-compatible endpoint including its version, e.g. http://localhost:11434/v1."""
    llm_api_key: SecretStr | None = Field(default=None, alias="PEACEWATCH_LLM_API_KEY")
    llm_model: str | None = Field(default=None, alias="PEACEWATCH_LLM_MODEL")
    llm_timeout: float = Field(default=20.0, gt=0, le=120, alias="PEACEWATCH_LLM_TIMEOUT")

    slack_mode: Literal["socket", "http"] = Field(default="socket", alias="SLACK_MODE")
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str | None = Field(default=None, alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")

    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_application_id: str | None = Field(default=None, alias="DISCORD_APPLICATION_ID")
    discord_api_url: str | None = Field(default=None, alias="DISCORD_API_URL")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        """Empty means the embedded server; anything else must be a Redis URL we can read."""
        if value is None or not value.strip():
            return None
        parse_redis_url(value)  # raises ValueError saying what is wrong (without the password)
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError("should be an http(s) base URL such as https://bot.example.org")
        return value.strip().rstrip("/")

    def networks(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.allow_networks.split(",") if n.strip())


def load_settings() -> Settings:
    """The settings of this environment. Raises ConfigError naming each bad variable, what it
    holds (never for a secret) and what it should hold, one line each."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(settings_problems(exc)) from exc


def settings_problems(exc: ValidationError) -> str:
    """One line per bad variable: ``PEACEWATCH_HTTP_PORT: should be ... (got 'abc')``."""
    secrets = {
        str(field.alias or name).upper()
        for name, field in Settings.model_fields.items()
        if field.annotation is not None and "SecretStr" in str(field.annotation)
    } | {"REDIS_URL"}  # may hold a password: its own message shows it without
    lines = []
    for err in exc.errors():
        variable = ".".join(str(part) for part in err["loc"]).upper() or "settings"
        message = str(err["msg"]).removeprefix("Value error, ")
        message = message[0].lower() + message[1:] if message else message
        shown = "" if variable in secrets else f" (got {str(err.get('input'))[:80]!r})"
        lines.append(f"{variable}: {message}{shown}")
    return "\n".join(lines)
