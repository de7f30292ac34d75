"""Delivers alerts through Discord webhook URLs, for servers that want alerts without a bot.

discord.py's webhook adapter sleeps through any 429, however long, which would stall the
dispatcher behind one busy channel. Executing a webhook is one POST, so this module makes its
own requests on aiohttp, follows the rate-limit headers per webhook, and turns a long wait into
RetryLater.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

import aiohttp

from peacewatch.bot.discord_adapter import embeds
from peacewatch.bot.discord_adapter.client import (
    DEFAULT_API_URL,
    OUTAGE_RETRY,
    RATELIMIT_CEILING,
    UNKNOWN_CHANNEL,
    as_delivery_error,
    http_error,
)
from peacewatch.errors import DeliveryError, InputError, PermanentDelivery, RetryLater
from peacewatch.models import Alert, AlertKind
from peacewatch.pipeline.render import is_merge_note

log = logging.getLogger(__name__)

FORUM_NEEDS_THREAD: Final = 220001
"""Error code: "Webhooks posted to forum channels must have a thread_name or thread_id"."""

WEBHOOK_URL_RE: Final = re.compile(
    r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/"
    r"(?P<id>\d{15,25})/(?P<token>[A-Za-z0-9._-]{20,200})/?(?:\?(?P<query>[^#]*))?$"
)


@dataclass(frozen=True, slots=True)
class WebhookRef:
    """A webhook URL taken apart; ``thread_id`` when the URL points into one thread."""

    id: str
    token: str
    thread_id: str | None = None

    def __repr__(self) -> str:  # the token is a secret: never in logs
        return f"WebhookRef(id={self.id!r}, thread_id={self.thread_id!r})"


def parse_webhook_url(url: str) -> WebhookRef:
    """The webhook of a URL like ``https://discord.com/api/webhooks/ID/TOKEN``.

    Raises InputError when the URL is not a Discord webhook URL.
    """
    found = WEBHOOK_URL_RE.match(url.strip())
    if found is None:
        raise InputError(
            "not a Discord webhook URL: expected https://discord.com/api/webhooks/ID/TOKEN"
        )
    thread = parse_qs(found["query"] or "").get("thread_id", [None])[0]
    if thread is not None and not thread.isdigit():
        raise InputError("thread_id in a Discord webhook URL must be a number")
    return WebhookRef(found["id"], found["token"], thread)


class WebhookClient:
    """Webhook REST calls with per-webhook pacing from Discord's rate-limit headers.

    A wait up to ``ceiling`` seconds is sat out; a longer one raises RetryLater at once.
    Errors are DeliveryError subclasses: RetryLater for 429, 5xx and network failures,
    PermanentDelivery for an unknown webhook (404 code 10015), a revoked one (401) and
    anything else Discord will never accept.
    """

    def __init__(
        self,
        api_base: str = DEFAULT_API_URL,
        *,
        ceiling: float = RATELIMIT_CEILING,
        timeout: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._ceiling = ceiling
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._blocked_until: dict[str, float] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def _pace(self, hook: WebhookRef) -> None:
        wait = self._blocked_until.get(hook.id, 0.0) - self._clock()
        if wait > self._ceiling:
            raise RetryLater(f"Discord webhook {hook.id} is rate limited", retry_after=wait)
        if wait > 0:
            await asyncio.sleep(wait)

    def _note_limits(self, hook: WebhookRef, headers: Any, status: int, body: Any) -> float:
        """Remember when the webhook may be used again; returns the 429 wait, else 0."""
        wait = 0.0
        if status == 429:
            retry = body.get("retry_after") if isinstance(body, dict) else None
            wait = float(retry if retry is not None else headers.get("Retry-After", OUTAGE_RETRY))
        elif headers.get("X-RateLimit-Remaining") == "0":
            wait = float(headers.get("X-RateLimit-Reset-After", 1.0))
        if wait > 0:
            self._blocked_until[hook.id] = self._clock() + wait
        return wait if status == 429 else 0.0

    async def request(
        self,
        method: str,
        hook: WebhookRef,
        path: str = "",
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        doing: str = "calling a webhook",
    ) -> Any:
        url = f"{self._base}/webhooks/{hook.id}/{hook.token}{path}"
        for attempt in range(2):
            await self._pace(hook)
            try:
                async with self._session_now().request(
                    method, url, params=params, json=json
                ) as response:
                    body: Any = None
                    if response.content_type == "application/json":
                        body = await response.json()
                    else:
                        await response.read()
                    status, headers = response.status, response.headers
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise as_delivery_error(exc, doing) from exc
            wait = self._note_limits(hook, headers, status, body)
            if 200 <= status < 300:
                return body
            if status == 429 and attempt == 0 and wait <= self._ceiling:
                continue  # _pace sits out the short wait before the second try
            code = int(body.get("code", 0)) if isinstance(body, dict) else 0
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
            raise WebhookHTTPError(status, code, http_error(status, code, message, doing, wait))
        raise RetryLater(f"Discord webhook {hook.id} is rate limited", retry_after=OUTAGE_RETRY)


class WebhookHTTPError(Exception):
    """An error answer of a webhook call, with the delivery error it means."""

    def __init__(self, status: int, code: int, error: DeliveryError) -> None:
        super().__init__(str(error))
        self.status = status
        self.code = code
        self.error = error


async def validate_webhook(url: str, client: WebhookClient) -> str | None:
    """None when ``url`` is a webhook Discord knows, else a message saying what is wrong."""
    try:
        hook = parse_webhook_url(url)
    except InputError as exc:
        return str(exc)
    try:
        data = await client.request("GET", hook, doing="checking the webhook")
    except WebhookHTTPError as exc:
        if exc.status in (401, 403, 404):
            return "Discord does not know this webhook (deleted, or the URL is incomplete)"
        return f"Discord could not check the webhook: {exc.error}"
    except DeliveryError as exc:
        return f"Discord could not be reached to check the webhook: {exc}"
    if not isinstance(data, dict) or str(data.get("id")) != hook.id:
        return "Discord answered with something that is not this webhook"
    return None


class WebhookSink:
    """Posts alerts through webhook URLs (destinations ``discordhook:https://discord.com/...``).

    A new alert is an embed; in a forum channel it becomes a post named after the headline.
    Follow-ups go into the story's thread with ``thread_id`` (a forum post, the thread the URL
    names, or a thread someone started from the alert); without one they follow the alert in
    the channel. The alert's embed is then edited with the outlet count. References are
    ``"channel_id/message_id"``. Execute Webhook takes no nonce and a webhook cannot list its
    messages, so a post Discord took whose answer was lost is posted again when it is retried
    (docs/discord.md, "Each alert once").
    """

    platform = "discordhook"

    def __init__(self, client: WebhookClient) -> None:
        self._client = client
        self._forums: set[str] = set()

    async def validate(self, url: str) -> str | None:
        return await validate_webhook(url, self._client)

    async def deliver(self, alert: Alert, parent: str | None) -> str:
        try:
            hook = parse_webhook_url(alert.destination.target)
        except InputError as exc:
            raise PermanentDelivery(str(exc)) from exc
        try:
            if alert.kind is AlertKind.FOLLOWUP and parent is not None:
                return await self._followup(hook, alert, parent)
            return await self._post_new(hook, alert)
        except WebhookHTTPError as exc:
            raise exc.error from exc

    async def _execute(
        self, hook: WebhookRef, payload: dict[str, Any], thread_id: str | None
    ) -> dict[str, Any]:
        params = {"wait": "true"}
        if thread_id is not None:
            params["thread_id"] = thread_id
        message = await self._client.request(
            "POST", hook, params=params, json=payload, doing=f"posting to webhook {hook.id}"
        )
        if not isinstance(message, dict) or "id" not in message:
            raise RetryLater("Discord answered a webhook post without a message", OUTAGE_RETRY)
        return message

    async def _post_new(self, hook: WebhookRef, alert: Alert) -> str:
        payload: dict[str, Any] = {
            "embeds": [embeds.as_dict(embeds.alert_embed(alert))],
            "allowed_mentions": {"parse": []},
        }
        if hook.id in self._forums and hook.thread_id is None:
            payload["thread_name"] = embeds.thread_name(alert)
        try:
            message = await self._execute(hook, payload, hook.thread_id)
        except WebhookHTTPError as exc:
            if exc.code != FORUM_NEEDS_THREAD or "thread_name" in payload:
                raise
            self._forums.add(hook.id)
            payload["thread_name"] = embeds.thread_name(alert)
            message = await self._execute(hook, payload, None)
        return f"{message['channel_id']}/{message['id']}"

    async def _followup(self, hook: WebhookRef, alert: Alert, parent: str) -> str:
        channel, _, message_id = parent.partition("/")
        # A forum post's starter message has the post's id; a URL may name a thread itself.
        in_thread = channel == message_id or channel == hook.thread_id
        payload = {
            "embeds": [embeds.as_dict(embeds.message_embed(alert))],
            "allowed_mentions": {"parse": []},
        }
        if in_thread:
            posted = await self._execute(hook, payload, channel)
        else:
            try:
                posted = await self._execute(hook, payload, message_id)
            except WebhookHTTPError as exc:
                # No thread was started from the alert (a webhook cannot start one).
                if exc.status not in (400, 404) or exc.code not in (UNKNOWN_CHANNEL, 0):
                    raise
                posted = await self._execute(hook, payload, None)
        if not is_merge_note(alert):  # a merge note leaves the story's alert as it is
            await self._update_outlets(hook, alert, message_id, channel if in_thread else None)
        return f"{posted['channel_id']}/{posted['id']}"

    async def _update_outlets(
        self, hook: WebhookRef, alert: Alert, message_id: str, thread_id: str | None
    ) -> None:
        """Best effort, as the follow-up is already posted: a failure is logged, not raised."""
        params = {"thread_id": thread_id} if thread_id else None
        path = f"/messages/{message_id}"
        try:
            message = await self._client.request("GET", hook, path, params=params)
            posted = message.get("embeds") if isinstance(message, dict) else None
            if not posted:
                return
            updated = [embeds.with_outlets(posted[0], alert), *posted[1:]]
            await self._client.request("PATCH", hook, path, params=params, json={"embeds": updated})
        except (WebhookHTTPError, DeliveryError) as exc:
            log.warning(
                "could not update the outlet count of webhook message %s: %s", message_id, exc
            )
