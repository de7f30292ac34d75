"""The slack-bolt app: /peacewatch and the alert buttons, answered by the command service."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from peacewatch.bot.replies import Caller, Reply
from peacewatch.bot.slack_adapter.blocks import (
    ACTION_MUTE_STORY,
    ACTION_NOT_RELEVANT,
    FEEDBACK_ACTIONS,
    parse_button_value,
    reply_message,
)
from peacewatch.bot.slack_adapter.editor import RuleEditorHandlers
from peacewatch.bot.slack_adapter.homes import HomePublisher
from peacewatch.bot.slack_adapter.oauth import RedisInstallationStore, RedisOAuthStateStore

if TYPE_CHECKING:
    from peacewatch.services.commands import CommandService

log = logging.getLogger(__name__)

COMMAND = "/peacewatch"
BOT_SCOPES = (
    "chat:write",
    "chat:write.public",
    "commands",
    "users:read",
    "channels:read",
    "files:write",
    "channels:history",  # find an alert whose post was interrupted (public channels)
    "groups:history",  # ... and private ones
    "im:write",  # personal follows: open the user's direct messages
    "im:history",  # ... and find an interrupted one there
)
ADMIN_CACHE_SECONDS = 120.0
ERROR_TEXT = "Sorry, something went wrong on our side; please try again in a minute."


@dataclass(frozen=True, slots=True)
class SlackUser:
    name: str
    admin: bool


class AdminCache:
    """What ``users.info`` said about a user, kept briefly so a burst of commands costs one call.

    A failed lookup is not cached and counts as "not an admin": refusing a change is safe,
    allowing one is not.
    """

    def __init__(
        self, ttl: float = ADMIN_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, SlackUser]] = {}

    async def lookup(self, client: AsyncWebClient, team_id: str, user_id: str) -> SlackUser:
        key = (team_id, user_id)
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return SlackUser(name="", admin=False)
        data = response.get("user") or {}
        user = SlackUser(
            name=str(data.get("name") or ""),
            admin=bool(data.get("is_admin")) or bool(data.get("is_owner")),
        )
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + self._ttl, user)
        return user


@dataclass(frozen=True, slots=True)
class BoltConfig:
    """What the bolt app needs; built from Settings by the adapter."""

    base_url: str
    signing_secret: str
    bot_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    http_mode: bool = True


def build_bolt_app(
    config: BoltConfig,
    commands: CommandService,
    installations: RedisInstallationStore | None,
    states: RedisOAuthStateStore | None,
    admins: AdminCache | None = None,
    homes: HomePublisher | None = None,
) -> AsyncApp:
    """A bolt app for one workspace (bot token) or many (OAuth, installations in Redis)."""
    oauth: AsyncOAuthSettings | None = None
    if config.client_id and config.client_secret and installations is not None:
        oauth = AsyncOAuthSettings(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scopes=list(BOT_SCOPES),
            installation_store=installations,
            installation_store_bot_only=True,
            state_store=states,
        )
        client = AsyncWebClient(base_url=config.base_url)
    else:
        client = AsyncWebClient(token=config.bot_token, base_url=config.base_url)
    app = AsyncApp(
        client=client,
        signing_secret=config.signing_secret,
        oauth_settings=oauth,
        request_verification_enabled=config.http_mode,
        logger=logging.getLogger("peacewatch.bot.slack_adapter.bolt"),
    )
    SlackHandlers(commands, admins or AdminCache(), homes or HomePublisher(commands)).register(app)
    return app


class SlackHandlers:
    """Bolt listeners: acknowledge at once, then answer through ``respond`` (response_url)."""

    def __init__(self, commands: CommandService, admins: AdminCache, homes: HomePublisher) -> None:
        self._commands = commands
        self._admins = admins
        self._homes = homes

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self.on_command)
        app.action(ACTION_MUTE_STORY)(self.on_feedback)
        app.action(ACTION_NOT_RELEVANT)(self.on_feedback)
        app.event("app_home_opened")(self.on_home_opened)
        RuleEditorHandlers(self._commands, self._body_caller, self._homes).register(app)

    async def _body_caller(self, client: AsyncWebClient, body: dict[str, Any]) -> Caller:
        """The caller of an interaction (a button, a modal's input or submission)."""
        user = body.get("user") or {}
        team = str((body.get("team") or {}).get("id", "") or user.get("team_id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        return await self._caller(
            client, team, str(user.get("id", "")), channel, str(user.get("username", ""))
        )

    async def _caller(
        self, client: AsyncWebClient, team_id: str, user_id: str, channel_id: str, name: str
    ) -> Caller:
        user = await self._admins.lookup(client, team_id, user_id)
        return Caller(
            platform="slack",
            team_id=f"slack:{team_id}",
            user_id=user_id,
            channel=f"slack:{channel_id}" if channel_id else "",
            platform_admin=user.admin,
            user_name=name or user.name,
        )

    async def on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        # Slack shows an error after 3 s without an ack; the answer follows via response_url.
        await ack()
        try:
            caller = await self._caller(
                client,
                str(command.get("team_id", "")),
                str(command.get("user_id", "")),
                str(command.get("channel_id", "")),
                str(command.get("user_name", "")),
            )
            text = str(command.get("text", ""))
            reply = await self._commands.handle_text(caller, text)
        except Exception:
            log.exception("slash command failed")
            await respond(text=ERROR_TEXT, response_type="ephemeral")
            return
        if not reply.error and self._commands.changes_state(text):
            self._homes.refresh(client, caller.team_id)
        await self._send(reply, respond, client, str(command.get("channel_id", "")))
        if not reply.error and (whose := self._commands.whose_follows(caller, text)):
            await self._refresh_follower(client, caller, whose)  # after the answer

    async def _refresh_follower(self, client: AsyncWebClient, caller: Caller, user: str) -> None:
        """Refresh the home of ``user``, whose follows ``caller`` changed (their own, or a
        member's as an admin)."""
        follower = caller
        if user != caller.user_id:
            team = caller.team_id.removeprefix("slack:")
            try:
                follower = await self._caller(client, team, user, "", "")
            except Exception:  # their tab refreshes when they open it
                log.exception("App Home refresh of %s failed", user)
                return
        self._homes.refresh_user(client, follower)

    async def on_home_opened(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Publish the user's App Home (the Messages tab opening is not ours to answer)."""
        if event.get("tab", "home") != "home":
            return
        try:
            caller = await self._caller(
                client, str(body.get("team_id", "")), str(event.get("user", "")), "", ""
            )
            await self._homes.publish(client, caller)
        except Exception:  # the tab keeps its last view; the next open tries again
            log.exception("App Home publish failed")

    async def on_feedback(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        kind = FEEDBACK_ACTIONS.get(str(action.get("action_id", "")))
        try:
            story_id, alert_id = parse_button_value(str(action.get("value", "")))
        except ValueError:
            kind = None
        if kind is None:
            await respond(
                text="That button is not ours.", response_type="ephemeral", replace_original=False
            )
            return
        feedback: Literal["mute_story", "not_relevant"] = (
            "mute_story" if kind == "mute_story" else "not_relevant"
        )
        try:
            caller = await self._caller(
                client,
                str((body.get("team") or {}).get("id", "")),
                str((body.get("user") or {}).get("id", "")),
                str((body.get("channel") or {}).get("id", "")),
                str((body.get("user") or {}).get("username", "")),
            )
            reply = await self._commands.feedback(caller, story_id, feedback, alert_id)
        except Exception:
            log.exception("feedback button failed")
            await respond(text=ERROR_TEXT, response_type="ephemeral", replace_original=False)
            return
        message = reply_message(reply)
        await respond(
            text=message.text,
            blocks=list(message.blocks),
            response_type="ephemeral",
            replace_original=False,
        )

    async def _send(
        self, reply: Reply, respond: AsyncRespond, client: AsyncWebClient, channel_id: str
    ) -> None:
        message = reply_message(reply)
        response_type = "ephemeral" if reply.ephemeral or reply.error else "in_channel"
        await respond(text=message.text, blocks=list(message.blocks), response_type=response_type)
        if reply.image is None or not channel_id:
            return
        try:
            await client.files_upload_v2(
                channel=channel_id,
                content=reply.image,
                filename=reply.image_name or "chart.png",
                title=reply.title,
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("chart upload failed: %s", error)
            await respond(
                text=f"The chart could not be uploaded here ({error}); invite the bot first.",
                response_type="ephemeral",
            )
