"""Publishes each user's App Home on open, and refreshes a team's open homes after a change.

A refresh waits ``delay`` seconds and coalesces every change of the team in that time into one
``views.publish`` per viewer (a burst of rule commands costs one round, not one per command).
Viewers are the users who opened the tab since the process started, at most ``MAX_VIEWERS`` per
team (the oldest are forgotten first; their tab refreshes when they open it again).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from peacewatch.bot.slack_adapter.home import home_view
from peacewatch.services.replies import Caller

if TYPE_CHECKING:
    from peacewatch.services.commands import CommandService

log = logging.getLogger(__name__)

REFRESH_DELAY = 1.0
MAX_VIEWERS = 200


class HomePublisher:
    def __init__(self, commands: CommandService, delay: float = REFRESH_DELAY) -> None:
        self._commands = commands
        self.delay = delay
        self._viewers: dict[str, dict[str, Caller]] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._pending_users: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def publish(self, client: AsyncWebClient, caller: Caller) -> None:
        """Build and publish ``caller``'s home; remember them as a viewer of their team's."""
        viewers = self._viewers.setdefault(caller.team_id, {})
        viewers.pop(caller.user_id, None)
        viewers[caller.user_id] = caller
        while len(viewers) > MAX_VIEWERS:
            viewers.pop(next(iter(viewers)))
        view = home_view(await self._commands.home(caller))
        await client.views_publish(user_id=caller.user_id, view=view)

    def refresh(self, client: AsyncWebClient, team_id: str) -> None:
        """Refresh the team's open homes after ``delay``; a refresh already waiting covers it."""
        if team_id in self._pending or not self._viewers.get(team_id):
            return
        self._pending[team_id] = asyncio.create_task(self._later(client, team_id))

    def refresh_user(self, client: AsyncWebClient, caller: Caller) -> None:
        """Refresh ``caller``'s own home after ``delay`` (their follows changed), whether or not
        they opened it since the process started; a refresh already waiting covers it."""
        key = (caller.team_id, caller.user_id)
        if key in self._pending_users or not caller.user_id:
            return
        if caller.team_id in self._pending and caller.user_id in self._viewers.get(
            caller.team_id, {}
        ):
            return  # the team's refresh publishes theirs
        self._pending_users[key] = asyncio.create_task(self._user_later(client, caller))

    async def _user_later(self, client: AsyncWebClient, caller: Caller) -> None:
        await asyncio.sleep(self.delay)
        self._pending_users.pop((caller.team_id, caller.user_id), None)
        await self._publish_logged(client, caller)

    async def _publish_logged(self, client: AsyncWebClient, caller: Caller) -> None:
        try:
            await self.publish(client, caller)
        except SlackApiError as exc:
            log.warning("views.publish failed for %s: %s", caller.user_id, exc.response)
        except Exception:  # one viewer's failure must not stop the others' refresh
            log.exception("App Home refresh failed for %s", caller.user_id)

    async def _later(self, client: AsyncWebClient, team_id: str) -> None:
        await asyncio.sleep(self.delay)
        self._pending.pop(team_id, None)
        for caller in list(self._viewers.get(team_id, {}).values()):
            await self._publish_logged(client, caller)

    async def close(self) -> None:
        tasks = [*self._pending.values(), *self._pending_users.values()]
        self._pending.clear()
        self._pending_users.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
