"""The URL guard and the feed fetcher, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from peacewatch.errors import (
    FeedError,
    FetchTimeout,
    HttpStatusError,
    TooLarge,
    UrlRefused,
)
from peacewatch.watchers.fetch import Fetcher, FetchLimits
from peacewatch.watchers.guard import GuardedResolver, GuardPolicy, check_address, check_url
from tests.fakes.feed_server import FeedServer

LOCAL = GuardPolicy(allow_networks=("127.0.0.1/32",))
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Witkoff meets Umerov</title><link>https://example.org/a</link></item>
</channel></rss>"""


class StaticDNS(AbstractResolver):
    """A DNS stand-in: fixed answers per name, so tests control what a name resolves to."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"unknown name {host}")
        return [
            ResolveResult(
                hostname=host,
                host=addr,
                port=port,
                family=socket.AF_INET6 if ":" in addr else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for addr in self.table[host]
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


# -- the guard on its own ----------------------------------------------------------------------

REFUSED_URLS = [
    "http://127.0.0.1/feed",
    "http://127.8.9.10/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fd00::1]/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[fec0::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:c0a8:101::1]/",
    "http://[2001::1]/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_private_and_special_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_url(url, GuardPolicy())


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.org/",
        "ftp://example.org/feed.xml",
        "http://user:secret@example.org/feed",
        "http://token@example.org/feed",
        "http://example.org\\@127.0.0.1/",
        "http://exa mple.org/",
        "/relative/feed.xml",
        "http:///no-host",
    ],
)
def test_bad_schemes_credentials_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused) as info:
        check_url(url, GuardPolicy())
    assert "secret" not in str(info.value)


def test_public_urls_pass_and_are_normalised() -> None:
    policy = GuardPolicy()
    assert check_url("HTTPS://Example.ORG/feed.xml#top", policy) == "https://example.org/feed.xml"
    assert check_url("http://93.184.216.34/rss", policy) == "http://93.184.216.34/rss"
    assert check_url("http://[2606:4700::1111]/rss", policy) == "http://[2606:4700::1111]/rss"
    assert check_url("http://münchen.de/", policy) == "http://xn--mnchen-3ya.de/"


def test_ports_can_be_restricted() -> None:
    policy = GuardPolicy(allowed_ports=(80, 443))
    assert check_url("https://example.org/", policy)
    with pytest.raises(UrlRefused, match="port 6379"):
        check_url("http://example.org:6379/", policy)


def test_policy_allows_private_networks_but_never_metadata_or_unspecified() -> None:
    open_policy = GuardPolicy(allow_private=True)
    for ip in ("127.0.0.1", "10.0.0.7", "192.168.1.1", "100.64.0.1", "fd00::1", "::1"):
        check_address(ip, open_policy)
    for ip in ("169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "0.0.0.0", "ff02::1"):
        with pytest.raises(UrlRefused):
            check_address(ip, open_policy)
    check_address("169.254.169.254", GuardPolicy(allow_networks=("169.254.169.254/32",)))


def test_allow_networks_is_exact() -> None:
    check_address("127.0.0.1", LOCAL)
    check_address("::ffff:127.0.0.1", LOCAL)
    for ip in ("127.0.0.2", "::1", "10.0.0.1"):
        with pytest.raises(UrlRefused):
            check_address(ip, LOCAL)


async def test_resolver_refuses_a_name_that_resolves_to_loopback() -> None:
    resolver = GuardedResolver(GuardPolicy())
    with pytest.raises(UrlRefused, match="localhost"):
        await resolver.resolve("localhost", 80)
    allowed = GuardedResolver(GuardPolicy(allow_networks=("127.0.0.0/8", "::1/128")))
    answers = await allowed.resolve("localhost", 80)
    assert answers and {a["host"] for a in answers} <= {"127.0.0.1", "::1"}


async def test_resolver_refuses_a_name_if_any_address_is_refused() -> None:
    resolver = GuardedResolver(LOCAL, StaticDNS({"mixed.test": ["127.0.0.1", "10.0.0.1"]}))
    with pytest.raises(UrlRefused, match=r"10\.0\.0\.1"):
        await resolver.resolve("mixed.test", 80)


# -- fetching: the guard in the path -----------------------------------------------------------


async def test_loopback_is_refused_before_any_request(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)
    async with Fetcher(GuardPolicy()) as fetcher:
        with pytest.raises(UrlRefused):
            await fetcher.fetch(server.url("/rss"))
        with pytest.raises(UrlRefused, match="localhost"):
            await fetcher.fetch(f"http://localhost:{server.port}/rss")
    assert server.requests == []


async def test_loopback_is_fetched_when_the_policy_allows_it(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)
    policy = GuardPolicy(allow_networks=("127.0.0.0/8", "::1/128"))
    async with Fetcher(policy) as fetcher:
        by_ip = await fetcher.fetch(server.url("/rss"))
        by_name = await fetcher.fetch(f"http://localhost:{server.port}/rss")
    assert by_ip.status == by_name.status == 200
    assert by_ip.body == by_name.body == RSS
    assert by_ip.content_type == "application/rss+xml"


async def test_connection_goes_to_the_checked_address(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)
    dns = StaticDNS({"feeds.test": ["127.0.0.1"], "mixed.test": ["127.0.0.1", "127.0.0.9"]})
    async with Fetcher(LOCAL, dns=dns) as fetcher:
        result = await fetcher.fetch(f"http://feeds.test:{server.port}/rss")
        assert result.body == RSS
        assert server.requests_for("/rss")[0].headers["Host"] == f"feeds.test:{server.port}"
        with pytest.raises(UrlRefused, match=r"127\.0\.0\.9"):
            await fetcher.fetch(f"http://mixed.test:{server.port}/rss")
    assert len(server.requests) == 1


# -- conditional GET ---------------------------------------------------------------------------


async def test_conditional_get_returns_304_as_a_result(server: FeedServer) -> None:
    server.set_feed("/rss", RSS, last_modified="Wed, 01 Jul 2026 10:00:00 GMT")
    async with Fetcher(LOCAL) as fetcher:
        first = await fetcher.fetch(server.url("/rss"))
        assert first.status == 200 and not first.not_modified and first.body == RSS
        assert first.etag and first.last_modified == "Wed, 01 Jul 2026 10:00:00 GMT"
        second = await fetcher.fetch(server.url("/rss"), first.etag, first.last_modified)
    assert second.status == 304 and second.not_modified and second.body == b""
    assert second.etag == first.etag
    sent = server.requests_for("/rss")
    assert "If-None-Match" not in sent[0].headers
    assert sent[1].headers["If-None-Match"] == first.etag
    assert sent[1].headers["If-Modified-Since"] == first.last_modified


async def test_if_modified_since_alone_gets_304(server: FeedServer) -> None:
    server.set_feed("/rss", RSS, etag=False, last_modified="Wed, 01 Jul 2026 10:00:00 GMT")
    async with Fetcher(LOCAL) as fetcher:
        result = await fetcher.fetch(server.url("/rss"), None, "Wed, 01 Jul 2026 10:00:00 GMT")
    assert result.not_modified and result.etag is None


async def test_a_changed_feed_is_served_again(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)
    async with Fetcher(LOCAL) as fetcher:
        first = await fetcher.fetch(server.url("/rss"))
        server.set_feed("/rss", RSS + b"<!-- v2 -->")
        second = await fetcher.fetch(server.url("/rss"), first.etag)
    assert second.status == 200 and second.body.endswith(b"v2 -->")
    assert second.etag != first.etag


# -- redirects ---------------------------------------------------------------------------------


async def test_redirects_are_followed_and_the_final_url_reported(server: FeedServer) -> None:
    server.set_redirect("/old", "/mid", status=301)
    server.set_redirect("/mid", server.url("/rss"), status=307)
    server.set_feed("/rss", RSS)
    async with Fetcher(LOCAL) as fetcher:
        result = await fetcher.fetch(server.url("/old"))
    assert result.body == RSS and result.url == server.url("/rss")


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/rss",
        "http://[::1]:{port}/rss",
        "http://internal.test:{port}/rss",
        "file:///etc/passwd",
    ],
)
async def test_each_redirect_hop_is_checked_again(server: FeedServer, target: str) -> None:
    server.set_redirect("/go", target.format(port=server.port))
    # Refused targets stay on loopback, so even a broken guard sends nothing off this machine.
    dns = StaticDNS({"internal.test": ["127.0.0.2"]})
    async with Fetcher(LOCAL, dns=dns) as fetcher:
        with pytest.raises(UrlRefused):
            await fetcher.fetch(server.url("/go"))
    assert [r.path for r in server.requests] == ["/go"]


async def test_redirects_are_capped(server: FeedServer) -> None:
    for hop in range(10):
        server.set_redirect(f"/r{hop}", f"/r{hop + 1}")
    server.set_feed("/r10", RSS)
    server.set_feed("/r3", RSS)
    async with Fetcher(LOCAL, FetchLimits(max_redirects=3)) as fetcher:
        assert (await fetcher.fetch(server.url("/r0"))).body == RSS  # exactly 3 hops
        with pytest.raises(FeedError, match="too many redirects"):
            await fetcher.fetch(server.url("/r4"))
    assert len(server.requests_for("/r4")) == 1
    assert len(server.requests) == 4 + 4  # 3 hops + the feed, then 3 allowed hops + the last


# -- size caps ---------------------------------------------------------------------------------


async def test_content_length_over_the_cap_is_refused_unread(server: FeedServer) -> None:
    server.set_feed("/big", b"x" * (2 * 2**20))
    async with Fetcher(LOCAL, FetchLimits(max_body_bytes=2**20)) as fetcher:
        with pytest.raises(TooLarge, match="announces 2097152"):
            await fetcher.fetch(server.url("/big"))


async def test_streamed_body_over_the_cap_is_aborted(server: FeedServer) -> None:
    server.set_feed("/big", b"x" * (2 * 2**20), chunked=True)
    async with Fetcher(LOCAL, FetchLimits(max_body_bytes=2**20)) as fetcher:
        with pytest.raises(TooLarge, match="on the wire"):
            await fetcher.fetch(server.url("/big"))
        server.set_feed("/ok", b"x" * 2**19, chunked=True)
        assert len((await fetcher.fetch(server.url("/ok"))).body) == 2**19


async def test_gzip_bomb_is_aborted_at_the_decoded_cap_in_bounded_memory(
    server: FeedServer,
) -> None:
    server.set_gzip_bomb("/bomb", decoded_size=2**30)
    async with Fetcher(LOCAL) as fetcher:
        tracemalloc.start()
        try:
            started = time.monotonic()
            with pytest.raises(TooLarge, match="decompressed"):
                await fetcher.fetch(server.url("/bomb"))
            took = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # The cap is 16 MiB decoded; inflating the whole bomb would take 1 GiB and seconds.
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert took < 5.0


async def test_decoded_cap_applies_to_honest_gzip_too(server: FeedServer) -> None:
    server.set_feed("/big", b"<rss>" + b" " * 2**20 + b"</rss>", gzip_encode=True)
    limits = FetchLimits(max_decoded_bytes=2**19)
    async with Fetcher(LOCAL, limits) as fetcher:
        with pytest.raises(TooLarge):
            await fetcher.fetch(server.url("/big"))


# -- decoding ----------------------------------------------------------------------------------


async def test_gzip_feed_is_decoded(server: FeedServer) -> None:
    body = RSS * 200
    server.set_feed("/rss", body, gzip_encode=True)
    async with Fetcher(LOCAL) as fetcher:
        result = await fetcher.fetch(server.url("/rss"))
    assert result.body == body
    accept = server.requests_for("/rss")[0].headers["Accept-Encoding"]
    assert "gzip" in accept and "br" not in accept and "zstd" not in accept


def _encoded_handler(payload: bytes, encoding: str) -> web.Response:
    return web.Response(body=payload, headers={"Content-Encoding": encoding})


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("deflate", zlib.compress(RSS)),
        ("deflate", zlib.compress(RSS)[2:-4]),  # raw deflate, as some servers send it
        ("gzip", gzip.compress(RSS[:50]) + gzip.compress(RSS[50:])),  # two gzip members
        ("x-gzip", gzip.compress(RSS)),
        ("identity", RSS),
    ],
)
async def test_other_encodings_are_decoded(
    server: FeedServer, encoding: str, payload: bytes
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _encoded_handler(payload, encoding)

    server.set_handler("/rss", handler)
    async with Fetcher(LOCAL) as fetcher:
        assert (await fetcher.fetch(server.url("/rss"))).body == RSS


@pytest.mark.parametrize(
    ("encoding", "payload", "message"),
    [
        ("br", b"\x1b\x00", "unsupported Content-Encoding 'br'"),
        ("gzip", b"\x1f\x8b\x08\x00garbage-not-deflate", "corrupt"),
        ("gzip", gzip.compress(RSS)[:-12], "truncated"),
    ],
)
async def test_bad_encodings_are_feed_errors(
    server: FeedServer, encoding: str, payload: bytes, message: str
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _encoded_handler(payload, encoding)

    server.set_handler("/rss", handler)
    async with Fetcher(LOCAL) as fetcher:
        with pytest.raises(FeedError, match=message):
            await fetcher.fetch(server.url("/rss"))


# -- statuses, deadlines, connection errors ----------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_error_statuses_raise_http_status_error(server: FeedServer, status: int) -> None:
    server.set_status("/rss", status)
    async with Fetcher(LOCAL) as fetcher:
        with pytest.raises(HttpStatusError) as info:
            await fetcher.fetch(server.url("/rss"))
    assert info.value.status == status and info.value.url == server.url("/rss")


async def test_slow_drip_is_stopped_by_the_total_deadline(server: FeedServer) -> None:
    server.set_slow("/drip", bytes_per_second=5, total=100)  # would take 20 s
    async with Fetcher(LOCAL, FetchLimits(total_timeout=1.0)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            await fetcher.fetch(server.url("/drip"))
    assert 0.9 <= time.monotonic() - started < 3.0


async def test_hanging_server_times_out(server: FeedServer) -> None:
    server.set_hang("/hang")
    async with Fetcher(LOCAL, FetchLimits(total_timeout=0.5)) as fetcher:
        with pytest.raises(FetchTimeout, match=r"0\.5 s"):
            await fetcher.fetch(server.url("/hang"))


async def test_connection_refused_is_a_feed_error_naming_the_url() -> None:
    async with FeedServer() as gone:
        url = gone.url("/rss")
    async with Fetcher(LOCAL) as fetcher:
        with pytest.raises(FeedError) as info:
            await fetcher.fetch(url)
    assert type(info.value) is FeedError
    assert url in str(info.value)


async def test_per_host_concurrency_is_capped(server: FeedServer) -> None:
    server.set_hang("/hang")
    limits = FetchLimits(total_timeout=0.8, per_host_concurrency=2)
    async with Fetcher(LOCAL, limits) as fetcher:
        tasks = [asyncio.create_task(fetcher.fetch(server.url("/hang"))) for _ in range(5)]
        for _ in range(100):
            if len(server.requests) >= 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # room for a third request, had the cap not held
        assert len(server.requests) == 2
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, FetchTimeout) for r in results)


async def test_one_session_serves_every_fetch(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)
    async with Fetcher(LOCAL) as fetcher:
        for _ in range(3):
            await fetcher.fetch(server.url("/rss"))
    assert len({r.peer for r in server.requests}) == 1  # one kept-alive connection
    agents = {r.headers.get("User-Agent") for r in server.requests}
    assert agents == {"peacewatch/0.1 (+https://github.com/peacewatch/peacewatch)"}


async def test_waiting_for_a_busy_host_is_not_counted_against_the_deadline(
    server: FeedServer,
) -> None:
    server.set_feed("/slow", RSS, delay=0.4)
    limits = FetchLimits(total_timeout=1.0, per_host_concurrency=1)
    async with Fetcher(LOCAL, limits) as fetcher:
        # one at a time, the third waits 0.8 s before its own 0.4 s: over the deadline in all
        results = await asyncio.gather(*(fetcher.fetch(server.url("/slow")) for _ in range(3)))
    assert [r.status for r in results] == [200, 200, 200]
    assert server.concurrent.peak == 1


async def test_each_host_has_its_own_slots() -> None:
    policy = GuardPolicy(allow_networks=("127.0.0.0/8",))
    limits = FetchLimits(total_timeout=5.0, per_host_concurrency=1)
    async with FeedServer("127.0.0.1") as busy, FeedServer("127.0.0.2") as other:
        busy.set_hang("/hang")
        other.set_feed("/rss", RSS)
        async with Fetcher(policy, limits) as fetcher:
            hung = asyncio.create_task(fetcher.fetch(busy.url("/hang")))
            for _ in range(100):
                if busy.requests:
                    break
                await asyncio.sleep(0.01)
            assert fetcher.in_flight("127.0.0.1") == 1
            assert (await fetcher.fetch(other.url("/rss"))).status == 200  # not behind the hang
            assert fetcher.in_flight("127.0.0.2") == 0
            hung.cancel()
            with pytest.raises(asyncio.CancelledError):
                await hung
            assert fetcher.in_flight("127.0.0.1") == 0


def test_per_host_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_host_concurrency must be at least 1"):
        FetchLimits(per_host_concurrency=0)
