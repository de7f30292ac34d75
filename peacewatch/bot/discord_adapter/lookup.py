"""Finding a new alert's message that an earlier, unrecorded attempt posted (the run was killed
between Discord's answer and the delivery record).

Discord gives the first message back for a repeated nonce only within a few minutes; past that,
and before a follow's direct message is refused for a reader who has since left the server,
the newest messages of the destination are read instead (Get Channel Messages, one call): the
alert's message is the bot's own whose feedback buttons carry the alert's id.

Follow-ups carry no id of their own in what Discord shows back (two follow-ups of one story may
even share a link), so they are left to the nonce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import discord
from discord.http import HTTPClient, Route

from peacewatch.models import Alert

LOOKUP_LIMIT = 50
"""Newest messages of the destination read to find the alert's (Discord allows 1-100)."""


def _button_alert_ids(message: Mapping[str, Any]) -> Iterable[str]:
    """The alert ids the message's feedback buttons carry (``pw:fb:KIND:STORY:ALERT``)."""
    for row in message.get("components") or ():
        for part in row.get("components") or ():
            custom_id = part.get("custom_id")
            if isinstance(custom_id, str) and custom_id.startswith("pw:fb:"):
                yield custom_id.rsplit(":", 1)[-1]


def is_alert_message(message: Mapping[str, Any], alert: Alert, bot_id: int) -> bool:
    """Whether ``message`` (as Get Channel Messages gives it) is the bot's own and carries
    ``alert``'s id in a feedback button."""
    author = message.get("author") or {}
    if str(author.get("id", "")) != str(bot_id) or not alert.alert_id:
        return False
    return alert.alert_id in _button_alert_ids(message)


def found_message(messages: Iterable[Mapping[str, Any]], alert: Alert, bot_id: int) -> str | None:
    """The reference (``"channel_id/message_id"``) of the alert's message among ``messages``."""
    for message in messages:
        if is_alert_message(message, alert, bot_id):
            return f"{message['channel_id']}/{message['id']}"
    return None


async def find_posted(http: HTTPClient, channel_id: int, alert: Alert, bot_id: int) -> str | None:
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
    return found_message(messages, alert, bot_id)
