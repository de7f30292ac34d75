"""Delivers alerts to Discord channels as a bot: embeds, story threads, outlet counts."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import aiohttp
import discord
from discord.http import Route

from peacewatch.bot.discord_adapter import embeds, lookup
from peacewatch.bot.discord_adapter.client import (
    CANNOT_SEND_IN_NON_TEXT,
    MISSING_PERMISSIONS,
    UNKNOWN_CHANNEL,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    PeacewatchClient,
    as_delivery_error,
    error_code,
    payload_of,
)
from peacewatch.bot.discord_adapter.pacing import ChannelPacer
from peacewatch.errors import PermanentDelivery, RetryLater, UserUnreachable
from peacewatch.models import Alert, AlertKind
from peacewatch.pipeline.render import is_merge_note
from peacewatch.services.membership import Departures, MemberCache, Membership
from peacewatch.store.follows import dm_user

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES = 1440
MAX_DM_CHANNELS = 10_000
MAX_TEXT_CHANNELS = 10_000
"""Channels remembered as text channels (past it, a lookup asks Discord for the type)."""
"""Users whose direct-message channel is kept in memory (then the cache starts again)."""
DM_USER_CODES = frozenset({50007, 10013})
"""Discord error codes that say a user's direct messages cannot be delivered: Cannot send
messages to this user (DMs closed, the bot blocked), Unknown User. Their follows pause."""
NONCE_LENGTH = 25
"""Discord takes nonces of at most 25 characters."""
GONE_CODES = frozenset({UNKNOWN_MEMBER, UNKNOWN_USER})
"""Get Guild Member's answers that say the user is not in the server (left, removed, banned;
or the account is deleted). Any other error leaves the membership unknown."""
MAX_LOOKED = 10_000
"""Alerts remembered as looked up in their destination's history (then it starts again)."""
MEMBER_CHECK_DEADLINE = 5.0
"""Seconds a membership check may take (discord.py retries 5xx answers with growing sleeps);
past it the direct message is posted as if the check had not been made."""


def message_nonce(alert_id: str) -> str:
    """The nonce of an alert's message: the same for every attempt to post that alert, so
    with ``enforce_nonce`` Discord answers a repeat within its window with the first message."""
    return hashlib.sha256(alert_id.encode()).hexdigest()[:NONCE_LENGTH]


def once(payload: dict[str, Any], alert: Alert) -> dict[str, Any]:
    """``payload`` with the alert's nonce, enforced."""
    return {**payload, "nonce": message_nonce(alert.alert_id), "enforce_nonce": True}


def parse_ref(ref: str) -> tuple[int, int]:
    """``"channel_id/message_id"`` as two ints; PermanentDelivery if it is not one."""
    channel, _, message = ref.partition("/")
    if not channel.isdigit() or not message.isdigit():
        raise PermanentDelivery(f"not a Discord message reference: {ref!r}")
    return int(channel), int(message)


