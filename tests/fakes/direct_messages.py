"""Direct-message channels in the Slack and Discord fakes: opening one, and what a DM refuses.

Slack's ``conversations.open`` with ``users=U123`` answers the bot's DM channel with that user
(``D…``, the same one every time; ``user_not_found`` for a user the workspace does not have).
Discord's Create DM (``POST /users/@me/channels`` with ``recipient_id``) answers a channel of
type 1 (the same one every time); a DM channel has no threads (50003).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord
    from tests.fakes.slack_api import FakeSlack

DM = 1
"""Discord's channel type of a direct-message channel."""
CANNOT_IN_DM = 50003


def slack_open(fake: FakeSlack, args: dict[str, Any]) -> web.Response:
    """conversations.open of one user: ``{"ok": true, "channel": {"id": "D…"}}``."""
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if len(users) != 1:
        return web.json_response({"ok": False, "error": "invalid_arguments"})
    user = users[0]
    if user not in fake.users or fake.users[user].get("deleted"):
        error = "user_disabled" if user in fake.users else "user_not_found"
        return web.json_response({"ok": False, "error": error})
    channel = fake.dm_channels.setdefault(user, f"D{user}")
    return web.json_response({"ok": True, "channel": {"id": channel}})


async def discord_open(fake: FakeDiscord, request: web.Request) -> web.Response:
    """Create DM: the bot's direct-message channel with ``recipient_id``."""
    if not fake._authorised(request):
        return fake._error(401, 0, "401: Unauthorized")
    from tests.fakes.discord_api import BODY

    body = request[BODY] or {}
    recipient = str(body.get("recipient_id", "")) if isinstance(body, dict) else ""
    if not recipient.isdigit():
        return fake._error(400, 50035, "Invalid Form Body")
    channel_id = fake.dm_channels.get(recipient)
    if channel_id is None:
        channel_id = fake.snowflake()
        fake.dm_channels[recipient] = channel_id
        fake.channels[channel_id] = {
            "id": str(channel_id),
            "type": DM,
            "last_message_id": None,
            "recipients": [
                {"id": recipient, "username": f"user{recipient[-4:]}", "discriminator": "0"}
            ],
        }
    return fake._ok(fake.channels[channel_id])


def discord_refuses_thread(fake: FakeDiscord, channel_id: int) -> web.Response | None:
    """A thread cannot start in a DM channel (Discord answers 50003)."""
    if fake.channels.get(channel_id, {}).get("type") == DM:
        return fake._error(403, CANNOT_IN_DM, "Cannot execute action on a DM channel")
    return None
