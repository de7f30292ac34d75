"""The Slack sink: posts alerts with chat.postMessage, threads follow-ups, paces each channel,
and finds an alert's message again by its metadata."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from peacewatch.bot.slack_adapter.blocks import SlackMessage, render_alert
from peacewatch.bot.slack_adapter.oauth import SlackTokens
from peacewatch.bot.slack_adapter.pacing import ChannelPacer, PendingEdits
from peacewatch.bot.slack_adapter.webapi import (
    CONTENT_ERRORS,
    DEFAULT_RETRY_AFTER,
    DM_PERMANENT_ERRORS,
    DM_USER_ERRORS,
    UNCHECKABLE_ERRORS,
    alert_metadata,
    classify,
    make_ref,
    member_of,
    parse_ref,
    shows_alert,
)
from peacewatch.errors import PermanentDelivery, ReaderGone, RetryLater, UserUnreachable
from peacewatch.models import Alert, AlertKind
from peacewatch.pipeline.render import is_merge_note
from peacewatch.services.membership import Departures, MemberCache, Membership
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json, alert_to_json
from peacewatch.store.follows import dm_user

log = logging.getLogger(__name__)

PARENT_TTL_SECONDS = 30 * 86400
PACER_BURST = 3
"""Posts a channel may take at once before the one-a-second pace applies (the dispatcher's
send rate in Redis allows the same burst across replicas)."""
LOOKUP_PAGE = 200
LOOKUP_PAGES = 5
"""A check of the channel reads at most this many pages of messages newer than the attempt."""
CLOCK_SKEW = 300.0
"""Seconds before an attempt's start that a check still looks at (our clock against Slack's)."""

MAX_DM_CHANNELS = 10_000
"""Users whose direct-message channel is kept in memory (then the cache starts again)."""


class SlackSink:
    """Delivers alerts to Slack channels (``slack:C0123ABCD`` destinations) and to users' direct
    messages (``slack:@U0123ABCD``, a personal follow: the DM is opened with conversations.open).

    A NEW alert is a top-level message whose reference (``channel:ts``) the dispatcher keeps
    as the story's thread parent; a FOLLOWUP goes into that thread and the parent is edited to
    show the new outlet count. The parent's alert is kept in Redis for that edit. Every message
    carries the alert id in its metadata, which ``find_delivered`` looks for in the channel.

    Edits never hold up a post: the follow-up updates the story's state in Redis at once, and
    the ``chat.update`` waits for a slot of the channel that no new post wants; several
    follow-ups of one story before that slot make one edit (see ``PendingEdits``).
    """

    platform = "slack"

    def __init__(
        self,
        tokens: SlackTokens,
        redis: aioredis.Redis,
        *,
        base_url: str = AsyncWebClient.BASE_URL,
        pacer: ChannelPacer | None = None,
        timeout: int = 15,
        members: MemberCache | None = None,
    ) -> None:
        self._tokens = tokens
        self._redis = redis
        self._departures = Departures(redis)
        self.members = members or MemberCache()
        """users.info answers about follows' readers, kept for a while."""
        self._base_url = base_url
        self._pacer = pacer or ChannelPacer(burst=PACER_BURST)
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._dms: dict[tuple[str, str], str] = {}
        """(team id, user id) -> the id of the bot's direct-message channel with the user."""
        self.edits = PendingEdits(redis, self._pacer, self._send_edit)

    def _web(self) -> AsyncWebClient:
        if self._client is None:
            # One session for every post (a new connection per post costs tens of ms), and no
            # built-in retries: a 429 must reach the dispatcher, which keeps the alert queued.
            self._session = aiohttp.ClientSession()
            self._client = AsyncWebClient(
                base_url=self._base_url,
                session=self._session,
                timeout=self._timeout,
                retry_handlers=[],
            )
        return self._client

    async def close(self) -> None:
        await self.edits.close()  # edits not yet sent are resumed from Redis by the next run
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None

    async def deliver(self, alert: Alert, parent: str | None) -> str:
        await self.edits.resume()
        token = await self._tokens.token_for(alert.team_id)
        thread = parse_ref(parent) if parent and alert.kind is AlertKind.FOLLOWUP else None
        message = render_alert(alert, threaded=thread is not None)
        user = dm_user(alert.destination)
        try:
            channel = thread[0] if thread else await self._channel(token, alert)
        except UserUnreachable as exc:
            raise await self._refused(token, alert, exc) from exc
        if user is not None:
            await self._check_member(token, alert, user)
        await self._pacer.wait(f"{alert.team_id}/{channel}")
        try:
            response = await self._post(
                token, channel, message, thread[1] if thread else None, alert.alert_id,
                broadcast=thread is not None and alert.extra.get("broadcast") == "1",
            )  # fmt: skip
        except (PermanentDelivery, RetryLater) as exc:
            # "slack chat.postMessage: cannot_dm_bot"
            if user is not None and str(exc).rpartition(": ")[2] in DM_USER_ERRORS:
                raise await self._refused(token, alert, UserUnreachable(str(exc))) from exc
            raise
        ts = str(response["ts"])
        ref = make_ref(str(response.get("channel") or channel), ts)
        await self._after_post(token, alert, ref, thread, parent)
        return ref

    async def _refused(
        self, token: str, alert: Alert, refusal: UserUnreachable
    ) -> UserUnreachable | ReaderGone:
        """What to raise when Slack refuses a follow's direct message for good: when
        users.info, asked again, says the reader is gone (the rule of ``membership``, the same
        as before a post), ``ReaderGone`` and the follows of the team go as for any departed
        member; otherwise their direct messages pause (``refusal``). An account Slack does not
        know (``user_not_found``) stays the paused case: following again resumes it."""
        user = dm_user(alert.destination)
        if user is None:
            return refusal
        self.members.forget(alert.team_id, user)
        answer, why = await self.membership(token, alert.team_id, user)
        if answer is Membership.GONE:
            return await self._departures.gone(
                self.platform, alert.team_id, user, str(alert.destination), f"slack {why}"
            )
        return refusal

    async def _check_member(self, token: str, alert: Alert, user: str) -> None:
        """Before a follow's direct message: raise ``ReaderGone`` (from ``Departures.gone``,
        which removes their follows there) when its reader is no longer in the team's
        workspace (deactivated, removed)."""
        answer, why = await self.membership(token, alert.team_id, user)
        if answer is Membership.GONE:
            raise await self._departures.gone(
                self.platform, alert.team_id, user, str(alert.destination), f"slack {why}"
            )

    async def membership(self, token: str, team_id: str, user: str) -> tuple[Membership, str]:
        """Whether ``user`` is an active member of the team's workspace (users.info), and
        what Slack said; kept in ``members`` for a while. GONE only on an answer about the
        user (deactivated; in a Grid, not in the workspace), UNKNOWN on any error."""
        known = self.members.get(team_id, user)
        if known is not None:
            return known, "users.info (checked earlier)"
        why = ""
        try:
            response = await self._call_get("users.info", {"token": token, "user": user})
            profile = response.get("user")
            answer, why = member_of(profile if isinstance(profile, dict) else {}, team_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "") or f"HTTP {exc.response.status_code}")
            answer, why = Membership.UNKNOWN, f"users.info: {error}"
            log.info("cannot check members of %s (%s); DMs go out unchecked", team_id, error)
        except RetryLater as exc:
            log.info("cannot check members of %s (%s); DMs go out unchecked", team_id, exc)
            answer = Membership.UNKNOWN
        self.members.put(team_id, user, answer)
        return answer, why

    async def find_delivered(self, alert: Alert, parent: str | None, since: float) -> str | None:
        """The reference of the alert's message if one with its metadata was posted to the
        channel (or the story's thread) since ``since`` (epoch seconds), else None.

        Looks through conversations.history (conversations.replies for a thread reply) with
        ``include_all_metadata``. A found message gets what a post would have done after it
        (the parent's outlet count, the stored parent alert). Raises RetryLater when Slack
        cannot answer now; a channel the bot may not read is logged and answers None.
        """
        token = await self._tokens.token_for(alert.team_id)
        thread = parse_ref(parent) if parent and alert.kind is AlertKind.FOLLOWUP else None
        channel = thread[0] if thread else await self._channel(token, alert)
        ts = await self._find_message(
            token, channel, thread[1] if thread else None, alert.alert_id, since
        )
        if ts is None:
            return None
        ref = make_ref(channel, ts)
        await self._after_post(token, alert, ref, thread, parent)
        return ref

    async def _channel(self, token: str, alert: Alert) -> str:
        """The channel id of the alert's destination; for a user's direct messages
        (``slack:@U123``) the bot's DM channel with them, opened once (conversations.open)."""
        user = dm_user(alert.destination)
        if user is None:
            return alert.destination.target
        key = (alert.team_id, user)
        channel = self._dms.get(key)
        if channel is not None:
            return channel
        try:
            response = await self._call("conversations.open", token=token, users=user)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in DM_USER_ERRORS:
                raise UserUnreachable(f"slack conversations.open: {error}") from exc
            if error in DM_PERMANENT_ERRORS:
                raise PermanentDelivery(f"slack conversations.open: {error}") from exc
            raise classify(exc, "conversations.open") from exc
        channel = str((response.get("channel") or {}).get("id") or "")
        if not channel:
            raise RetryLater("slack conversations.open: no channel id", DEFAULT_RETRY_AFTER)
        if len(self._dms) >= MAX_DM_CHANNELS:
            self._dms.clear()
        self._dms[key] = channel
        return channel

    async def _find_message(
        self, token: str, channel: str, thread_ts: str | None, alert_id: str, since: float
    ) -> str | None:
        method = "conversations.replies" if thread_ts else "conversations.history"
        params: dict[str, str] = {
            "token": token,
            "channel": channel,
            "oldest": f"{max(since - CLOCK_SKEW, 0.0):.6f}",
            "include_all_metadata": "true",
            "limit": str(LOOKUP_PAGE),
        }
        if thread_ts:
            params["ts"] = thread_ts
        for number in range(LOOKUP_PAGES):
            try:
                page = await self._call_get(method, params)
            except SlackApiError as exc:
                error = str(exc.response.get("error", "") or "")
                limited = exc.response.status_code == 429 or error == "ratelimited"
                # A 429 past the first page would start the check over at every retry (apps
                # outside the Marketplace may read one page a minute): post rather than never.
                if error not in UNCHECKABLE_ERRORS and not (limited and number > 0):
                    raise classify(exc, method) from exc
                log.warning(
                    "cannot check %s for an earlier post of alert %s (%s); posting it",
                    channel,
                    alert_id,
                    error or "rate limited",
                )
                return None
            for message in page.get("messages") or []:
                if isinstance(message, dict) and shows_alert(message, alert_id):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
            params["cursor"] = str(cursor)
        log.warning(
            "alert %s not found in the newest messages of %s; posting it", alert_id, channel
        )
        return None

    async def _after_post(
        self,
        token: str,
        alert: Alert,
        ref: str,
        thread: tuple[str, str] | None,
        parent: str | None,
    ) -> None:
        if thread is not None and parent is not None:
            if not is_merge_note(alert):  # a merge note leaves the story's alert as it is
                await self._update_parent(parent, thread, alert)
        else:
            await self._redis.set(
                keys.slack_parent(ref), alert_to_json(alert), ex=PARENT_TTL_SECONDS
            )

    async def _post(
        self,
        token: str,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None,
        alert_id: str,
        broadcast: bool = False,
    ) -> AsyncSlackResponse:
        """Post a message (a thread reply when ``thread_ts``; ``broadcast``: a reply also shown
        in the channel, as an escalation is)."""
        args: dict[str, Any] = {
            "token": token,
            "channel": channel,
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": alert_metadata(alert_id),
        }
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
            if broadcast:
                args["reply_broadcast"] = True
        try:
            return await self._call("chat.postMessage", **args, **message.kwargs())
        except SlackApiError as exc:
            if str(exc.response.get("error", "")) not in CONTENT_ERRORS:
                raise classify(exc, "chat.postMessage") from exc
            log.warning("Slack refused the blocks of an alert; sending plain text")
        try:
            return await self._call("chat.postMessage", **args, text=message.text)
        except SlackApiError as exc:
            raise classify(exc, "chat.postMessage") from exc

    async def _call(self, method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await self._web().api_call(method, json=kwargs)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"slack {method}: {type(exc).__name__}", DEFAULT_RETRY_AFTER) from exc

    async def _call_get(self, method: str, params: dict[str, str]) -> AsyncSlackResponse:
        """A read method (they take form or query arguments, not JSON)."""
        try:
            return await self._web().api_call(method, http_verb="GET", params=dict(params))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"slack {method}: {type(exc).__name__}", DEFAULT_RETRY_AFTER) from exc

    async def _update_parent(self, parent: str, thread: tuple[str, str], alert: Alert) -> None:
        """Add the follow-up's outlets to the story's stored first alert and ask for the edit
        of its message (sent when the channel has a free slot; the follow-up is posted)."""
        raw = await self._redis.get(keys.slack_parent(parent))
        if not raw:
            log.info("no stored parent for %s; outlet count not updated", parent)
            return
        first = alert_from_json(raw)
        links = {s.link for s in first.sources}
        updated = dataclasses.replace(
            first,
            outlet_count=max(first.outlet_count, alert.outlet_count),
            outlets=alert.outlets or first.outlets,
            sources=first.sources + tuple(s for s in alert.sources if s.link not in links),
        )
        await self._redis.set(
            keys.slack_parent(parent), alert_to_json(updated), ex=PARENT_TTL_SECONDS
        )
        await self.edits.add(alert.team_id, thread[0], parent)

    async def _send_edit(self, ref: str, team_id: str) -> float | None:
        """Edit message ``ref`` to its stored alert: None when done or never possible (logged),
        else seconds after which to try again."""
        thread = parse_ref(ref)
        raw = await self._redis.get(keys.slack_parent(ref))
        if thread is None or not raw:
            return None
        first = alert_from_json(raw)
        message = render_alert(first, threaded=False)
        try:
            token = await self._tokens.token_for(team_id)
            await self._call(
                "chat.update",
                token=token,
                channel=thread[0],
                ts=thread[1],
                metadata=alert_metadata(first.alert_id),
                **message.kwargs(),
            )
        except SlackApiError as exc:
            failure = classify(exc, "chat.update")
            if isinstance(failure, RetryLater):
                return failure.retry_after
            log.warning("could not update the parent message %s: %s", ref, failure)
        except RetryLater as exc:
            return exc.retry_after
        except PermanentDelivery as exc:
            log.warning("could not update the parent message %s: %s", ref, exc)
        return None