class DiscordSink:
    """Posts alerts with the bot's token, to channels and (``discord:@USER``, a personal
    follow) to a user's direct messages, where follow-ups are replies to the story's message.

    A new alert is an embed with feedback buttons (in a forum channel: a new post). A follow-up
    goes into a thread started from the alert's message (Discord gives that thread the
    message's id), and the alert's embed is then edited with the new outlet count. References
    are ``"channel_id/message_id"``. Messages are created with a nonce derived from the alert
    id and ``enforce_nonce``, so a repeated attempt within Discord's nonce window (a few
    minutes) gets the first message back instead of posting again. A forum post cannot carry a
    nonce: a retried one is looked for among the forum's posts (``find_delivered``).
    """

    platform = "discord"

    def __init__(
        self,
        client: PeacewatchClient,
        token: str | None,
        pacer: ChannelPacer | None = None,
        deadline: float = 20.0,
        departures: Departures | None = None,
        members: MemberCache | None = None,
    ) -> None:
        self._client = client
        self._token = token
        self._pacer = pacer or ChannelPacer()
        self._deadline = deadline
        self._departures = departures
        """What to do about a follow's reader who left its server; by default the command
        service's (the client carries it). Without either, membership is not checked."""
        self.members = members or MemberCache()
        self._forums: set[int] = set()
        self._texts: set[int] = set()
        """Channels a lookup found to be text channels (their history is read as is)."""
        self._dms: dict[int, int] = {}
        """User id -> the id of the bot's direct-message channel with the user."""
        self._looked: set[str] = set()
        """Alerts this process has looked up in their destination's newest messages."""

    async def deliver(self, alert: Alert, parent: str | None) -> str:
        if not self._token:
            raise PermanentDelivery("DISCORD_TOKEN is not set")
        user = dm_user(alert.destination)
        try:
            channel_id = int(user if user is not None else alert.destination.target)
        except ValueError as exc:
            raise PermanentDelivery(f"not a Discord channel id: {alert.destination}") from exc
        try:
            # discord.py retries 5xx answers with growing sleeps; the deadline bounds them.
            async with asyncio.timeout(self._deadline):
                await self._client.ensure_login(self._token)
                if user is not None:
                    await self._check_member(alert, user)
                if alert.kind is AlertKind.FOLLOWUP and parent is not None:
                    return await self._followup(alert, parent)
                if user is not None:
                    channel_id = await self._dm_channel(channel_id)
                return await self._post_new(alert, channel_id)
        except (PermanentDelivery, RetryLater):
            raise
        except Exception as exc:
            error = as_delivery_error(exc, f"posting to {alert.destination}")
            refused = isinstance(exc, discord.HTTPException) and error_code(exc) in DM_USER_CODES
            if user is not None and refused:  # the user, not Discord, refuses
                # perhaps because they left the server: then its follows go, not just pause
                self.members.forget(alert.team_id, user)
                await self._check_member(alert, user)
                raise UserUnreachable(str(error)) from exc
            raise error from exc

    async def find_delivered(self, alert: Alert, parent: str | None, since: float) -> str | None:
        """The reference of a new alert's message when an earlier attempt (begun at ``since``,
        never recorded) posted it, found among the destination's newest messages (see
        ``lookup``; in a forum channel, among the bot's active posts there). None for a
        follow-up in a thread or a reply (its nonce covers it), an alert this process looked
        for already (its own later posts are recorded or carry the nonce), or when the lookup
        fails: it only spares a second post, and posting then says what is wrong."""
        user = dm_user(alert.destination)
        if not self._token or (alert.kind is AlertKind.FOLLOWUP and parent is not None):
            return None
        if alert.alert_id in self._looked:
            return None
        if len(self._looked) >= MAX_LOOKED:
            self._looked.clear()
        self._looked.add(alert.alert_id)
        try:
            async with asyncio.timeout(self._deadline):
                await self._client.ensure_login(self._token)
                me = self._client.user
                if me is None:
                    return None
                if user is not None:
                    channel_id = await self._dm_channel(int(user))
                    return await lookup.find_posted(self._client.http, channel_id, alert, me.id)
                target = int(alert.destination.target)
                return await self._find_in_channel(target, alert, me.id, since)
        except Exception as exc:  # posting follows and classifies any error
            log.info(
                "alert %s: no earlier post looked up in %s (%s)",
                alert.alert_id, alert.destination, type(exc).__name__,
            )  # fmt: skip
            return None

    async def _find_in_channel(
        self, channel_id: int, alert: Alert, bot_id: int, since: float
    ) -> str | None:
        """A new alert's message among a text channel's newest, or its post in a forum."""
        http = self._client.http
        if channel_id in self._texts:
            return await lookup.find_posted(http, channel_id, alert, bot_id)
        kind, guild_id = await lookup.channel_info(http, channel_id)
        if kind not in lookup.FORUM_TYPES:
            if len(self._texts) < MAX_TEXT_CHANNELS:
                self._texts.add(channel_id)
            return await lookup.find_posted(http, channel_id, alert, bot_id)
        self._forums.add(channel_id)
        if guild_id is None:
            return None
        name = embeds.thread_name(alert)
        return await lookup.find_post(http, channel_id, guild_id, alert, bot_id, name, since)

    def _departures_of(self) -> Departures | None:
        if self._departures is not None:
            return self._departures
        commands = self._client.commands
        return commands.departures if commands is not None else None

    async def _check_member(self, alert: Alert, user: str) -> None:
        """Before a follow's direct message: raise ``ReaderGone`` (from ``Departures.gone``,
        which removes their follows there) when its reader is no longer a member of the
        follow's server; otherwise return."""
        departures = self._departures_of()
        if departures is None:
            return
        if await self.membership(alert.team_id, user) is not Membership.GONE:
            return
        raise await departures.gone(
            self.platform,
            alert.team_id,
            user,
            str(alert.destination),
            "discord: Unknown Member (not in the server)",
        )

    async def membership(self, team_id: str, user_id: str) -> Membership:
        """Whether ``user_id`` is a member of the server of ``team_id`` (``discord:GUILD``),
        from Get Guild Member; kept in ``members`` for a while. UNKNOWN when Discord could
        not say (an error, an outage, a server the bot is not in)."""
        known = self.members.get(team_id, user_id)
        if known is not None:
            return known
        guild = team_id.removeprefix("discord:")
        if not guild.isdigit() or not user_id.isdigit():
            return Membership.UNKNOWN
        route = Route(
            "GET",
            "/guilds/{guild_id}/members/{user_id}",
            guild_id=int(guild),
            user_id=int(user_id),
        )
        try:
            async with asyncio.timeout(MEMBER_CHECK_DEADLINE):
                await self._client.http.request(route)
            answer = Membership.MEMBER
        except discord.NotFound as exc:
            answer = Membership.GONE if error_code(exc) in GONE_CODES else Membership.UNKNOWN
            if answer is Membership.UNKNOWN:
                log.info("cannot check members of %s: %s", team_id, exc.text)
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # never lose a message for a failed check
            log.info(
                "cannot check members of %s (%s); direct messages go out unchecked",
                team_id,
                as_delivery_error(exc, "checking a member"),
            )
            answer = Membership.UNKNOWN
        self.members.put(team_id, user_id, answer)
        return answer

    async def _dm_channel(self, user_id: int) -> int:
        """The bot's direct-message channel with a user (a personal follow's destination,
        ``discord:@USER``), opened once with Create DM."""
        channel = self._dms.get(user_id)
        if channel is None:
            route = Route("POST", "/users/@me/channels")
            channel = int((await self._request(route, json={"recipient_id": str(user_id)}))["id"])
            if len(self._dms) >= MAX_DM_CHANNELS:
                self._dms.clear()
            self._dms[user_id] = channel
        return channel

    async def _request(self, route: Route, **kwargs: Any) -> dict[str, Any]:
        return payload_of(await self._client.http.request(route, **kwargs))

    async def _send(self, channel_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        wait = self._pacer.wait_for(str(channel_id))
        if wait > 0:
            await asyncio.sleep(wait)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        return await self._request(route, json=payload)

    async def _post_new(self, alert: Alert, channel_id: int) -> str:
        embed = embeds.alert_embed(alert)
        payload = {
            "embeds": [embeds.as_dict(embed)],
            # in a follow's DM too: a press there acts for the reader in the follow's team
            "components": embeds.alert_components(alert),
            "allowed_mentions": {"parse": []},
        }
        if channel_id not in self._forums:
            try:
                message = await self._send(channel_id, once(payload, alert))
                return f"{message['channel_id']}/{message['id']}"
            except discord.HTTPException as exc:
                if error_code(exc) != CANNOT_SEND_IN_NON_TEXT:
                    raise
                self._forums.add(channel_id)
        # A forum channel takes posts, not messages: the story becomes a post.
        route = Route("POST", "/channels/{channel_id}/threads", channel_id=channel_id)
        thread = await self._request(
            route,
            json={
                "name": embeds.thread_name(alert),
                "auto_archive_duration": THREAD_ARCHIVE_MINUTES,
                "message": payload,
            },
        )
        starter = thread.get("message") or {}
        return f"{thread['id']}/{starter.get('id', thread['id'])}"

    async def _followup(self, alert: Alert, parent: str) -> str:
        channel_id, message_id = parent_ids = parse_ref(parent)
        payload = once(
            {
                "embeds": [embeds.as_dict(embeds.message_embed(alert))],
                "allowed_mentions": {"parse": []},
            },
            alert,
        )
        if dm_user(alert.destination) is not None:
            # a direct-message channel has no threads: a follow-up replies to the story's DM
            reference = {"message_id": str(message_id), "fail_if_not_exists": False}
            posted = await self._send(channel_id, {**payload, "message_reference": reference})
        else:
            posted = await self._thread_post(alert, parent_ids, payload)
        if alert.extra.get("broadcast") == "1" and int(posted["channel_id"]) != channel_id:
            await self._show_in_channel(alert, channel_id, message_id, payload)
        if not is_merge_note(alert):  # a merge note leaves the story's alert as it is
            await self._update_outlets(alert, channel_id, message_id)
        return f"{posted['channel_id']}/{posted['id']}"

    async def _thread_post(
        self, alert: Alert, parent: tuple[int, int], payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Post a follow-up in the story's thread (started on first use)."""
        channel_id, message_id = parent
        # A thread started from a message has the message's id; a forum post's starter
        # message has the post's id, so its reference has channel == message.
        try:
            return await self._send(message_id, payload)
        except discord.NotFound as exc:
            if error_code(exc) != UNKNOWN_CHANNEL or channel_id == message_id:
                raise
            return await self._start_thread_and_post(alert, parent, payload)

    async def _show_in_channel(
        self, alert: Alert, channel_id: int, message_id: int, payload: dict[str, Any]
    ) -> None:
        """An escalation is also shown in the channel: a reply to the story's alert there (its
        own nonce, so a retry posts it once too)."""
        reference = {
            "message_id": str(message_id),
            "channel_id": str(channel_id),
            "fail_if_not_exists": False,
        }
        reply = {
            **payload,
            "message_reference": reference,
            "nonce": message_nonce(alert.alert_id + ":channel"),
        }
        await self._send(channel_id, reply)

    async def _start_thread_and_post(
        self, alert: Alert, parent: tuple[int, int], payload: dict[str, Any]
    ) -> dict[str, Any]:
        channel_id, message_id = parent
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=channel_id,
            message_id=message_id,
        )
        try:
            thread = await self._request(
                route,
                json={
                    "name": embeds.thread_name(alert),
                    "auto_archive_duration": THREAD_ARCHIVE_MINUTES,
                },
            )
        except discord.HTTPException as exc:
            code = error_code(exc)
            if code == MISSING_PERMISSIONS:
                # May post but not open threads: the follow-up becomes a reply to the alert.
                reference = {"message_id": str(message_id), "fail_if_not_exists": False}
                fallback = {**payload, "message_reference": reference}
            elif code == UNKNOWN_MESSAGE:
                fallback = payload  # the alert was deleted; the follow-up still reaches the channel
            else:
                raise
            log.info("no thread for story %s in %s: %s", alert.story_id, channel_id, exc.text)
            return await self._send(channel_id, fallback)
        return await self._send(int(thread["id"]), payload)

    async def _update_outlets(self, alert: Alert, channel_id: int, message_id: int) -> None:
        """Edit the alert's embed with the story's outlet count. Best effort: the follow-up is
        already posted, so a failure here must not make the dispatcher post it again."""
        try:
            route = Route(
                "GET",
                "/channels/{channel_id}/messages/{message_id}",
                channel_id=channel_id,
                message_id=message_id,
            )
            message = await self._request(route)
            posted = message.get("embeds") or []
            if not posted:
                return
            updated = [embeds.with_outlets(posted[0], alert), *posted[1:]]
            route = Route(
                "PATCH",
                "/channels/{channel_id}/messages/{message_id}",
                channel_id=channel_id,
                message_id=message_id,
            )
            await self._request(route, json={"embeds": updated})
        except Exception as exc:
            log.warning(
                "could not update the outlet count of %s/%s: %s",
                channel_id,
                message_id,
                as_delivery_error(exc, "editing the alert"),
            )
