"""Finding a new alert's message that an earlier, unrecorded attempt posted (the run was killed
between Discord's answer and the delivery record).

Discord gives the first message back for a repeated nonce only within a few minutes; past that,
and before a follow's direct message is refused for a reader who has since left the server,
the newest messages of the destination are read instead (Get Channel Messages, one call): the
alert's message is the bot's own whose feedback buttons carry the alert's id.

A forum channel holds no messages but posts (threads), and a post carries no nonce: there the
bot's own active posts of that forum made since the first attempt began are listed (List
Active Guild Threads, one call; a post's id tells when it was made), those named like the
alert's story first, then the oldest (the attempt's post was made at about that time, later
ones after it), and the starter messages of a few of them are read until one carries the
alert's id.

Follow-ups carry no id of their own in what Discord shows back (two follow-ups of one story may
even share a link), so they are left to the nonce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import discord
from discord.http import HTTPClient, Route
from discord.utils import snowflake_time

from peacewatch.models import Alert

LOOKUP_LIMIT = 50
"""Newest messages of the destination read to find the alert's (Discord allows 1-100)."""
FORUM_TYPES = frozenset({15, 16})
"""Channel types whose alerts are posts (threads): forum and media channels."""
LOOKUP_POSTS = 5
"""Starter messages of a forum's posts read at most to find the alert's (one call each)."""
CLOCK_SKEW = 60.0
"""Seconds a post may seem to predate the attempt that made it (Discord's clock and ours)."""


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


async def channel_info(http: HTTPClient, channel_id: int) -> tuple[int, int | None]:
    """The channel's type and its server's id (Get Channel)."""
    route = Route("GET", "/channels/{channel_id}", channel_id=channel_id)
    channel = await http.request(route)
    guild = channel.get("guild_id")
    return int(channel.get("type", 0)), int(guild) if guild else None


def post_candidates(
    threads: Iterable[Mapping[str, Any]], forum_id: int, bot_id: int, name: str, since: float
) -> list[str]:
    """Ids of the bot's own posts in the forum among ``threads`` made since ``since`` (epoch
    seconds, less ``CLOCK_SKEW``), at most ``LOOKUP_POSTS``: those named ``name`` (the alert's
    story's thread name) first, then the oldest."""
    own = [
        t for t in threads
        if str(t.get("parent_id")) == str(forum_id) and str(t.get("owner_id")) == str(bot_id)
        and str(t.get("id", "")).isdigit()
        and snowflake_time(int(t["id"])).timestamp() >= since - CLOCK_SKEW
    ]  # fmt: skip
    own.sort(key=lambda t: (t.get("name") != name, int(t["id"])))
    return [str(t["id"]) for t in own[:LOOKUP_POSTS]]


async def find_post(
    http: HTTPClient,
    forum_id: int,
    guild_id: int,
    alert: Alert,
    bot_id: int,
    name: str,
    since: float,
) -> str | None:
    """The reference (``"post_id/post_id"``: a post's starter message has the post's id) of
    ``alert``'s post in the forum, or None, also when Discord will not list the server's
    threads or show a starter message."""
    route = Route("GET", "/guilds/{guild_id}/threads/active", guild_id=guild_id)
    try:
        listed = await http.request(route)
    except (discord.Forbidden, discord.NotFound):
        return None
    threads = listed.get("threads") if isinstance(listed, dict) else None
    for post in post_candidates(threads or (), forum_id, bot_id, name, since):
        starter = Route(
            "GET", "/channels/{channel_id}/messages/{message_id}",
            channel_id=int(post), message_id=int(post),
        )  # fmt: skip
        try:
            message = await http.request(starter)
        except (discord.Forbidden, discord.NotFound):
            continue
        if isinstance(message, dict) and is_alert_message(message, alert, bot_id):
            return f"{post}/{message['id']}"
    return None
