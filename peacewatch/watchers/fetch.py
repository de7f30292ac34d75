"""Fetch one feed URL over HTTP with aiohttp, treating the server as hostile.

One :class:`Fetcher` (one ``ClientSession``, one connector) serves the whole process. A fetch:

* checks the URL with :func:`~peacewatch.watchers.guard.check_url`, and the connector resolves
  names through :class:`~peacewatch.watchers.guard.GuardedResolver`, so only allowed addresses
  are ever connected to;
* sends ``If-None-Match`` / ``If-Modified-Since`` when validators are known; a 304 is a normal
  result (``not_modified=True``);
* follows redirects itself, re-checking every hop, up to ``max_redirects``;
* runs under one total deadline (``asyncio.timeout``) covering connection, redirects and body,
  because a per-read timeout never stops a server that drips one byte a second;
* waits first for one of ``per_host_concurrency`` slots of the URL's host (outside the
  deadline: waiting for a busy host is not the host being slow), so that many feeds of one
  host, such as news-search feeds, never hit it with more fetches at once;
* refuses a ``Content-Length`` over the wire cap before reading, stops a streamed body at the
  cap, and inflates gzip/deflate itself in bounded steps so a gzip bomb is stopped at the
  decoded cap without ever being inflated further.

Environment proxies are ignored (``trust_env=False``): a proxy would connect on our behalf to
addresses the guard never saw. Cookies are not kept between fetches.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from dataclasses import dataclass
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from peacewatch.errors import FeedError, FetchTimeout, HttpStatusError, TooLarge
from peacewatch.watchers.guard import GuardedResolver, GuardPolicy, check_url, redact_url
from peacewatch.watchers.hosts import HostLimiter

__all__ = ["FetchLimits", "FetchResult", "Fetcher"]

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "peacewatch/0.1 (+https://github.com/peacewatch/peacewatch)"
# Only what we decode ourselves; brotli and zstd are never advertised, so a server that sends
# them anyway gets a clear error instead of undecoded bytes.
ACCEPT_ENCODING = "gzip, deflate"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024
# Largest piece inflated in one step: bounds how far past the cap a bomb can get.
_INFLATE_STEP = 64 * 1024
_CHECKED_URLS = 50_000
"""URLs whose check is remembered at most (then forgotten all at once and checked again)."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Caps on one fetch; the defaults suit news feeds."""

    max_body_bytes: int = 5 * 2**20
    max_decoded_bytes: int = 16 * 2**20
    total_timeout: float = 20.0
    connect_timeout: float = 10.0
    max_redirects: int = 5
    per_host_concurrency: int = 4
    """Fetches of one host name at once; a redirect to another host is also held to this
    many connections there by the connector."""

    def __post_init__(self) -> None:
        if self.per_host_concurrency < 1:
            raise ValueError(
                f"per_host_concurrency must be at least 1, not {self.per_host_concurrency}"
            )


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch: 200 with the decoded body, or 304 with an empty one."""

    status: int
    not_modified: bool
    body: bytes
    url: str
    etag: str | None
    last_modified: str | None
    content_type: str | None
    elapsed: float
    links: str | None = None
    """The response's ``Link`` headers joined (``<URL>; rel="hub"``: WebSub discovery)."""


