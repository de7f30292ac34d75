"""Direct messages in the Discord fake, the user's side: a button pressed in the bot's DM (an
interaction with no server: ``user`` instead of ``member``, no ``guild_id``, context 1), and a
user who does not take the bot's messages (Create Message in their DM answers 403, code 50007,
as Discord does when they share no server with the bot or turned server DMs off)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.direct_messages import DM
from tests.fakes.discord_api import FakeDiscord

CANNOT_MESSAGE_USER = 50007
BOT_DM = 1
"""The interaction context of a press in the bot's direct messages."""


def dm_interaction(
    fake: FakeDiscord,
    data: dict[str, Any],
    *,
    channel_id: int,
    user_id: int,
    message: dict[str, Any] | None = None,
    kind: int = 3,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload from ``user_id`` in their DM channel ``channel_id``."""
    payload = fake.interaction_payload(
        data, channel_id=channel_id, user_id=user_id, kind=kind, message=message
    )
    member = payload.pop("member")
    payload.pop("guild_id")
    payload.pop("guild_locale", None)
    payload["user"] = member["user"]
    channel = dict(fake.channels.get(channel_id, {"id": str(channel_id), "type": DM}))
    channel["recipients"] = [  # whole user objects, as an interaction carries them
        {"avatar": None, "global_name": None, "discriminator": "0", **r}
        for r in channel.get("recipients", [])
    ]
    payload["channel"] = channel
    payload["context"] = BOT_DM
    payload["authorizing_integration_owners"] = {"0": str(fake.guild_id)}
    return payload


class DmRefusingDiscord(FakeDiscord):
    """The fake Discord, where users in ``refusing`` take no message from the bot."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refusing: set[str] = set()

    def refuse_dms(self, user_id: str) -> None:
        self.refusing.add(user_id)

    def _channel_check(self, request: web.Request, channel_id: int) -> web.Response | None:
        channel = self.channels.get(channel_id, {})
        recipients = {str(r.get("id")) for r in channel.get("recipients", [])}
        if channel.get("type") == DM and recipients & self.refusing:
            return self._error(403, CANNOT_MESSAGE_USER, "Cannot send messages to this user")
        return super()._channel_check(request, channel_id)
