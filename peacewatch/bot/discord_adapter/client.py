"""The discord.py client: base URL, intents, rate-limit ceiling, and Discord errors as ours."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import discord
import discord.webhook.async_ as webhook_async
import yarl
from discord.backoff import ExponentialBackoff
from discord.gateway import DiscordWebSocket
from discord.http import Route

from peacewatch.errors import DeliveryError, PermanentDelivery, RetryLater
from peacewatch.settings import Settings

if TYPE_CHECKING:
    from peacewatch.services.commands import CommandService

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://discord.com/api/v10"

RATELIMIT_CEILING = 5.0
"""Longest rate-limit wait (seconds) sat out inside a request. discord.py sleeps through any
429 up to its ``max_ratelimit_timeout`` (30 s at least when set through the constructor);
a longer wait would stall every other channel behind one, so it surfaces as RetryLater."""

OUTAGE_RETRY = 30.0
"""How long a destination waits after an outage (5xx, connection refused, timeout)."""

# Discord's JSON error codes that mean "this destination is gone or forbids us".
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
MISSING_ACCESS = 50001
CANNOT_SEND_IN_NON_TEXT = 50008
MISSING_PERMISSIONS = 50013
THREAD_ALREADY_EXISTS = 160004


def api_base(settings: Settings) -> str:
    return (settings.discord_api_url or DEFAULT_API_URL).rstrip("/")


def apply_api_base(url: str) -> None:
    """Point every discord.py REST call (bot routes, webhooks, interaction callbacks) at ``url``.

    discord.py builds URLs from class attributes, so this is process-wide: all clients in this
    process talk to the same base URL.
    """
    base = url.rstrip("/")
    Route.BASE = base
    # The webhook module has its own Route class (interaction callbacks, follow-ups).
    vars(webhook_async)["Route"].BASE = base


def discord_intents() -> discord.Intents:
    """Guild events only: enough for app commands and buttons, no privileged intents."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


class PeacewatchClient(discord.Client):
    """A discord.py client that carries the command service for the app commands and buttons."""

    def __init__(
        self, commands: CommandService | None = None, application_id: int | None = None
    ) -> None:
        options: dict[str, Any] = (
            {} if application_id is None else {"application_id": application_id}
        )
        super().__init__(
            intents=discord_intents(),
            max_ratelimit_timeout=30.0,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        # Below discord.py's 30 s floor on purpose: see RATELIMIT_CEILING.
        self.http.max_ratelimit_timeout = RATELIMIT_CEILING
        self.commands = commands
        self.tree = discord.app_commands.CommandTree(self)
        self._login_lock = asyncio.Lock()

    async def ensure_login(self, token: str) -> None:
        """Log in over REST once (no gateway): enough to post alerts and answer interactions.

        Raises PermanentDelivery when Discord rejects the token, RetryLater when it is down.
        """
        async with self._login_lock:
            if self.user is not None:
                return
            try:
                await self.login(token)
            except discord.LoginFailure as exc:
                raise PermanentDelivery("Discord rejected the bot token (401)") from exc
            except Exception as exc:
                raise as_delivery_error(exc, "logging in") from exc

    async def use_advertised_gateway(self) -> None:
        """Connect to the gateway that the configured API advertises (``GET /gateway/bot``).

        discord.py otherwise dials wss://gateway.discord.gg whatever the REST base URL is.
        Like the base URL, this is process-wide (a class attribute of discord.py).
        """
        _shards, url, _limits = await self.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    async def run_gateway(self, token: str) -> None:
        """Log in (retrying with backoff while Discord is unreachable), then hold the gateway
        connection that brings commands and button presses; discord.py reconnects it."""
        backoff: ExponentialBackoff[Literal[False]] = ExponentialBackoff(base=2)
        while self.user is None:
            try:
                await self.ensure_login(token)
            except PermanentDelivery:
                log.error("Discord rejected DISCORD_TOKEN; the bot stays off")
                return
            except RetryLater as exc:
                delay = backoff.delay()
                log.warning("Discord login failed (%s); next try in %.0f s", exc, delay)
                await asyncio.sleep(delay)
        try:
            await self.use_advertised_gateway()
            await self.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the Discord gateway connection ended")


def error_code(exc: discord.HTTPException) -> int:
    return int(exc.code or 0)


def as_delivery_error(exc: BaseException, doing: str) -> DeliveryError:
    """Map what discord.py (or aiohttp under it) raised to RetryLater or PermanentDelivery."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, discord.RateLimited):
        return RetryLater(f"Discord rate limit while {doing}", retry_after=exc.retry_after)
    if isinstance(exc, discord.DiscordServerError):
        return RetryLater(f"Discord outage while {doing}: HTTP {exc.status}", OUTAGE_RETRY)
    if isinstance(exc, discord.HTTPException):
        return http_error(exc.status, error_code(exc), exc.text, doing, retry_after=OUTAGE_RETRY)
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return RetryLater(f"Discord unreachable while {doing}: {type(exc).__name__}", OUTAGE_RETRY)
    return RetryLater(f"unexpected {type(exc).__name__} while {doing}: {exc}", OUTAGE_RETRY)


def http_error(
    status: int, code: int, text: str, doing: str, retry_after: float = OUTAGE_RETRY
) -> DeliveryError:
    """The delivery error for an HTTP error answer of the Discord API."""
    what = (
        f"{doing}: HTTP {status}" + (f" code {code}" if code else "") + (f" {text}" if text else "")
    )
    if status == 429:
        return RetryLater(f"Discord rate limit while {what}", retry_after=retry_after)
    if status >= 500:
        return RetryLater(f"Discord outage while {what}", retry_after=OUTAGE_RETRY)
    if status == 401:
        return PermanentDelivery(f"Discord token revoked or invalid while {what}")
    # 403 Missing Access / Permissions, 404 Unknown Channel / Webhook, 400 a payload Discord
    # will never accept: retrying cannot help.
    return PermanentDelivery(f"Discord refused {what}")


def payload_of(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RetryLater(f"unexpected Discord answer: {str(data)[:200]}", OUTAGE_RETRY)
    return data
