"""The bot's HTTP server: /healthz, /metrics, and the routes chat adapters add (Slack HTTP mode)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

StatusSource = Callable[[], Awaitable[dict[str, float]]]


class HttpServer:
    def __init__(self, host: str, port: int, metrics: StatusSource) -> None:
        self._host = host
        self._port = port
        self._metrics = metrics
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._prometheus)
        self._runner: web.AppRunner | None = None
        self.port = port

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            await self._metrics()
        except Exception as exc:  # health must answer, whatever is broken
            return web.json_response({"ok": False, "error": type(exc).__name__}, status=503)
        return web.json_response({"ok": True})

    async def _prometheus(self, request: web.Request) -> web.Response:
        values = await self._metrics()
        lines = []
        for name, value in sorted(values.items()):
            lines.append(f"# TYPE peacewatch_{name} gauge")
            lines.append(f"peacewatch_{name} {value}")
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

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
