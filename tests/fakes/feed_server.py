"""A real HTTP server on 127.0.0.1 that serves feeds, and misbehaves on request, for tests.

    async with FeedServer() as server:
        server.set_feed("/rss", b"<rss>...</rss>")
        url = server.url("/rss")
        ...
        assert server.requests_for("/rss")[-1].headers.get("If-None-Match")

Every path is configured with one ``set_*`` call; unknown paths answer 404. ``concurrent``
counts the requests being answered at once (now and the most seen); a gauge given to several
servers counts across them. Misbehaving paths
(slow drip, hang, gzip bomb) stay bounded: they end when the client goes away or the server
stops, whichever comes first, and the bomb is compressed lazily, chunk by chunk, so the server
never holds more than one chunk of it.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import gzip
import hashlib
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The bomb is written 64 MiB (decoded) at a time, about 64 KiB on the wire: the size of one read
# by a client, so a client that inflates a whole read at once shows it in its memory.
_BOMB_GROUP = 64 * 2**20
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
_FINAL_EMPTY_BLOCK = b"\x03\x00"


class Gauge:
    """Requests being answered at once: ``now``, and ``peak``, the most seen together."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self.now -= 1


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the server received."""

    path: str
    method: str
    headers: CIMultiDictProxy[str]
    time: float  # time.monotonic() when the request arrived
    peer: str = ""  # the client's "host:port"; one value per connection, so reuse shows


class FeedServer:
    """An aiohttp.web server on ``host`` (127.0.0.1; any 127.x.y.z works on Linux) with an
    OS-chosen port. ``shared`` gauges count this server's requests along with others'."""

    def __init__(self, host: str = "127.0.0.1", shared: tuple[Gauge, ...] = ()) -> None:
        self.host = host
        self.concurrent = Gauge()
        self._gauges = (self.concurrent, *shared)
        self._routes: dict[str, Handler] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()
        self.requests: list[RequestRecord] = []

    async def __aenter__(self) -> FeedServer:
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
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self._port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        assert self._port is not None, "start() the server first"
        return self._port

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def requests_for(self, path: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.path == path]

    def first_requests(self) -> dict[str, float]:
        """Path -> when its first request arrived (``time.monotonic()``)."""
        first: dict[str, float] = {}
        for record in self.requests:
            first.setdefault(record.path, record.time)
        return first

    # -- configuration -------------------------------------------------------------------------

    def set_handler(self, path: str, handler: Handler) -> None:
        """Serve ``path`` with any aiohttp handler (for cases the other setters do not cover)."""
        self._routes[path] = handler

    def set_feed(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml",
        etag: bool = True,
        last_modified: str | None = None,
        *,
        gzip_encode: bool = False,
        chunked: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Serve ``body`` with 200, and 304 to a request whose validators match.

        ``etag`` adds an ETag derived from the body; ``last_modified`` (an HTTP date) adds
        Last-Modified and honours If-Modified-Since. ``gzip_encode`` sends the body gzipped to
        clients that accept gzip; ``chunked`` streams it without a Content-Length. ``delay``
        makes a slow server: it answers that many seconds after the request (or when the server
        stops).
        """
        tag = f'"{hashlib.sha256(body).hexdigest()[:20]}"' if etag else None
        encoded = gzip.compress(body) if gzip_encode else body

        async def handler(request: web.Request) -> web.StreamResponse:
            if delay and await self._stopped_within(delay):
                return web.Response(status=503)
            headers: dict[str, str] = {"Content-Type": content_type}
            if tag is not None:
                headers["ETag"] = tag
            if last_modified is not None:
                headers["Last-Modified"] = last_modified
            if _not_modified(request, tag, last_modified):
                return web.Response(status=304, headers=headers)
            payload = body
            if gzip_encode and "gzip" in request.headers.get("Accept-Encoding", ""):
                headers["Content-Encoding"] = "gzip"
                payload = encoded
            if not chunked:
                return web.Response(body=payload, headers=headers)
            resp = web.StreamResponse(headers=headers)
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for start in range(0, len(payload), 16 * 1024):
                await resp.write(payload[start : start + 16 * 1024])
            await resp.write_eof()
            return resp

        self._routes[path] = handler

    def set_status(self, path: str, status: int) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, text=f"status {status}\n")

        self._routes[path] = handler

    def set_redirect(self, path: str, location: str, status: int = 302) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self._routes[path] = handler

    def set_slow(self, path: str, bytes_per_second: float, total: int) -> None:
        """Announce ``total`` bytes, then send them one at a time at ``bytes_per_second``."""
        interval = 1.0 / bytes_per_second

        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            resp.content_length = total
            await resp.prepare(request)
            for _ in range(total):
                if await self._stopped_within(interval):
                    break
                try:
                    await resp.write(b" ")
                except (ConnectionError, RuntimeError):
                    break  # the client gave up
            return resp

        self._routes[path] = handler

    def set_gzip_bomb(self, path: str, decoded_size: int) -> None:
        """Send ``decoded_size`` zero bytes gzipped (about 1/1000 of that on the wire)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(
                headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
            )
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            try:
                await resp.write(_GZIP_HEADER)
                left = decoded_size
                while left > 0 and not self._stopping.is_set():
                    step = min(left, _BOMB_GROUP)
                    left -= step
                    await resp.write(_zero_deflate(step))
                    await asyncio.sleep(0)  # let the client read; generation stops when it quits
                crc = 0
                for offset in range(0, decoded_size, _BOMB_GROUP):
                    crc = zlib.crc32(bytes(min(_BOMB_GROUP, decoded_size - offset)), crc)
                await resp.write(_FINAL_EMPTY_BLOCK + struct.pack("<II", crc, decoded_size % 2**32))
                await resp.write_eof()
            except (ConnectionError, RuntimeError):
                pass  # the client gave up, as it should
            return resp

        self._routes[path] = handler

    def set_hang(self, path: str) -> None:
        """Accept the request and send nothing until the server stops."""

        async def handler(request: web.Request) -> web.StreamResponse:
            await self._stopping.wait()
            return web.Response(status=503)

        self._routes[path] = handler

    # -- internals -----------------------------------------------------------------------------

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            RequestRecord(
                path=request.path,
                method=request.method,
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                time=time.monotonic(),
                peer=_peer(request),
            )
        )
        handler = self._routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found\n")
        for gauge in self._gauges:
            gauge.enter()
        try:
            return await handler(request)
        finally:
            for gauge in self._gauges:
                gauge.leave()


@functools.cache
def _zero_deflate(size: int) -> bytes:
    """Raw deflate of ``size`` zero bytes, ending byte-aligned on a full flush.

    A full flush resets the compressor, so copies of this segment can be chained into one valid
    deflate stream; caching it lets the server send a bomb of any size almost for free.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = bytes(min(size, 2**20))
    parts = []
    for offset in range(0, size, len(block)):
        parts.append(compressor.compress(block[: min(len(block), size - offset)]))
    parts.append(compressor.flush(zlib.Z_FULL_FLUSH))
    return b"".join(parts)


def _peer(request: web.Request) -> str:
    transport = request.transport
    name = transport.get_extra_info("peername") if transport is not None else None
    return f"{name[0]}:{name[1]}" if name else ""


def _not_modified(request: web.Request, tag: str | None, last_modified: str | None) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if tag is None:
            return False
        candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
        return "*" in candidates or tag in candidates
    since = request.headers.get("If-Modified-Since")
    if since is None or last_modified is None:
        return False
    try:
        return email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(
            last_modified
        )
    except (TypeError, ValueError):
        return False
