"""Slack channel names to ids through conversations.list: alerts need ids, people type names."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from peacewatch.bot.slack_adapter.oauth import SlackTokens
from peacewatch.errors import DeliveryError

log = logging.getLogger(__name__)

MAX_PAGES = 50
"""At 1,000 channels a page; a workspace with more is asked for the id instead."""
FIND_ID = (
    "in Slack, open the channel's name, then About: the Channel ID is at the bottom; use"
    " slack:C0123ABCD"
)


class SlackChannels:
    """Finds a channel's id by its name in the team's workspace."""

    def __init__(self, tokens: SlackTokens, base_url: str) -> None:
        self._tokens = tokens
        self._base_url = base_url

    async def find(self, team_id: str, name: str) -> str | None:
        """The id of channel ``name`` (with or without ``#``) that the bot can see, or None.
        Raises ValueError saying why Slack could not be asked."""
        wanted = name.strip().removeprefix("#").lower()
        try:
            token = await self._tokens.token_for(team_id)
        except DeliveryError as exc:
            raise ValueError(str(exc)) from exc
        client = AsyncWebClient(token=token, base_url=self._base_url)
        cursor = ""
        try:
            for _ in range(MAX_PAGES):
                page = await client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=1000,
                    cursor=cursor or None,
                )
                for channel in page.get("channels") or []:
                    if str(channel.get("name", "")).lower() == wanted:
                        return str(channel["id"])
                cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    return None
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("conversations.list failed: %s", error)
            raise ValueError(f"Slack did not list the channels ({error})") from exc
        return None

    async def resolve(self, team_id: str, destination: str) -> str:
        """``slack:#name`` to ``slack:ID``. Raises ValueError naming the channel and how to
        find its id when the bot cannot see it."""
        name = destination.partition(":")[2].strip()
        try:
            found = await self.find(team_id, name)
        except ValueError as exc:
            raise ValueError(f"could not look up {name}: {exc}; {FIND_ID}") from exc
        if found is None:
            raise ValueError(
                f"the bot sees no Slack channel named {name} (for a private channel, invite the"
                f" bot first); {FIND_ID}"
            )
        return f"slack:{found}"
