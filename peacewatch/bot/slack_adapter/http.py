"""HTTP mode: Slack requests checked (size, timestamp, signature, replay), then handed to bolt."""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from peacewatch.store import keys

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 2**20
"""Slack's payloads are a few KiB; a larger body is refused (413) before it is read whole."""
TIMESTAMP_WINDOW_SECONDS = 5 * 60
"""Slack's rule: a request signed longer ago than this (or this far ahead) is refused."""
SEEN_SECONDS = TIMESTAMP_WINDOW_SECONDS + 60
"""How long a used signature is remembered: past the window, the timestamp check refuses it."""
REFUSAL_LOG_SECONDS = 60.0
RETRY_HEADER = "X-Slack-Retry-Num"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_READ_CHUNK = 64 * 1024


def seen_key(signature: str) -> str:
    """The Redis key that marks a signature as used (``SET NX`` with an expiry)."""
    return f"{keys.PREFIX}slack:seen:{signature}"


class RefusalLog:
    """One short warning line per refused request at most once per ``interval`` seconds; the
    refusals in between are counted and the count is told with the next line, so a flood of
    forged requests cannot fill the log. Never the body, never a header."""

    def __init__(
        self, interval: float = REFUSAL_LOG_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._next = float("-inf")
        self._untold = 0

    def refused(self, path: str, reason: str) -> None:
        now = self._clock()
        if now < self._next:
            self._untold += 1
            return
        more = f" ({self._untold} more refused since the last warning)" if self._untold else ""
        log.warning("refused Slack request to %s: %s%s", path[:100], reason, more)
        self._untold = 0
        self._next = now + self._interval


class _TooLarge(Exception):
    pass


async def _read_capped(request: web.Request, cap: int) -> bytes:
    """The whole body, or _TooLarge as soon as it is known to pass ``cap`` bytes."""
    declared = request.content_length
    if declared is not None and declared > cap:
        raise _TooLarge
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        if size > cap:
            raise _TooLarge
        parts.append(chunk)
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the check decided: ``status`` 0 means "hand it to bolt"."""

    status: int = 0
    reason: str = ""
    body: str = ""


class RequestCheck:
    """Slack's request verification, done before bolt sees the request.

    A request passes when its body is at most ``max_body`` bytes of UTF-8, its
    ``X-Slack-Request-Timestamp`` is a number within five minutes of now, its
    ``X-Slack-Signature`` is the HMAC of both under the signing secret, and that signature was
    never seen before (``SET NX`` in Redis, so every replica shares the memory). A second
    request with a used signature is a replay (401), unless it carries ``X-Slack-Retry-Num``:
    Slack retrying a request we already took is answered 200 and not run again.
    """

    def __init__(
        self,
        signing_secret: str,
        redis: aioredis.Redis,
        *,
        max_body: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._redis = redis
        self._max_body = max_body
        self._clock = clock

    async def check(self, request: web.Request) -> Verdict:
        try:
            raw = await _read_capped(request, self._max_body)
        except _TooLarge:
            return Verdict(413, f"body over {self._max_body} bytes")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return Verdict(401, "body is not UTF-8")
        reason = self._signature_problem(request, body)
        if reason is not None:
            return Verdict(401, reason)
        signature = request.headers["X-Slack-Signature"]
        try:
            first = await self._redis.set(seen_key(signature), "1", nx=True, ex=SEEN_SECONDS)
        except aioredis.RedisError as exc:
            # Without the replay check a request cannot be told from a replay: refuse it.
            return Verdict(503, f"replay check unavailable ({type(exc).__name__})")
        if not first:
            if RETRY_HEADER in request.headers:
                return Verdict(200, "Slack retry of a request already taken")
            return Verdict(401, "replayed signature")
        return Verdict(body=body)

    def _signature_problem(self, request: web.Request, body: str) -> str | None:
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if not timestamp:
            return "no timestamp"
        if not _TIMESTAMP.fullmatch(timestamp):
            return "timestamp is not a number"
        if abs(self._clock() - int(timestamp)) > TIMESTAMP_WINDOW_SECONDS:
            return "timestamp outside the 5-minute window"
        if not signature:
            return "no signature"
        expected = self._verifier.generate_signature(timestamp=timestamp, body=body)
        # compare_digest raises TypeError for non-ASCII text: such a signature is simply wrong
        if expected is None or not signature.isascii():
            return "bad signature"
        if not hmac.compare_digest(expected, signature):
            return "bad signature"
        return None


class SlackRequestHandler:
    """POSTs to /slack/events pass :class:`RequestCheck`, then go to bolt's ``async_dispatch``
    (which verifies the signature again); GETs go to the OAuth flow."""

    def __init__(
        self, app: AsyncApp, check: RequestCheck, refusals: RefusalLog | None = None
    ) -> None:
        self._app = app
        self._check = check
        self._refusals = refusals or RefusalLog()

    async def events(self, request: web.Request) -> web.Response:
        verdict = await self._check.check(request)
        if verdict.status == 200:
            return web.Response(status=200)
        if verdict.status:
            self._refusals.refused(request.path, verdict.reason)
            return web.json_response({"error": "invalid request"}, status=verdict.status)
        headers: dict[str, str | Sequence[str]] = {
            name: request.headers.getall(name) for name in request.headers
        }
        bolt_request = AsyncBoltRequest(
            body=verdict.body, query=request.query_string, headers=headers
        )
        return await to_aiohttp_response(await self._app.async_dispatch(bolt_request))

    async def install(self, request: web.Request) -> web.Response:
        flow = self._app.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self._app.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        bolt_response = await flow.handle_callback(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)


def mount_routes(web_app: web.Application, app: AsyncApp, check: RequestCheck) -> None:
    """Add the Slack routes to ``web_app`` (before it starts). The OAuth routes exist only
    when the app installs into many workspaces."""
    handler = SlackRequestHandler(app, check)
    web_app.router.add_post(EVENTS_PATH, handler.events)
    flow = app.oauth_flow
    if flow is not None:
        web_app.router.add_get(flow.install_path, handler.install)
        web_app.router.add_get(flow.redirect_uri_path, handler.oauth_redirect)
