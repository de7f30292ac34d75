"""A local fake of the Slack Web API (and Socket Mode, and response_url) for tests.

    async with FakeSlack() as slack:
        settings = Settings(SLACK_API_URL=slack.base_url, ...)
        ...
        assert slack.calls_to("chat.postMessage")[0].args["channel"] == "C1"

A real aiohttp server on 127.0.0.1 with an OS-chosen port. It answers the Web API's JSON
(``{"ok": true, ...}`` / ``{"ok": false, "error": ...}``) for the methods peacewatch uses,
records every call with the token that made it, serves response_url endpoints and records
what is posted to them, and misbehaves on request: HTTP 429 with Retry-After, or an error code,
per channel; revoked tokens. Messages keep their metadata, which conversations.history and
conversations.replies return with ``include_all_metadata`` as Slack does; ``hold_posts`` makes
chat.postMessage store the message and then hold its answer (a post Slack took whose answer
never arrives).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes import direct_messages


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Web API call: method, arguments (form or JSON), and the token it carried."""

    method: str
    args: dict[str, Any]
    token: str | None


@dataclass(frozen=True, slots=True)
class Posted:
    """A JSON body posted to a response_url."""

    path: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file shared into a channel by Slack's upload flow (files.getUploadURLExternal, the
    upload POST, files.completeUploadExternal)."""

    file_id: str
    channel: str
    filename: str
    title: str
    data: bytes
    token: str | None
    thread_ts: str | None = None
    initial_comment: str = ""


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    token: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    reply_broadcast: bool = False

    def as_api(self, with_metadata: bool) -> dict[str, Any]:
        """The message as conversations.history / conversations.replies return it."""
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "bot_id": "BFAKE",
            "app_id": "AFAKE",
        }
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        return out


class FakeSlack:
    """Slack's Web API on 127.0.0.1:0. ``base_url`` ends with '/' as the SDK expects."""

    def __init__(
        self,
        valid_tokens: set[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        """Wall clock of message timestamps (``ts`` is epoch seconds, as on Slack)."""
        self.valid_tokens: set[str] | None = valid_tokens
        """Tokens accepted; None accepts any token that is present."""
        self.revoked: set[str] = set()
        self.users: dict[str, dict[str, Any]] = {}
        self.team_of_token: dict[str, str] = {}
        self.oauth_grants: dict[str, dict[str, Any]] = {}
        """``code`` -> the oauth.v2.access answer for it."""
        self.calls: list[ApiCall] = []
        self.messages: list[Message] = []
        self.responses: list[Posted] = []
        self.uploads: dict[str, bytes] = {}
        """Bytes posted to each upload URL, by file id."""
        self.shared_files: list[SharedFile] = []
        """Files that completed the upload flow, in the channel they were shared to."""
        self._upload_slots: dict[str, tuple[str, int]] = {}
        """file id -> (filename, length) promised by files.getUploadURLExternal."""
        self.not_member: set[str] = set()
        self.channels: dict[str, dict[str, Any]] = {}
        """Channels conversations.list returns, by id (``add_channel``)."""
        self.list_page_max = 100
        """The most channels one conversations.list page holds, whatever ``limit`` asks."""
        """Channels the bot is not in: sharing a file there answers not_in_channel."""
        self.socket_acks: list[dict[str, Any]] = []
        self.dm_channels: dict[str, str] = {}
        """User id -> the bot's DM channel with them (conversations.open)."""
        self.home_views: dict[str, dict[str, Any]] = {}
        """The App Home last published for each user (views.publish)."""
        self.views: dict[str, dict[str, Any]] = {}
        """Modals opened (views.open) or updated (views.update), by view id."""
        self._view_ids = itertools.count(1)
        self._channel_errors: dict[str, str] = {}
        self._channel_status: dict[str, int] = {}
        self._rate_limits: dict[str, int] = {}
        self._refuse_blocks: set[str] = set()
        self._history_errors: dict[str, str] = {}
        self._users_info_failures: list[tuple[str, int]] = []
        self._history_quota: dict[str, int] = {}
        self._history_retry_after = 60
        self._hold: asyncio.Event | None = None
        self.held = 0
        """chat.postMessage calls whose message was stored and whose answer was held."""
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._envelopes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- addresses -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._port is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/respond/{name}"

    # -- behaviour -------------------------------------------------------------------------------

    def add_user(
        self, user_id: str, name: str, *, admin: bool = False, owner: bool = False
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": name,
            "is_admin": admin,
            "is_owner": owner,
            "deleted": False,
        }

    def deactivate(self, user_id: str) -> None:
        """The account is deactivated: users.info says ``deleted: true``."""
        self.users[user_id]["deleted"] = True

    def remove_user(self, user_id: str) -> None:
        """The workspace no longer has the user: users.info and conversations.open answer
        ``user_not_found``, and so does a post to the DM channel opened with them before."""
        self.users.pop(user_id, None)

    def place_user(self, user_id: str, workspace: str) -> None:
        """The user's workspace (users.info's ``team_id``): a token of another workspace
        (``team_of_token``, else T1) gets ``user_not_found`` for them, as on Slack. Users not
        placed are found with any token."""
        self.users[user_id]["team_id"] = workspace

    def set_grid_teams(self, user_id: str, teams: list[str] | None) -> None:
        """Enterprise Grid: users.info carries ``enterprise_user.teams``, the workspaces of the
        org the user is in (None: not a Grid user). The account stays active (``deleted:
        false``) when it is removed from one workspace."""
        if teams is None:
            self.users[user_id].pop("enterprise_user", None)
            return
        self.users[user_id]["enterprise_user"] = {
            "id": user_id,
            "enterprise_id": "E1",
            "enterprise_name": "Fake Grid",
            "is_admin": False,
            "is_owner": False,
            "teams": list(teams),
        }

    def fail_users_info(
        self, error: str = "fatal_error", status: int = 500, times: int = 1
    ) -> None:
        """The next ``times`` users.info calls answer ``error`` with HTTP ``status``."""
        self._users_info_failures.extend([(error, status)] * times)

    def add_channel(self, channel_id: str, name: str, private: bool = False) -> None:
        """A channel of the workspace, listed by conversations.list (public ones only unless
        the call asks for private_channel too)."""
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": not private,
            "is_private": private,
            "is_archived": False,
        }

    def fail_channel(self, channel: str, error: str, status: int = 200) -> None:
        """Posts to ``channel`` answer ``{"ok": false, "error": error}`` with HTTP ``status``
        (an outage: 500), until ``clear_channel``."""
        self._channel_errors[channel] = error
        self._channel_status[channel] = status

    def clear_channel(self, channel: str) -> None:
        self._channel_errors.pop(channel, None)
        self._channel_status.pop(channel, None)

    def refuse_blocks(self, channel: str) -> None:
        """Posts with blocks to ``channel`` answer ``invalid_blocks``; plain text goes through."""
        self._refuse_blocks.add(channel)

    def rate_limit(self, channel: str, retry_after: int = 30) -> None:
        """Posts to ``channel`` answer HTTP 429 with ``Retry-After`` until ``clear_rate_limit``."""
        self._rate_limits[channel] = retry_after

    def clear_rate_limit(self, channel: str) -> None:
        self._rate_limits.pop(channel, None)

    def fail_history(self, channel: str, error: str) -> None:
        """conversations.history/replies of ``channel`` answer ``error`` (posting still works)."""
        self._history_errors[channel] = error

    def limit_history(self, channel: str, calls: int, retry_after: int = 60) -> None:
        """After ``calls`` more conversations.history/replies calls of ``channel``, each one
        answers HTTP 429 (as for apps held to one read a minute)."""
        self._history_quota[channel] = calls
        self._history_retry_after = retry_after

    def hold_posts(self) -> None:
        """From now on chat.postMessage stores the message, then holds its answer until
        ``release_posts`` (or 60 s): the client sees a post that never returns."""
        self._hold = asyncio.Event()

    def release_posts(self) -> None:
        if self._hold is not None:
            self._hold.set()
        self._hold = None

    def push_envelope(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected client."""
        self._envelopes.put_nowait(envelope)

    # -- what happened ---------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def with_alert(self, alert_id: str) -> list[Message]:
        """Messages whose metadata names ``alert_id``."""
        return [
            m
            for m in self.messages
            if (m.metadata or {}).get("event_payload", {}).get("alert_id") == alert_id
        ]

    def top_level(self, channel: str | None = None) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.thread_ts is None and (channel is None or m.channel == channel)
        ]

    async def wait_for(self, predicate: Any, limit: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (something arrived), or fail after ``limit`` s."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(_wait(), limit)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- handlers --------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _token(request, args)
        self.calls.append(ApiCall(method, args, token))
        await self._notify()
        if method == "oauth.v2.access":
            grant = self.oauth_grants.get(str(args.get("code", "")))
            if grant is None:
                return _error("invalid_code")
            return web.json_response({"ok": True, **grant})
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"})
        if not token:
            return _error("not_authed")
        if token in self.revoked:
            return _error("token_revoked")
        if self.valid_tokens is not None and token not in self.valid_tokens:
            return _error("invalid_auth")
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "users.info": self._users_info,
            "conversations.list": self._conversations,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "conversations.open": self._open_dm,
        }.get(method)
        if handler is None:
            return _error("unknown_method")
        return await handler(args, token)

    async def _auth_test(self, args: dict[str, Any], token: str) -> web.Response:
        team = self.team_of_token.get(token, "T1")
        return web.json_response(
            {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake",
                "team_id": team,
                "user_id": "UBOT",
                "bot_id": f"B{team}",
                "is_enterprise_install": False,
            }
        )

    def _channel_failure(self, channel: str) -> web.Response | None:
        if channel in self._rate_limits:
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(self._rate_limits[channel])},
            )
        if channel in self._channel_errors:
            status = self._channel_status.get(channel, 200)
            return _error(self._channel_errors[channel], status)
        return None

    async def _post_message(self, args: dict[str, Any], token: str) -> web.Response:
        channel = str(args.get("channel", ""))
        failure = self._channel_failure(channel)
        if failure is not None:
            return failure
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        if channel in self._refuse_blocks and args.get("blocks"):
            return _error("invalid_blocks")
        gone = [u for u, dm in self.dm_channels.items() if dm == channel and u not in self.users]
        if gone:
            return _error("user_not_found")  # the DM of a user the workspace no longer has
        ts = f"{int(self._clock())}.{next(self._ts):06d}"
        blocks = args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        thread = args.get("thread_ts")
        message = Message(
            channel, ts, str(args.get("text", "")), blocks, str(thread) if thread else None, token
        )
        message.metadata = _metadata(args.get("metadata"))
        message.reply_broadcast = _true(args.get("reply_broadcast"))
        self.messages.append(message)
        await self._notify()
        hold = self._hold
        if hold is not None:
            self.held += 1
            await self._notify()
            try:
                await asyncio.wait_for(hold.wait(), 60)
            except TimeoutError:
                pass
        return web.json_response(
            {"ok": True, "channel": channel, "ts": ts, "message": {"text": message.text}}
        )

    async def _update(self, args: dict[str, Any], token: str) -> web.Response:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        failure = self._channel_failure(channel)
        if failure is not None:
            return failure
        for message in self.messages:
            if message.channel == channel and message.ts == ts:
                message.edits.append(args)
                if "metadata" in args:
                    message.metadata = _metadata(args["metadata"])
                await self._notify()
                return web.json_response({"ok": True, "channel": channel, "ts": ts})
        return _error("message_not_found")

    def _history_failure(self, channel: str) -> web.Response | None:
        failure = self._channel_failure(channel)
        if failure is None and channel in self._history_errors:
            return _error(self._history_errors[channel])
        quota = self._history_quota.get(channel)
        if failure is None and quota is not None:
            if quota <= 0:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(self._history_retry_after)},
                )
            self._history_quota[channel] = quota - 1
        return failure

    @staticmethod
    def _page(found: list[Message], args: dict[str, Any], with_metadata: bool) -> web.Response:
        """One page of ``found``: ``limit`` (default 100) from the ``cursor`` on."""
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        start = int(str(args.get("cursor") or "0").removeprefix("next:") or 0)
        page = found[start : start + limit]
        more = start + limit < len(found)
        body: dict[str, Any] = {
            "ok": True,
            "messages": [m.as_api(with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": f"next:{start + limit}" if more else ""},
        }
        return web.json_response(body)

    async def _history(self, args: dict[str, Any], token: str) -> web.Response:
        """Top-level messages (and replies also sent to the channel), newest first, between
        ``oldest`` and ``latest`` (exclusive)."""
        channel = str(args.get("channel", ""))
        failure = self._history_failure(channel)
        if failure is not None:
            return failure
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        found = [
            m
            for m in self.messages
            if m.channel == channel
            and (m.thread_ts is None or m.reply_broadcast)
            and oldest < float(m.ts) < latest
        ]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        return self._page(found, args, _true(args.get("include_all_metadata")))

    async def _replies(self, args: dict[str, Any], token: str) -> web.Response:
        """The thread's parent, then its replies between ``oldest`` and ``latest``, oldest
        first."""
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        failure = self._history_failure(channel)
        if failure is not None:
            return failure
        in_channel = [m for m in self.messages if m.channel == channel]
        parent = [m for m in in_channel if m.ts == ts]
        if not parent:
            return _error("thread_not_found")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        replies = [m for m in in_channel if m.thread_ts == ts and oldest < float(m.ts) < latest]
        replies.sort(key=lambda m: float(m.ts))
        return self._page(parent + replies, args, _true(args.get("include_all_metadata")))

    async def _conversations(self, args: dict[str, Any], token: str) -> web.Response:
        """conversations.list: ``types``, cursor paging by ``limit`` (Slack's default 100)."""
        types = set(str(args.get("types") or "public_channel").split(","))
        found = [
            {**c, "is_member": c["id"] not in self.not_member}
            for c in self.channels.values()
            if ("private_channel" if c["is_private"] else "public_channel") in types
        ]
        start = int(str(args.get("cursor") or "0"))
        # Slack may answer fewer than ``limit`` and a next_cursor: callers must page
        limit = min(int(str(args.get("limit") or "100")), self.list_page_max)
        page = found[start : start + limit]
        after = start + limit
        cursor = str(after) if after < len(found) else ""
        return web.json_response(
            {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}
        )

    async def _open_dm(self, args: dict[str, Any], token: str) -> web.Response:
        return direct_messages.slack_open(self, args)

    async def _users_info(self, args: dict[str, Any], token: str) -> web.Response:
        if self._users_info_failures:
            error, status = self._users_info_failures.pop(0)
            return _error(error, status)
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return _error("user_not_found")
        workspace = self.team_of_token.get(token, "T1")
        grid = user.get("enterprise_user") or {}
        if "team_id" in user and workspace not in (user["team_id"], *grid.get("teams", ())):
            return _error("user_not_found")  # the token's workspace does not know them
        return web.json_response({"ok": True, "user": user})

    @staticmethod
    def _view(args: dict[str, Any]) -> dict[str, Any] | None:
        """The ``view`` argument (JSON or a JSON string), if Block Kit accepts it."""
        from slack_sdk.errors import SlackObjectFormationError
        from slack_sdk.models.views import View

        raw = args.get("view")
        view = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(view, dict):
            return None
        try:
            View(**view).to_dict()  # checks every block against its limits
        except (SlackObjectFormationError, TypeError, KeyError):
            return None
        return view

    async def _views_publish(self, args: dict[str, Any], token: str) -> web.Response:
        view = self._view(args)
        if view is None or view.get("type") != "home" or not args.get("user_id"):
            return _error("invalid_arguments")
        self.home_views[str(args["user_id"])] = view
        await self._notify()
        return web.json_response({"ok": True, "view": {"id": "VHOME", **view}})

    async def _views_open(self, args: dict[str, Any], token: str) -> web.Response:
        view = self._view(args)
        if view is None or view.get("type") != "modal":
            return _error("invalid_arguments")
        if not args.get("trigger_id"):
            return _error("invalid_trigger_id")
        view_id = f"V{next(self._view_ids)}"
        self.views[view_id] = view
        await self._notify()
        return web.json_response({"ok": True, "view": {"id": view_id, **view}})

    async def _views_update(self, args: dict[str, Any], token: str) -> web.Response:
        view = self._view(args)
        view_id = str(args.get("view_id", ""))
        if view_id not in self.views:
            return _error("not_found")
        if view is None:
            return _error("invalid_arguments")
        self.views[view_id] = view
        await self._notify()
        return web.json_response({"ok": True, "view": {"id": view_id, **view}})

    async def _upload_url(self, args: dict[str, Any], token: str) -> web.Response:
        # Slack requires the file's name and its exact length in bytes up front
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit() or int(length) <= 0:
            return _error("invalid_arguments")
        file_id = f"F{next(self._ts)}"
        self._upload_slots[file_id] = (filename, int(length))
        return web.json_response(
            {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        )

    async def _complete_upload(self, args: dict[str, Any], token: str) -> web.Response:
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        for item in files:
            file_id = str(item.get("id", "")) if isinstance(item, dict) else ""
            slot = self._upload_slots.get(file_id)
            if slot is None or file_id not in self.uploads:
                return _error("file_not_found")  # never issued, or its bytes never arrived
            if len(self.uploads[file_id]) != slot[1]:
                return _error("file_upload_size_mismatch")
        channel = str(args.get("channel_id") or "")
        if channel:
            failure = self._channel_failure(channel)
            if failure is not None:
                return failure
            if channel in self.not_member:
                return _error("not_in_channel")
        for item in files:
            file_id = str(item["id"])
            filename = self._upload_slots.pop(file_id)[0]
            self.shared_files.append(
                SharedFile(
                    file_id=file_id,
                    channel=channel,
                    filename=filename,
                    title=str(item.get("title") or filename),
                    data=self.uploads[file_id],
                    token=token,
                    thread_ts=str(args["thread_ts"]) if args.get("thread_ts") else None,
                    initial_comment=str(args.get("initial_comment") or ""),
                )
            )
        await self._notify()
        shared = [{"id": str(i["id"]), "title": i.get("title", "")} for i in files]
        return web.json_response({"ok": True, "files": shared})

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._upload_slots:
            return web.Response(status=404, text="unknown upload URL")
        self.uploads[file_id] = await request.read()
        await self._notify()
        return web.Response(text="OK - " + str(len(self.uploads[file_id])))

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append(Posted(request.path, body))
        await self._notify()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})

        async def feed() -> None:
            while True:
                await ws.send_json(await self._envelopes.get())

        sender = asyncio.create_task(feed())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(msg.data))
                    await self._notify()
        finally:
            sender.cancel()
        return ws


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return args
    if request.content_type == "application/json":
        body = await request.json()
        args.update(body if isinstance(body, dict) else {})
    elif request.content_type == "multipart/form-data":
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    else:
        args.update(parse_qsl((await request.read()).decode()))
    return args


def _token(request: web.Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ")
    token = args.get("token")
    return str(token) if token else None


def _true(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _metadata(value: Any) -> dict[str, Any] | None:
    """Message metadata as chat.postMessage takes it: an object, or its JSON in a form field."""
    if isinstance(value, str) and value:
        value = json.loads(value)
    if not isinstance(value, dict):
        return None
    return {"event_type": value.get("event_type"), "event_payload": value.get("event_payload")}


def _error(code: str, status: int = 200) -> web.Response:
    return web.json_response({"ok": False, "error": code}, status=status)


def sample_alert(
    *,
    alert_id: str = "a1",
    story_id: str = "s1",
    channel: str = "C1",
    team_id: str = "slack:T1",
    kind: str = "new",
    outlets: tuple[str, ...] = ("BBC",),
    headline: str = "Witkoff meets Umerov in Miami on security guarantees",
    summary: str = "US envoy Steve Witkoff met Ukraine's Rustem Umerov. Talks covered Donbas.",
    severity: str = "normal",
    matched: tuple[str, ...] = ("witkoff", "security guarantees"),
) -> Any:
    """An Alert as the pipeline would queue it, to send to the fake."""
    from datetime import UTC, datetime, timedelta

    from peacewatch.models import Alert, AlertKind, Destination, Severity, SourceRef

    start = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    sources = tuple(
        SourceRef(
            outlet=name,
            source=f"{name.lower().replace(' ', '')}.example",
            link=f"https://{name.lower().replace(' ', '')}.example/{story_id}/{i}",
            published=start + timedelta(minutes=10 * i),
            title=headline,
        )
        for i, name in enumerate(outlets)
    )
    return Alert(
        alert_id=alert_id,
        team_id=team_id,
        rule_id="witkoff",
        story_id=story_id,
        article_id=f"art-{alert_id}",
        destination=Destination("slack", channel),
        headline=headline,
        summary=summary,
        link=sources[-1].link if sources else "https://example.org/",
        matched=matched,
        entities=("witkoff", "umerov"),
        sources=sources,
        severity=Severity(severity),
        kind=AlertKind(kind),
        outlet_count=len(outlets),
        outlets=outlets,
        created=start,
    )
