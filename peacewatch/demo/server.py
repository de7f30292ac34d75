"""A local feed server for the demo: serves the shipped sample feeds on 127.0.0.1 with ETags."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class LocalFeedServer:
    """Serves ``path -> bytes``; answers 304 to a matching If-None-Match. Counts requests."""

    feeds: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    def set(self, path: str, body: bytes, content_type: str) -> None:
        self.feeds[path] = (body, content_type)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path.lstrip("/")
        if path not in self.feeds:
            self.requests.append((path, 404))
            return web.Response(status=404)
        body, content_type = self.feeds[path]
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        if request.headers.get("If-None-Match") == etag:
            self.requests.append((path, 304))
            return web.Response(status=304, headers={"ETag": etag})
        self.requests.append((path, 200))
        return web.Response(body=body, content_type=content_type, headers={"ETag": etag})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
