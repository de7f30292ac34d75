"""The bot's HTTP server: /healthz, /metrics, and the routes chat adapters add (Slack HTTP mode)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from peacewatch import metrics
from peacewatch.status import Status

log = logging.getLogger(__name__)

StatusSource = Callable[[], Awaitable[Status]]


class HttpServer:
    """``/healthz`` answers 200 while the process and its store answer, whatever the chat
    platforms do; its body says whether delivery is ``ok`` or ``degraded`` (and where).
    ``/metrics`` is the process's Prometheus registry with the deployment's health figures."""

    def __init__(self, host: str, port: int, status: StatusSource) -> None:
        self._host = host
        self._port = port
        self._status = status
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._prometheus)
        self._runner: web.AppRunner | None = None
        self.port = port

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            status = await self._status()
        except Exception as exc:  # health must answer, whatever is broken
            log.warning("health check failed: %s: %s", type(exc).__name__, exc)
            return web.json_response({"ok": False, "error": type(exc).__name__}, status=503)
        return web.json_response({"ok": True, **status.health()})

    async def _prometheus(self, request: web.Request) -> web.Response:
        status = await self._status()
        body = metrics.exposition(
            status.metrics(),
            [d.destination for d in status.failing],
            {d.destination: d.waiting for d in status.destinations},
        )
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

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
