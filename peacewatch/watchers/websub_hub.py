"""Send WebSub subscription requests to hubs, treating each hub URL as hostile (like a feed URL).

A hub URL comes from a feed we do not control, so it goes through the same gates as a feed
fetch: :func:`~peacewatch.watchers.guard.check_url` on the text of the URL, a connector that
resolves names through :class:`~peacewatch.watchers.guard.GuardedResolver` (so only checked
addresses are connected to), one total deadline, no redirects followed, no environment proxy,
no cookies. Only the status of the hub's answer is kept: its body is never read, so a hub that
echoes the request (our secret included) cannot bring it into a log.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp.abc import AbstractResolver

from peacewatch.errors import FeedError, FetchTimeout
from peacewatch.watchers.fetch import DEFAULT_USER_AGENT, FetchLimits
from peacewatch.watchers.guard import GuardedResolver, GuardPolicy, check_url, redact_url

__all__ = ["HubAnswer", "HubClient"]

log = logging.getLogger(__name__)


class HubAnswer:
    """A hub's answer to a subscription request: its status (the body is not read)."""

    __slots__ = ("status",)

    def __init__(self, status: int) -> None:
        self.status = status

    @property
    def accepted(self) -> bool:
        """2xx: the hub will verify the request (202), or did already (204, older hubs)."""
        return 200 <= self.status < 300


class HubClient:
    """Posts ``hub.mode`` requests; one instance per process, :meth:`close` when done."""

    def __init__(
        self,
        policy: GuardPolicy,
        limits: FetchLimits | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        dns: AbstractResolver | None = None,
    ) -> None:
        self._policy = policy
        self._limits = limits or FetchLimits()
        self._user_agent = user_agent
        self._dns = dns
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:  # built lazily: aiohttp wants a running loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=GuardedResolver(self._policy, self._dns)),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self._limits.connect_timeout
                ),
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self._user_agent},
            )
        return self._session

    async def send(self, hub: str, form: dict[str, str]) -> HubAnswer:
        """POST ``form`` (form-encoded) to ``hub``. Raises ``UrlRefused`` for a hub the guard
        refuses, ``FetchTimeout`` past the deadline and ``FeedError`` when it cannot be
        reached; any HTTP answer, refusals and redirects included, is returned."""
        url = check_url(hub, self._policy)
        session = self._get_session()
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                async with session.post(url, data=form, allow_redirects=False) as resp:
                    return HubAnswer(resp.status)
        except TimeoutError as exc:
            raise FetchTimeout(
                f"hub {redact_url(url)}: no answer within {self._limits.total_timeout:g} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise FeedError(f"cannot reach hub {redact_url(url)}: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
