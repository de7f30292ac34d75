"""Slack OAuth in Redis: installation and state stores per workspace, the bot token per team."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import redis.asyncio as aioredis
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from peacewatch.errors import PermanentDelivery
from peacewatch.store import keys

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 600


def _ids(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> tuple[str, str]:
    # Workspace ids are unique across Slack, so a workspace install is keyed by its team alone
    # (found the same with or without its enterprise id); an org-wide install is one record
    # for the whole enterprise, whatever workspace asks.
    if is_enterprise_install or not team_id:
        return enterprise_id or "", ""
    return "", team_id


class RedisInstallationStore(AsyncInstallationStore):
    """The newest installation and bot of each workspace, as the SDK's own JSON (``vars``).

    Only the newest record is kept: peacewatch acts with the bot token, and a reinstall
    replaces the previous grant. Deleting a workspace's records is how an uninstall or a
    revoked token is forgotten.
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        e_id, t_id = _ids(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.slack_installation(e_id, t_id), json.dumps(vars(installation)))
            pipe.set(keys.slack_bot(e_id, t_id), json.dumps(vars(installation.to_bot())))
            await pipe.execute()
        log.info("Slack workspace installed", extra={"team_id": t_id, "enterprise_id": e_id})

    async def async_save_bot(self, bot: Bot) -> None:
        e_id, t_id = _ids(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        await self._redis.set(keys.slack_bot(e_id, t_id), json.dumps(vars(bot)))

    async def _load(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(key)
        if not raw:
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        e_id, t_id = _ids(enterprise_id, team_id, is_enterprise_install)
        data = await self._load(keys.slack_bot(e_id, t_id))
        return Bot(**data) if data else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        e_id, t_id = _ids(enterprise_id, team_id, is_enterprise_install)
        data = await self._load(keys.slack_installation(e_id, t_id))
        if not data:
            return None
        installation = Installation(**data)
        if user_id is not None and installation.user_id != user_id:
            return None  # only the installer's user token is kept
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        e_id, t_id = _ids(enterprise_id, team_id, False)
        await self._redis.delete(keys.slack_bot(e_id, t_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        e_id, t_id = _ids(enterprise_id, team_id, False)
        await self._redis.delete(keys.slack_installation(e_id, t_id))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """OAuth ``state`` values: issued with a TTL, and valid exactly once."""

    def __init__(self, redis: aioredis.Redis, ttl_seconds: int = STATE_TTL_SECONDS) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        await self._redis.set(keys.slack_oauth_state(state), "1", ex=self._ttl)
        return state

    async def async_consume(self, state: str) -> bool:
        # DEL answers 1 for exactly one caller, so a replayed state is refused.
        deleted: int = await self._redis.delete(keys.slack_oauth_state(state))
        return deleted == 1


class SlackTokens:
    """The bot token for a team: its workspace's installation, else the single-workspace token."""

    def __init__(self, bot_token: str | None, installations: RedisInstallationStore | None) -> None:
        self._bot_token = bot_token
        self._installations = installations

    async def token_for(self, team_id: str) -> str:
        """Raises PermanentDelivery when no token can act for the team."""
        platform, _, workspace = team_id.partition(":")
        if self._installations is not None and platform == "slack" and workspace:
            bot = await self._installations.async_find_bot(enterprise_id=None, team_id=workspace)
            if bot is not None and bot.bot_token:
                return str(bot.bot_token)
        if self._bot_token:
            return self._bot_token
        raise PermanentDelivery(f"no Slack installation for team {team_id}; install the app there")
