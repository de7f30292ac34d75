"""The bot's HTTP server: /healthz, /metrics, WebSub callbacks, and the chat adapters' routes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from peacewatch import metrics
from peacewatch.status import DestinationHealth, Status, delivery_health

if TYPE_CHECKING:
    from peacewatch.watchers.websub import WebSub

log = logging.getLogger(__name__)

StatusSource = Callable[[], Awaitable[Status]]
DeliverySource = Callable[[], Awaitable[Sequence[DestinationHealth]]]
_READ_CHUNK = 64 * 1024


class HttpServer:
    """``/healthz`` answers 200 while the process and its store answer, whatever the chat
    platforms do; its body says whether delivery is ``ok`` or ``degraded`` (and where).
    ``/metrics`` is the process's Prometheus registry with the deployment's health figures."""

    def __init__(
        self, host: str, port: int, status: StatusSource, delivery: DeliverySource | None = None
    ) -> None:
        """``delivery``: the destinations' health alone, which /healthz reads instead of the
        whole ``status`` (the feeds' health too) when given."""
        self._host = host
        self._port = port
        self._status = status
        self._delivery = delivery
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._prometheus)
        self._runner: web.AppRunner | None = None
        self.port = port

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            if self._delivery is not None:
                health = delivery_health(await self._delivery())
            else:
                health = (await self._status()).health()
        except Exception as exc:  # health must answer, whatever is broken
            log.warning("health check failed: %s: %s", type(exc).__name__, exc)
            return web.json_response({"ok": False, "error": type(exc).__name__}, status=503)
        return web.json_response({"ok": True, **health})

    async def _prometheus(self, request: web.Request) -> web.Response:
        status = await self._status()
        body = metrics.exposition(
            status.metrics(),
            [d.destination for d in status.failing],
            {d.destination: d.waiting for d in status.destinations},
        )
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    def mount_websub(self, websub: WebSub) -> None:
        """Serve WebSub callbacks at ``/websub/TOKEN``: the hub's checks of intent (GET) and
        its pushes (POST to an active subscription, else 404 before any of the body is read;
        body capped at ``websub.max_push_bytes``, not compressed)."""

        async def check(request: web.Request) -> web.Response:
            params = {key: request.query[key] for key in request.query}
            answer = await websub.verify(request.match_info["token"], params)
            return web.Response(status=answer.status, text=answer.body)

        async def push(request: web.Request) -> web.Response:
            # The callback is looked up first: a push to no active subscription costs no read.
            sub = await websub.push_target(request.match_info["token"])
            if sub is None:
                return web.Response(status=404)
            encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding not in ("identity", ""):
                metrics.WEBSUB_PUSHES.labels(result="unreadable").inc()
                return web.Response(status=415, text="send the body uncompressed\n")
            cap = websub.max_push_bytes
            body = bytearray()
            if request.content_length is None or request.content_length <= cap:
                while len(body) <= cap and (chunk := await request.content.read(_READ_CHUNK)):
                    body += chunk
            if len(body) > cap or (request.content_length or 0) > cap:
                metrics.WEBSUB_PUSHES.labels(result="too_large").inc()
                log.warning("WebSub push refused: body over %d bytes", cap)
                return web.Response(status=413, text=f"the body is over {cap} bytes\n")
            answer = await websub.receive(
                sub, bytes(body), request.headers.get("Content-Type"),
                request.headers.get("X-Hub-Signature"),
            )  # fmt: skip
            return web.Response(status=answer.status, text=answer.body or None)

        self.app.router.add_get("/websub/{token}", check)
        self.app.router.add_post("/websub/{token}", push)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
