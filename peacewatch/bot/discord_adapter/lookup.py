"""Finding an alert's message that an earlier, unrecorded attempt posted (the run was killed
between Discord's answer and the delivery record).

Discord gives the first message back for a repeated nonce only within a few minutes; past that,
and before a follow's direct message is refused for a reader who has since left the server,
the newest messages of the destination are read instead (Get Channel Messages, one call):

- a new alert is the bot's message whose feedback buttons carry the alert's id;
- a follow-up in a direct-message channel is the bot's reply to the story's message there
  that shows the alert's link.

Follow-ups in a channel's story thread are left to the nonce: their delivery also shows an
escalation in the channel and edits the story's outlet count, which a found message would skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import discord
from discord.http import HTTPClient, Route

from peacewatch.models import Alert, AlertKind

LOOKUP_LIMIT = 50
"""Newest messages of the destination read to find the alert's (Discord allows 1-100)."""


def _buttons(message: Mapping[str, Any]) -> Iterable[str]:
    for row in message.get("components") or ():
        for part in row.get("components") or ():
            custom_id = part.get("custom_id")
            if isinstance(custom_id, str):
                yield custom_id


def _shows_link(message: Mapping[str, Any], link: str) -> bool:
    return any(embed.get("url") == link for embed in message.get("embeds") or ())


def _replies_to(message: Mapping[str, Any], parent_message: int) -> bool:
    reference = message.get("message_reference") or {}
    return str(reference.get("message_id", "")) == str(parent_message)


def is_alert_message(
    message: Mapping[str, Any], alert: Alert, bot_id: int, parent_message: int | None
) -> bool:
    """Whether ``message`` (as Get Channel Messages gives it) is ``alert``'s: the bot's own, and
    for a new alert carrying its id in a button, for a follow-up replying to
    ``parent_message`` with the alert's link."""
    author = message.get("author") or {}
    if str(author.get("id", "")) != str(bot_id):
        return False
    if alert.kind is AlertKind.NEW or parent_message is None:
        suffix = f":{alert.alert_id}"
        return any(custom_id.endswith(suffix) for custom_id in _buttons(message))
    return bool(alert.link) and (
        _replies_to(message, parent_message) and _shows_link(message, alert.link)
    )


def found_message(
    messages: Iterable[Mapping[str, Any]], alert: Alert, bot_id: int, parent_message: int | None
) -> str | None:
    """The reference (``"channel_id/message_id"``) of the alert's message among ``messages``."""
    for message in messages:
        if is_alert_message(message, alert, bot_id, parent_message):
            return f"{message['channel_id']}/{message['id']}"
    return None


async def find_posted(
    http: HTTPClient, channel_id: int, alert: Alert, bot_id: int, parent_message: int | None
) -> str | None:
    """The reference of ``alert``'s message among the newest of ``channel_id``, or None, also
    when Discord will not list them (no Read Message History, an unknown channel: posting
    then says what is wrong). Other errors are raised as discord.py raises them."""
    route = Route("GET", "/channels/{channel_id}/messages", channel_id=channel_id)
    try:
        messages = await http.request(route, params={"limit": LOOKUP_LIMIT})
    except (discord.Forbidden, discord.NotFound):
        return None
    if not isinstance(messages, list):
        return None
    return found_message(messages, alert, bot_id, parent_message)
