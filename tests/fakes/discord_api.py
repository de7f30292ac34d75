"""A protocol-level fake of the Discord REST API on 127.0.0.1: channels, messages (with the
nonce and enforce_nonce of Create Message), threads, webhooks, interaction callbacks, command
sync, 429s on demand, and a held answer to a message it created."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import direct_messages, members

API = "/api/v10"
TEXT, THREAD, FORUM, MEDIA = 0, 11, 15, 16
DISCORD_EPOCH_MS = 1_420_070_400_000
"""Snowflakes count milliseconds from 2015-01-01 in their upper bits."""
NONCE_WINDOW = 180.0
"""Seconds an enforced nonce stays unique (Discord: "the past few minutes")."""
BODY = web.RequestKey("body", object)


@dataclass
class Seen:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 200
    files: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json", without a charset, as Discord sends it: discord.py decodes
    # a body only when the header is that string.
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


class FakeDiscord:
    """Start with ``await fake.start()``; ``fake.api_url`` is the base URL for DISCORD_API_URL.

    Channels must be added (``add_channel``) before messages can be posted to them; unknown ones
    answer 404 Unknown Channel, ``forbid`` makes one answer 403 Missing Access, ``rate_limit``
    makes the next requests to a channel or webhook answer 429 with the rate-limit headers.
    """

    def __init__(
        self,
        token: str = "bot-token",
        application_id: int = 700000000000000001,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.clock = clock
        self.nonce_window = NONCE_WINDOW
        self._nonces: dict[tuple[str, str], tuple[int, float]] = {}
        """(author id, nonce) -> the message created with it, and when."""
        self._hold: asyncio.Event | None = None
        self.held = 0
        """Create Message calls whose message was stored and whose answer was held."""
        self.application_id = application_id
        self.guild_id = 800000000000000001
        self.bot_user = {
            "id": "700000000000000002",
            "username": "peacewatch",
            "discriminator": "0",
            "global_name": "peacewatch",
            "avatar": None,
            "bot": True,
        }
        self.seen: list[Seen] = []
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.dm_channels: dict[str, int] = {}
        self.members = members.DiscordMembers()
        """Who left the server; outages of Get Guild Member (see ``tests.fakes.members``)."""
        """Recipient user id -> the bot's DM channel with them (Create DM)."""
        self.forbidden: set[int] = set()
        self.unreadable: set[int] = set()
        """Channels whose history the bot may not read (no Read Message History)."""
        self.rate_limits: dict[str, list[float]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._last_id = 0
        self._setup_ids = itertools.count(900000000000000001)
        """Ids of the channels and webhooks a test adds: the same in every fake, so that two
        runs against two fakes route the same alerts to the same destinations."""
        self._changed = asyncio.Condition()
        self.identified: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- setup ---------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    def snowflake(self) -> int:
        """A new id that, as Discord's, tells when it was made (and grows)."""
        made = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(self._last_id + 1, made)
        return self._last_id

    def add_channel(self, kind: int = TEXT, parent: int | None = None) -> int:
        channel_id = next(self._setup_ids)
        self.channels[channel_id] = {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(self.guild_id),
            "name": f"channel-{channel_id}",
            "parent_id": str(parent) if parent else None,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        return channel_id

    def add_webhook(self, channel_id: int) -> str:
        hook_id = next(self._setup_ids)
        token = f"hooktoken{hook_id}" + "x" * 60
        self.webhooks[hook_id] = {"token": token, "channel_id": channel_id}
        return f"https://discord.com/api/webhooks/{hook_id}/{token}"

    def forbid(self, channel_id: int) -> None:
        self.forbidden.add(channel_id)

    def rate_limit(self, key: int | str, retry_after: float, times: int = 1) -> None:
        """The next ``times`` requests to channel or webhook ``key`` answer 429."""
        self.rate_limits.setdefault(str(key), []).extend([retry_after] * times)

    def hold_messages(self) -> None:
        """From now on Create Message (and a forum post) stores the message, then holds its
        answer until ``release_messages`` (or 60 s): the client sees a post that never returns."""
        self._hold = asyncio.Event()

    def release_messages(self) -> None:
        if self._hold is not None:
            self._hold.set()
        self._hold = None

    def in_channel(self, channel_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    def of(self, method: str, contains: str = "") -> list[Seen]:
        return [s for s in self.seen if s.method == method and contains in s.path]

    async def wait_for(self, check: Callable[[], bool], within: float = 5.0) -> None:
        """Wait (bounded) until ``check()`` holds; it is re-checked after every request."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(check)

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_get(f"{API}/users/@me", self._me)
        r.add_post(f"{API}/users/@me/channels", self._open_dm)
        r.add_get(f"{API}/oauth2/applications/@me", self._application)
        r.add_get(f"{API}/gateway/bot", self._gateway_bot)
        r.add_get("/gateway", self._gateway)
        r.add_get(f"{API}/channels/{{channel}}", self._get_channel)
        r.add_get(f"{API}/guilds/{{guild}}/members/{{user}}", self._get_member)
        r.add_post(f"{API}/channels/{{channel}}/messages", self._create_message)
        r.add_get(f"{API}/channels/{{channel}}/messages", self._list_messages)
        r.add_get(f"{API}/channels/{{channel}}/messages/{{message}}", self._get_message)
        r.add_patch(f"{API}/channels/{{channel}}/messages/{{message}}", self._edit_message)
        r.add_post(f"{API}/channels/{{channel}}/messages/{{message}}/threads", self._start_thread)
        r.add_post(f"{API}/channels/{{channel}}/threads", self._forum_post)
        r.add_get(f"{API}/guilds/{{guild}}/threads/active", self._active_threads)
        r.add_post(f"{API}/interactions/{{id}}/{{token}}/callback", self._callback)
        r.add_post(f"{API}/webhooks/{{id}}/{{token}}", self._execute)
        r.add_get(f"{API}/webhooks/{{id}}/{{token}}", self._get_webhook)
        r.add_get(f"{API}/webhooks/{{id}}/{{token}}/messages/{{message}}", self._hook_message)
        r.add_patch(f"{API}/webhooks/{{id}}/{{token}}/messages/{{message}}", self._hook_edit)
        r.add_delete(f"{API}/webhooks/{{id}}/{{token}}/messages/{{message}}", self._hook_delete)
        r.add_put(f"{API}/applications/{{app}}/commands", self._sync)
        r.add_put(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self._sync)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for socket in self._sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- plumbing ------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        files: list[tuple[str, bytes]] = []
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(data)
                else:
                    files.append((part.filename or "", bytes(data)))  # type: ignore[union-attr]
        request[BODY] = body
        seen = Seen(
            request.method, request.path[len(API) :], dict(request.query), body, files=files
        )
        self.seen.append(seen)
        response = await handler(request)
        seen.status = response.status
        async with self._changed:
            self._changed.notify_all()
        return response

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    @staticmethod
    def _headers(remaining: int = 4, reset_after: float = 1.0) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Bucket": "fakebucket",
            "Via": "1.1 google",
        }

    def _ok(self, data: Any, status: int = 200) -> web.Response:
        return _json(data, status=status, headers=self._headers())

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return _json({"message": message, "code": code}, status=status, headers=self._headers())

    def _limited(self, key: str) -> web.Response | None:
        pending = self.rate_limits.get(key)
        if not pending:
            return None
        retry_after = pending.pop(0)
        headers = self._headers(remaining=0, reset_after=retry_after)
        headers |= {"Retry-After": str(int(retry_after) + 1), "X-RateLimit-Scope": "user"}
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        return _json(body, status=429, headers=headers)

    def _channel_check(self, request: web.Request, channel_id: int) -> web.Response | None:
        if not self._authorised(request):
            return self._error(401, 0, "401: Unauthorized")
        if channel_id not in self.channels:
            return self._error(404, 10003, "Unknown Channel")
        if channel_id in self.forbidden:
            return self._error(403, 50001, "Missing Access")
        return self._limited(str(channel_id))

    def _new_message(
        self, channel_id: int, body: dict[str, Any], message_id: int | None = None
    ) -> dict[str, Any]:
        message_id = message_id or self.snowflake()
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "content": body.get("content", ""),
            "author": self.bot_user,
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2025-06-01T12:00:00+00:00",
            "edited_timestamp": None,
            "flags": body.get("flags", 0),
        }
        if "message_reference" in body:
            message["message_reference"] = body["message_reference"]
        self.messages[message_id] = message
        return message

    def _thread(self, thread_id: int, parent: int, name: str) -> dict[str, Any]:
        self.channels[thread_id] = {
            "id": str(thread_id),
            "type": THREAD,
            "guild_id": str(self.guild_id),
            "parent_id": str(parent),
            "name": name,
            "owner_id": self.bot_user["id"],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2025-06-01T12:00:00+00:00",
                "locked": False,
            },
            "message_count": 0,
            "member_count": 1,
        }
        return self.channels[thread_id]

    # -- bot routes ----------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 0, "401: Unauthorized")
        return self._ok(self.bot_user)

    async def _open_dm(self, request: web.Request) -> web.Response:
        return await direct_messages.discord_open(self, request)

    async def _get_member(self, request: web.Request) -> web.Response:
        return await members.discord_member(self, request)

    async def _application(self, request: web.Request) -> web.Response:
        return self._ok(
            {
                "id": str(self.application_id),
                "name": "peacewatch",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.bot_user,
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        refused = self._channel_check(request, channel_id)
        return refused or self._ok(self.channels[channel_id])

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        refused = self._channel_check(request, channel_id)
        if refused is not None:
            return refused
        if self.channels[channel_id]["type"] in (FORUM, MEDIA):
            return self._error(400, 50008, "Cannot send messages in a non-text channel")
        body = request[BODY]
        nonce = body.get("nonce")
        if nonce is not None and (
            not isinstance(nonce, str | int) or isinstance(nonce, bool) or len(str(nonce)) > 25
        ):
            return _json(
                {
                    "message": "Invalid Form Body",
                    "code": 50035,
                    "errors": {"nonce": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}},
                },
                status=400,
                headers=self._headers(),
            )
        key = (str(self.bot_user["id"]), str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self._nonces.get(key)
            if earlier is not None and self.clock() - earlier[1] <= self.nonce_window:
                existing = self.messages.get(earlier[0])
                if existing is not None:
                    return self._ok(existing)  # the same author's message with this nonce
        message = self._new_message(channel_id, body)
        if nonce is not None:
            message["nonce"] = nonce
            if body.get("enforce_nonce"):
                self._nonces[key] = (int(message["id"]), self.clock())
        await self._held()
        return self._ok(message)

    async def _held(self) -> None:
        """While ``hold_messages`` is on: count a stored post and wait to answer it."""
        hold = self._hold
        if hold is not None:
            self.held += 1
            async with self._changed:
                self._changed.notify_all()
            try:
                await asyncio.wait_for(hold.wait(), 60)
            except TimeoutError:
                pass

    async def _list_messages(self, request: web.Request) -> web.Response:
        """Get Channel Messages: the newest ``limit`` (1-100, default 50) first; as Discord
        does, without their nonces."""
        channel_id = int(request.match_info["channel"])
        refused = self._channel_check(request, channel_id)
        if refused is not None:
            return refused
        if channel_id in self.unreadable:
            return self._error(403, 50001, "Missing Access")
        limit = request.query.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            return self._error(400, 50035, "Invalid Form Body")
        newest = sorted(self.in_channel(channel_id), key=lambda m: -int(m["id"]))[: int(limit)]
        return self._ok([{k: v for k, v in m.items() if k != "nonce"} for m in newest])

    async def _get_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        refused = self._channel_check(request, channel_id)
        if refused is not None:
            return refused
        message = self.messages.get(int(request.match_info["message"]))
        if message is None or message["channel_id"] != str(channel_id):
            return self._error(404, 10008, "Unknown Message")
        return self._ok(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        refused = self._channel_check(request, channel_id)
        if refused is not None:
            return refused
        message = self.messages.get(int(request.match_info["message"]))
        if message is None:
            return self._error(404, 10008, "Unknown Message")
        message.update({k: v for k, v in request[BODY].items() if k in ("embeds", "content")})
        message["edited_timestamp"] = "2025-06-01T12:05:00+00:00"
        return self._ok(message)

    async def _start_thread(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        refused = self._channel_check(request, channel_id)
        if refused is not None:
            return refused
        message_id = int(request.match_info["message"])
        if message_id not in self.messages:
            return self._error(404, 10008, "Unknown Message")
        if (in_dm := direct_messages.discord_refuses_thread(self, channel_id)) is not None:
            return in_dm
        if message_id in self.channels:
            return self._error(400, 160004, "A thread has already been created for this message")
        return self._ok(self._thread(message_id, channel_id, request[BODY]["name"]), 201)

    async def _forum_post(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        refused = self._channel_check(request, channel_id)
        if refused is not None:
            return refused
        body = request[BODY]
        thread_id = self.snowflake()
        thread = dict(self._thread(thread_id, channel_id, body["name"]))
        thread["message"] = self._new_message(thread_id, body["message"], message_id=thread_id)
        await self._held()
        return self._ok(thread, 201)

    async def _active_threads(self, request: web.Request) -> web.Response:
        """List Active Guild Threads: every thread of the server that is not archived."""
        if not self._authorised(request):
            return self._error(401, 0, "401: Unauthorized")
        if request.match_info["guild"] != str(self.guild_id):
            return self._error(404, 10004, "Unknown Guild")
        threads = [
            c for c in self.channels.values()
            if c["type"] == THREAD and not c["thread_metadata"]["archived"]
        ]  # fmt: skip
        return self._ok({"threads": threads, "members": []})

    async def _sync(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 0, "401: Unauthorized")
        guild = request.match_info.get("guild")
        out = []
        for command in request[BODY]:
            registered = {
                "id": str(self.snowflake()),
                "application_id": str(self.application_id),
                "version": "1",
                "default_member_permissions": None,
                "nsfw": False,
                "type": 1,
                "options": [],
                **command,
            }
            if guild:
                registered["guild_id"] = guild
            out.append(registered)
        self.commands[guild or "global"] = out
        return self._ok(out)

    # -- gateway -------------------------------------------------------------------------------

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 0, "401: Unauthorized")
        limits = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        url = f"ws://127.0.0.1:{self.port}/gateway"
        return self._ok({"url": url, "shards": 1, "session_start_limit": limits})

    async def _send_event(self, socket: web.WebSocketResponse, name: str, data: Any) -> None:
        self._sequence += 1
        await socket.send_json({"op": 0, "t": name, "s": self._sequence, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        """Just enough of the gateway: HELLO, IDENTIFY -> READY, heartbeat ACKs, and events
        pushed with ``dispatch``."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None})
        async for frame in socket:
            message = json.loads(frame.data)
            if message["op"] == 2:
                self.identified.append(message["d"])
                ready = {
                    "v": 10,
                    "user": self.bot_user,
                    "guilds": [],
                    "session_id": "fake-session",
                    "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                    "application": {"id": str(self.application_id), "flags": 0},
                }
                await self._send_event(socket, "READY", ready)
                async with self._changed:
                    self._changed.notify_all()
            elif message["op"] == 1:
                await socket.send_json({"op": 11})
        return socket

    async def dispatch(self, name: str, data: Any) -> None:
        """Send one gateway event (e.g. INTERACTION_CREATE) to every connected client."""
        for socket in self._sockets:
            if not socket.closed:
                await self._send_event(socket, name, data)

    # -- interactions and webhooks -------------------------------------------------------------

    def interaction_payload(
        self,
        data: dict[str, Any],
        *,
        channel_id: int,
        user_id: int = 600000000000000001,
        permissions: int = 0,
        kind: int = 2,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload as the gateway delivers it."""
        interaction_id = self.snowflake()
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(self.guild_id),
            "channel_id": str(channel_id),
            "channel": self.channels.get(channel_id, {"id": str(channel_id), "type": TEXT}),
            "member": {
                "user": {
                    "id": str(user_id),
                    "username": f"user{user_id}",
                    "discriminator": "0",
                    "global_name": None,
                    "avatar": None,
                },
                "roles": [],
                "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": str(permissions),
            },
            "token": f"itoken{interaction_id}",
            "version": 1,
            "app_permissions": str((1 << 53) - 1),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        return payload

    def answers(self, payload: dict[str, Any]) -> list[Seen]:
        """What the bot sent back for one interaction: its callback, follow-ups and edits."""
        interaction_token = payload["token"]
        return [s for s in self.seen if interaction_token in s.path]

    async def _callback(self, request: web.Request) -> web.Response:
        body = request[BODY]
        data = body.get("data") or {}
        kind = body["type"]
        ephemeral = bool(int(data.get("flags", 0)) & 64)
        resource: dict[str, Any] = {"type": kind}
        if kind == 4:
            message = self._new_message(int(self.application_id), data)
            resource["message"] = message
        return self._ok(
            {
                "interaction": {
                    "id": request.match_info["id"],
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": ephemeral,
                },
                "resource": resource,
            }
        )

    async def _execute(self, request: web.Request) -> web.Response:
        hook_id = int(request.match_info["id"])
        body = request[BODY] or {}
        wait = request.query.get("wait") == "true"
        if hook_id == self.application_id:  # an interaction follow-up always gets its message
            return self._ok(self._new_message(int(self.application_id), body))
        hook = self.webhooks.get(hook_id)
        if hook is None:
            return self._error(404, 10015, "Unknown Webhook")
        if hook["token"] != request.match_info["token"]:
            return self._error(401, 50027, "Invalid Webhook Token")
        limited = self._limited(str(hook_id))
        if limited is not None:
            return limited
        channel_id = hook["channel_id"]
        thread_id = request.query.get("thread_id")
        if thread_id is not None:
            target = int(thread_id)
            thread = self.channels.get(target)
            if thread is None or thread.get("parent_id") != str(channel_id):
                return self._error(400, 10003, "Unknown Channel")
        elif self.channels[channel_id]["type"] == FORUM:
            if "thread_name" not in body:
                return self._error(
                    400, 220001, "Webhooks posted to forum channels must have a thread_name"
                )
            target = self.snowflake()
            self._thread(target, channel_id, body["thread_name"])
            message = self._new_message(target, body, message_id=target)
            message["webhook_id"] = str(hook_id)
            return self._ok(message) if wait else web.Response(status=204)
        else:
            target = channel_id
        message = self._new_message(target, body)
        message["webhook_id"] = str(hook_id)
        return self._ok(message) if wait else web.Response(status=204)

    def _hook(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        hook = self.webhooks.get(int(request.match_info["id"]))
        if hook is None:
            return None, self._error(404, 10015, "Unknown Webhook")
        if hook["token"] != request.match_info["token"]:
            return None, self._error(401, 50027, "Invalid Webhook Token")
        return hook, None

    async def _get_webhook(self, request: web.Request) -> web.Response:
        hook, refused = self._hook(request)
        if refused is not None or hook is None:
            return refused or self._error(404, 10015, "Unknown Webhook")
        return self._ok(
            {
                "id": request.match_info["id"],
                "type": 1,
                "channel_id": str(hook["channel_id"]),
                "guild_id": str(self.guild_id),
                "name": "peacewatch alerts",
                "avatar": None,
                "token": hook["token"],
                "application_id": None,
            }
        )

    def _hook_target(self, request: web.Request) -> dict[str, Any] | None:
        return self.messages.get(int(request.match_info["message"]))

    async def _hook_message(self, request: web.Request) -> web.Response:
        _hook, refused = self._hook(request)
        if refused is not None:
            return refused
        message = self._hook_target(request)
        thread = request.query.get("thread_id")
        if message is None or (thread is not None and message["channel_id"] != thread):
            return self._error(404, 10008, "Unknown Message")
        return self._ok(message)

    async def _hook_edit(self, request: web.Request) -> web.Response:
        if int(request.match_info["id"]) == self.application_id:
            return self._ok(self._new_message(int(self.application_id), request[BODY] or {}))
        _hook, refused = self._hook(request)
        if refused is not None:
            return refused
        message = self._hook_target(request)
        if message is None:
            return self._error(404, 10008, "Unknown Message")
        message.update({k: v for k, v in request[BODY].items() if k in ("embeds", "content")})
        return self._ok(message)

    async def _hook_delete(self, request: web.Request) -> web.Response:
        return web.Response(status=204)
