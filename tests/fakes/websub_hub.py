"""A WebSub hub on 127.0.0.1 (port chosen by the OS) that does what a real hub does, for tests.

    async with FakeHub() as hub:
        feed_body = websub_rss(items, hub.url, topic)  # the feed advertises the hub
        ...                                             # a subscriber POSTs hub.mode=subscribe
        await hub.wait_for(lambda: bool(hub.active(topic)))
        statuses = await hub.publish(topic, body)      # signed with the subscriber's secret

A subscription request (form POST to ``/``) is answered 202 (``refuse_with`` another status,
with a body that echoes the request, secret first, as careless hubs do),
then verified as the spec says, at once (or, with ``auto_verify`` off, when the test calls
``verify_held``): a GET to the callback with ``hub.mode``, ``hub.topic``, ``hub.challenge``
and, to subscribe, ``hub.lease_seconds``; only a 2xx answer that echoes the challenge exactly
makes the subscription active (or ends it, to unsubscribe); a callback nothing answers at is
recorded as a check with status 0. ``publish`` POSTs content to every
active subscriber of a topic with ``X-Hub-Signature`` (right, or as a test asks); ``challenge``
sends any check of intent a test wants (a topic nobody asked for). Every request sent or
received is recorded; waits are on events, never on the clock.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web


@dataclass(frozen=True, slots=True)
class Verification:
    """One check of intent the hub sent, and what the subscriber answered."""

    mode: str
    callback: str
    topic: str
    status: int
    echoed: bool


@dataclass(frozen=True, slots=True)
class Active:
    """A verified subscription."""

    callback: str
    topic: str
    secret: str
    lease_seconds: int


class FakeHub:
    def __init__(self, lease_seconds: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        """Any 127.x.y.z works on Linux: a hub the subscriber's URL guard does not allow."""
        self.lease_seconds = lease_seconds
        """The lease granted (None: the one asked for, or 3600)."""
        self.refuse_with: int | None = None
        """Answer subscription requests with this status instead of 202 (and verify nothing)."""
        self.auto_verify = True
        """Verify each request as soon as it is answered; False holds them until
        :meth:`verify_held` (so a test can act while the subscriber waits)."""
        self.held: list[dict[str, str]] = []
        self.requests: list[dict[str, str]] = []
        """Every subscription request's form, in order."""
        self.verifications: list[Verification] = []
        self.subscriptions: dict[str, Active] = {}
        """Active subscriptions by callback URL."""
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._port: int | None = None

    async def __aenter__(self) -> FakeHub:
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
        app.router.add_post("/", self._subscription_request)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        assert self._port is not None, "start() the hub first"
        return f"http://{self.host}:{self._port}/"

    # -- what happened ---------------------------------------------------------------------------

    def active(self, topic: str) -> list[Active]:
        return [s for s in self.subscriptions.values() if s.topic == topic]

    def requests_for(self, mode: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r.get("hub.mode") == mode]

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (checked whenever the hub's state changes)."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(_wait(), limit)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- acting as the hub -----------------------------------------------------------------------

    async def challenge(
        self, callback: str, mode: str, topic: str, lease_seconds: int | None = 3600
    ) -> tuple[int, str, str]:
        """Send a check of intent to ``callback``: (status, body, the challenge sent)."""
        assert self._client is not None
        challenge = secrets.token_urlsafe(16)
        params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if lease_seconds is not None and mode == "subscribe":
            params["hub.lease_seconds"] = str(lease_seconds)
        _local(callback)
        async with self._client.get(callback, params=params) as resp:
            return resp.status, await resp.text(), challenge

    async def publish(
        self,
        topic: str,
        body: bytes,
        content_type: str = "application/rss+xml",
        *,
        method: str = "sha256",
        secret: str | None = None,
        signed: bool = True,
    ) -> list[int]:
        """POST ``body`` to each active subscriber of ``topic``, signed with ``method`` and the
        subscriber's secret (``secret`` signs with another one, ``signed=False`` not at all);
        the status each answered (0: nothing answers at its callback)."""
        assert self._client is not None
        statuses = []
        for sub in self.active(topic):
            headers = {"Content-Type": content_type, "Link": f'<{self.url}>; rel="hub"'}
            if signed:
                key = (secret if secret is not None else sub.secret).encode()
                headers["X-Hub-Signature"] = f"{method}={hmac.new(key, body, method).hexdigest()}"
            _local(sub.callback)
            try:
                async with self._client.post(sub.callback, data=body, headers=headers) as resp:
                    statuses.append(resp.status)
            except aiohttp.ClientConnectionError:
                statuses.append(0)  # nobody answers at that callback
        return statuses

    async def _subscription_request(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(form)
        await self._notify()
        if self.refuse_with is not None:
            echoed = sorted(form.items(), key=lambda kv: kv[0] != "hub.secret")
            text = "refused by the test: " + " ".join(f"{k}={v}" for k, v in echoed) + "\n"
            return web.Response(status=self.refuse_with, text=text)
        if not self.auto_verify:
            self.held.append(form)
            return web.Response(status=202)
        task = asyncio.create_task(self._verify(form))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    async def verify_held(self) -> None:
        """Verify the requests held while ``auto_verify`` was off."""
        held, self.held = self.held, []
        for form in held:
            await self._verify(form)

    async def _verify(self, form: dict[str, str]) -> None:
        """Verify the request after answering it, as real hubs do."""
        mode, topic = form.get("hub.mode", ""), form.get("hub.topic", "")
        callback = form.get("hub.callback", "")
        asked = int(form.get("hub.lease_seconds") or 3600)
        lease = self.lease_seconds if self.lease_seconds is not None else asked
        try:
            status, text, challenge = await self.challenge(callback, mode, topic, lease)
        except aiohttp.ClientConnectionError:  # nobody answers there: the check fails
            status, text, challenge = 0, "", "unanswered"
        echoed = 200 <= status < 300 and text == challenge
        self.verifications.append(Verification(mode, callback, topic, status, echoed))
        if echoed and mode == "subscribe":
            self.subscriptions[callback] = Active(
                callback, topic, form.get("hub.secret", ""), lease
            )
        elif echoed and mode == "unsubscribe":
            self.subscriptions.pop(callback, None)
        await self._notify()


def _local(url: str) -> None:
    """The hub only ever calls back to this machine, whatever a broken subscriber asks."""
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise AssertionError(f"refusing to call back to {url!r}: tests stay on loopback")