class _Inflater:
    """Decode a gzip or deflate body chunk by chunk, never producing more than ``cap`` bytes."""

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._cap = cap
        self._url = url
        self._z: zlib._Decompress | None = None
        self._pending = b""  # deflate: bytes held until the header tells zlib from raw deflate
        self._parts: list[bytes] = []
        self.size = 0

    def _new_decompressor(self, head: bytes) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" should be zlib-wrapped (RFC 9110) but some servers send raw deflate.
        wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> None:
        if self._z is None:
            self._pending += data
            if len(self._pending) < 2:
                return
            data, self._pending = self._pending, b""
            self._z = self._new_decompressor(data)
        self._inflate(data)

    def _inflate(self, data: bytes) -> None:
        z = self._z
        assert z is not None
        # Each round consumes input or emits a full step, so the loop ends; the bound is a guard.
        for _ in range(len(data) + self._cap // _INFLATE_STEP + 3):
            if z.eof:
                rest = z.unused_data + data
                if not self._gzip or not rest.strip(b"\0"):
                    return  # trailing padding after the stream is harmless
                # Another gzip member follows (concatenated gzip is valid).
                z = self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = rest
            try:
                out = z.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                raise FeedError(f"corrupt compressed body from {self._url}: {exc}") from None
            if out:
                self.size += len(out)
                if self.size > self._cap:
                    raise TooLarge(
                        f"decompressed body of {self._url} is over {self._cap} bytes; aborted"
                    )
                self._parts.append(out)
            data = z.unconsumed_tail
            if not data and len(out) < _INFLATE_STEP and not (z.eof and z.unused_data):
                return
        raise FeedError(f"compressed body of {self._url} did not decode in bounded steps")

    def finish(self) -> bytes:
        if self._z is None and self._pending:
            data, self._pending = self._pending, b""
            self._z = self._new_decompressor(data)
            self._inflate(data)
        if self._z is not None and not self._z.eof:
            raise FeedError(f"compressed body of {self._url} is truncated")
        return b"".join(self._parts)


class _Identity:
    def __init__(self, cap: int, url: str) -> None:
        self._cap = cap
        self._url = url
        self._parts: list[bytes] = []
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._cap:
            raise TooLarge(f"body of {self._url} is over {self._cap} bytes; aborted")
        self._parts.append(data)

    def finish(self) -> bytes:
        return b"".join(self._parts)


class Fetcher:
    """Fetches feeds through the URL guard, with caps; one instance per process.

    Use as ``async with Fetcher(policy) as fetcher: await fetcher.fetch(url)``, or call
    :meth:`close` when done. ``dns`` replaces the resolver the guard wraps (aiohttp's threaded
    resolver by default), e.g. for split-horizon DNS or tests.
    """

    def __init__(
        self,
        policy: GuardPolicy,
        limits: FetchLimits = FetchLimits(),
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        dns: AbstractResolver | None = None,
    ) -> None:
        self._policy = policy
        self._limits = limits
        self._user_agent = user_agent
        self._dns = dns
        self._session: aiohttp.ClientSession | None = None
        self._hosts = HostLimiter(limits.per_host_concurrency)
        self._urls: dict[str, tuple[str, str]] = {}

    async def __aenter__(self) -> Fetcher:
        self._get_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its connections; the fetcher can not be used afterwards."""
        if self._session is not None:
            await self._session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        # Built lazily: aiohttp wants a running event loop when the session is created.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self._policy, self._dns),
                limit_per_host=self._limits.per_host_concurrency,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self._limits.connect_timeout
                ),
                auto_decompress=False,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self._user_agent, "Accept": ACCEPT},
            )
        if self._session.closed:
            raise FeedError("the fetcher is closed")
        return self._session

    async def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url``; conditional when ``etag`` or ``last_modified`` is given.

        Returns a 200 result with the decoded body, or a 304 result (``not_modified``). Raises
        ``UrlRefused`` (the URL, a redirect target or a resolved address is not allowed),
        ``FetchTimeout`` (the total deadline passed), ``TooLarge`` (a body cap was hit),
        ``HttpStatusError`` (4xx/5xx) and ``FeedError`` for anything else (connection failure,
        too many redirects, an unsupported or corrupt encoding).
        """
        current, host = self._checked(url)
        session = self._get_session()
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._hosts.slot(host):
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._limits.total_timeout):
                    result = await self._follow(session, current, headers, started)
            except TimeoutError as exc:
                # aiohttp's connect timeout is a TimeoutError too; both mean the server was slow.
                raise FetchTimeout(
                    f"{redact_url(url)}: no complete answer within {self._limits.total_timeout:g} s"
                ) from exc
        log.debug(
            "fetched %s: %d, %d bytes in %.3f s",
            result.url,
            result.status,
            len(result.body),
            result.elapsed,
        )
        return result

    def _checked(self, url: str) -> tuple[str, str]:
        """``check_url`` of ``url`` and its host, remembered: the same feeds are fetched again
        and again, and the check depends only on the text and the policy. Raises UrlRefused."""
        found = self._urls.get(url)
        if found is None:
            current = check_url(url, self._policy)
            found = (current, (URL(current).host or "").lower())
            if len(self._urls) >= _CHECKED_URLS:
                self._urls.clear()
            self._urls[url] = found
        return found

    def in_flight(self, host: str) -> int:
        """Fetches of ``host`` under way now (not counting those waiting for a slot)."""
        return self._hosts.active(host)

    async def _follow(
        self, session: aiohttp.ClientSession, url: str, headers: dict[str, str], started: float
    ) -> FetchResult:
        for _hop in range(self._limits.max_redirects + 1):
            try:
                async with session.get(url, headers=headers, allow_redirects=False) as resp:
                    if resp.status in _REDIRECTS:
                        url = self._next_hop(url, resp)
                        continue
                    return await self._finish(url, resp, headers, started)
            except aiohttp.ClientError as exc:
                if isinstance(exc, TimeoutError):
                    raise
                raise FeedError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from None
        raise FeedError(
            f"too many redirects (more than {self._limits.max_redirects}) "
            f"fetching {redact_url(url)}"
        )

    def _next_hop(self, url: str, resp: aiohttp.ClientResponse) -> str:
        location = resp.headers.get("Location")
        if not location:
            raise FeedError(f"redirect {resp.status} without Location from {url}")
        try:
            target = str(URL(url).join(URL(location)))
        except ValueError:
            target = location  # check_url reports it as invalid
        log.debug("redirect %d from %s to %s", resp.status, url, redact_url(target))
        return check_url(target, self._policy)

    async def _finish(
        self,
        url: str,
        resp: aiohttp.ClientResponse,
        sent: dict[str, str],
        started: float,
    ) -> FetchResult:
        etag = resp.headers.get("ETag")
        last_modified = resp.headers.get("Last-Modified")
        if resp.status == 304:
            return FetchResult(
                status=304,
                not_modified=True,
                body=b"",
                url=url,
                etag=etag or sent.get("If-None-Match"),
                last_modified=last_modified or sent.get("If-Modified-Since"),
                content_type=resp.headers.get("Content-Type"),
                elapsed=time.monotonic() - started,
            )
        if resp.status >= 400:
            raise HttpStatusError(resp.status, url)
        if resp.status != 200:
            raise FeedError(f"unexpected HTTP status {resp.status} from {url}")
        body = await self._read_body(url, resp)
        return FetchResult(
            status=200,
            not_modified=False,
            body=body,
            url=url,
            etag=etag,
            last_modified=last_modified,
            content_type=resp.headers.get("Content-Type"),
            elapsed=time.monotonic() - started,
            links=", ".join(resp.headers.getall("Link", ())) or None,
        )

    async def _read_body(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        wire_cap = self._limits.max_body_bytes
        declared = resp.content_length
        if declared is not None and declared > wire_cap:
            raise TooLarge(f"{url} announces {declared} bytes, over the cap of {wire_cap}")
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        decoder: _Inflater | _Identity
        if encoding in ("gzip", "x-gzip", "deflate"):
            decoder = _Inflater(encoding, self._limits.max_decoded_bytes, url)
        elif encoding in ("identity", ""):
            decoder = _Identity(min(wire_cap, self._limits.max_decoded_bytes), url)
        else:
            raise FeedError(f"unsupported Content-Encoding {encoding!r} from {url}")
        received = 0
        async for chunk in resp.content.iter_chunked(_READ_CHUNK):
            received += len(chunk)
            if received > wire_cap:
                raise TooLarge(f"body of {url} is over {wire_cap} bytes on the wire; aborted")
            decoder.feed(chunk)
        return decoder.finish()
