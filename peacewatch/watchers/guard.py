"""Refuse feed URLs, and the addresses they resolve to, that point anywhere but the public internet.

Every feed URL is untrusted: a user who adds ``http://169.254.169.254/latest/meta-data/`` or a
name that resolves to ``10.0.0.5`` must not make the server fetch it (SSRF). Two gates:

* :func:`check_url` checks the text of a URL before any request and before every redirect hop:
  a scheme in ``allowed_schemes`` (http/https), a host, no credentials (``user:pass@``), no
  backslash, whitespace or control character (parsers disagree on those), an allowed port, and,
  when the host is an IP literal, the address itself (the HTTP client never resolves a literal,
  so this is the only place it is checked). Legacy numeric IPv4 spellings (``2130706433``,
  ``127.1``, ``0x7f.0.0.1``) are refused outright.
* :class:`GuardedResolver` sits in the connector. It resolves a name once, refuses the whole
  name if ANY of its addresses is refused, and hands the connector only the addresses it
  checked, so the TCP connection goes to a checked address. A DNS answer that changes between
  the check and the connection (DNS rebinding) cannot slip through, because there is no second
  lookup.

Refused ranges (:func:`check_address`), with what ``GuardPolicy.allow_private`` does to them:

IPv4
    ``0.0.0.0/8``        "this network", incl. the unspecified 0.0.0.0 (always refused)
    ``10.0.0.0/8``       private, RFC 1918
    ``100.64.0.0/10``    carrier-grade NAT shared space, RFC 6598
    ``127.0.0.0/8``      loopback
    ``169.254.169.254``  cloud metadata endpoint (AWS, GCP, Azure, ...) (always refused)
    ``169.254.0.0/16``   link-local
    ``172.16.0.0/12``    private, RFC 1918
    ``192.0.0.0/24``     IETF protocol assignments (incl. 192.0.0.192, Oracle metadata)
    ``192.0.2.0/24``     documentation TEST-NET-1
    ``192.88.99.0/24``   deprecated 6to4 relay anycast
    ``192.168.0.0/16``   private, RFC 1918
    ``198.18.0.0/15``    benchmarking
    ``198.51.100.0/24``  documentation TEST-NET-2
    ``203.0.113.0/24``   documentation TEST-NET-3
    ``224.0.0.0/4``      multicast (always refused)
    ``240.0.0.0/4``      reserved, incl. the broadcast 255.255.255.255
IPv6
    ``::/128``           unspecified (always refused)
    ``::1/128``          loopback
    ``::ffff:0:0/96``    IPv4-mapped: the embedded IPv4 address is checked instead
    ``::/96``            deprecated IPv4-compatible addresses
    ``64:ff9b::/96``     NAT64 well-known prefix: the embedded IPv4 address is checked instead
    ``64:ff9b:1::/48``   local-use NAT64
    ``100::/64``         discard-only
    ``2001::/23``        IETF protocol assignments, incl. Teredo ``2001::/32`` and ORCHID
    ``2001:db8::/32``    documentation
    ``2002::/16``        6to4: the embedded IPv4 address is checked instead
    ``3fff::/20``        documentation, RFC 9637
    ``fd00:ec2::254``    AWS IPv6 metadata endpoint (always refused)
    ``fc00::/7``         unique local addresses (ULA)
    ``fe80::/10``        link-local
    ``fec0::/10``        deprecated site-local
    ``ff00::/8``         multicast (always refused)
Anything else that :attr:`ipaddress.IPv4Address.is_global` (or the IPv6 twin) does not call
global is refused too, so ranges the standard library learns about later are covered.

``GuardPolicy.allow_private`` (tests, self-hosted feeds on a LAN) lifts every refusal except
the ones marked "always refused": those are never a feed server and the metadata endpoints hold
cloud credentials. ``GuardPolicy.allow_networks`` lists CIDRs that are allowed whatever they are,
metadata included, e.g. ``("127.0.0.0/8",)`` for a feed served on the same machine.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import socket
import urllib.parse
from dataclasses import dataclass, replace

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from peacewatch.errors import ConfigError, UrlRefused

__all__ = [
    "GuardPolicy",
    "GuardedResolver",
    "check_address",
    "check_url",
    "redact_url",
    "url_origin",
]

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """What the guard lets through; the default refuses everything but public addresses."""

    allow_private: bool = False
    allow_networks: tuple[str, ...] = ()
    allowed_schemes: tuple[str, ...] = ("http", "https")
    allowed_ports: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        # A typo in a CIDR must fail at start-up, not silently allow nothing (or everything).
        _parse_networks(self.allow_networks)


@functools.lru_cache(maxsize=64)
def _parse_networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as exc:
            raise ConfigError(f"allow_networks: {cidr!r} is not a CIDR network: {exc}") from exc
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class _Range:
    network: IPNetwork
    label: str
    always: bool = False  # refused even when allow_private is set


def _r(cidr: str, label: str, always: bool = False) -> _Range:
    return _Range(ipaddress.ip_network(cidr), label, always)


# Order matters: the first match names the reason, so narrow ranges come before wide ones.
_REFUSED: tuple[_Range, ...] = (
    _r("0.0.0.0/8", "unspecified / 'this network'", always=True),
    _r("10.0.0.0/8", "private (RFC 1918)"),
    _r("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
    _r("127.0.0.0/8", "loopback"),
    _r("169.254.169.254/32", "cloud metadata endpoint", always=True),
    _r("169.254.0.0/16", "link-local"),
    _r("172.16.0.0/12", "private (RFC 1918)"),
    _r("192.0.0.0/24", "IETF protocol assignments"),
    _r("192.0.2.0/24", "documentation"),
    _r("192.88.99.0/24", "6to4 relay anycast"),
    _r("192.168.0.0/16", "private (RFC 1918)"),
    _r("198.18.0.0/15", "benchmarking"),
    _r("198.51.100.0/24", "documentation"),
    _r("203.0.113.0/24", "documentation"),
    _r("224.0.0.0/4", "multicast", always=True),
    _r("240.0.0.0/4", "reserved"),
    _r("::/128", "unspecified", always=True),
    _r("::1/128", "loopback"),
    _r("::/96", "IPv4-compatible (deprecated)"),
    _r("64:ff9b:1::/48", "local-use NAT64"),
    _r("100::/64", "discard-only"),
    _r("2001:db8::/32", "documentation"),
    _r("2001::/32", "Teredo"),
    _r("2001::/23", "IETF protocol assignments"),
    _r("3fff::/20", "documentation"),
    _r("fd00:ec2::254/128", "cloud metadata endpoint", always=True),
    _r("fc00::/7", "unique local (ULA)"),
    _r("fe80::/10", "link-local"),
    _r("fec0::/10", "site-local (deprecated)"),
    _r("ff00::/8", "multicast", always=True),
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to, for the forms that reach IPv4 hosts."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def _refusal(addr: IPAddress, policy: GuardPolicy) -> str | None:
    """Why ``addr`` is refused under ``policy``, or None when it is allowed."""
    if any(addr in net for net in _parse_networks(policy.allow_networks)):
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            addr = ipaddress.IPv6Address(addr.compressed.split("%", 1)[0])
        inner = _embedded_ipv4(addr)
        if inner is not None:
            reason = _refusal(inner, policy)
            return None if reason is None else f"embeds {inner}, {reason}"
    for entry in _REFUSED:
        if addr.version == entry.network.version and addr in entry.network:
            if policy.allow_private and not entry.always:
                return None
            return entry.label
    if not addr.is_global:
        return None if policy.allow_private else "not globally routable"
    return None


def check_address(ip: str, policy: GuardPolicy) -> None:
    """Raise :class:`UrlRefused` unless ``ip`` is a global address (or one ``policy`` allows).

    ``ip`` is an address in text form, as a resolver returns it (an IPv6 zone such as
    ``fe80::1%eth0`` is accepted and ignored).
    """
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError as exc:
        raise UrlRefused(f"{ip!r} is not an IP address") from exc
    reason = _refusal(addr, policy)
    if reason is not None:
        raise UrlRefused(f"address {ip} is refused: {reason}{_allow_hint(addr, policy)}")


def _allow_hint(addr: IPAddress, policy: GuardPolicy) -> str:
    """How an operator lets feeds use ``addr`` (self-hosted feeds): the settings that allow it."""
    bare = addr.compressed.split("%", 1)[0]
    single = f"{bare}/{32 if addr.version == 4 else 128}"
    networks = f"PEACEWATCH_ALLOW_NETWORKS={single} (comma-separated CIDRs)"
    if policy.allow_private or _refusal(addr, replace(policy, allow_private=True)) is not None:
        return f"; to allow it, set {networks}"
    return f"; to allow it, set {networks} or PEACEWATCH_ALLOW_PRIVATE_FEEDS=true"


_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
# WHATWG URL parsers (browsers, curl in some modes) read a host whose last label is a number as
# IPv4 in decimal, octal or hex; refusing such hosts keeps every parser in agreement.
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")


def _looks_numeric_ipv4(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return bool(labels) and _NUMERIC_LABEL.fullmatch(labels[-1]) is not None


def redact_url(url: str) -> str:
    """``url`` without its user and password, for logs and error messages."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    netloc = "***@" + parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def url_origin(url: str) -> str:
    """The scheme, host and port of ``url`` (never its path or query, which may hold a token),
    any user and password blanked out."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    return redact_url(f"{parts.scheme}://{parts.netloc}")


def check_url(url: str, policy: GuardPolicy) -> str:
    """Check the text of ``url`` and return it normalised (IDNA host, no fragment).

    Raises :class:`UrlRefused` naming the reason: not an absolute URL, a scheme or port that is
    not allowed, credentials in the URL, characters that parsers read differently, a numeric
    IPv4 spelling, or an IP-literal host in a refused range. Host names are not resolved here;
    :class:`GuardedResolver` checks what they resolve to when the connection is made.
    """
    url = url.strip()
    shown = redact_url(url)
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"URL longer than {MAX_URL_LENGTH} characters: {shown[:80]}...")
    if _UNSAFE_CHARS.search(url):
        raise UrlRefused(f"URL contains whitespace, a control character or a backslash: {shown!r}")
    try:
        parsed = URL(url)
        netloc = urllib.parse.urlsplit(url).netloc
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {shown!r} ({exc})") from exc
    scheme = parsed.scheme.lower()
    if not scheme:
        raise UrlRefused(f"not an absolute http(s) URL: {shown!r}")
    if scheme not in policy.allowed_schemes:
        raise UrlRefused(f"scheme {scheme!r} is not allowed: {shown}")
    if "@" in netloc or parsed.raw_user is not None or parsed.raw_password is not None:
        raise UrlRefused(f"credentials in the URL are not allowed: {shown}")
    host = parsed.raw_host
    if not host:
        raise UrlRefused(f"URL has no host: {shown}")
    port = parsed.port
    if port is None or not 0 < port < 65536:
        raise UrlRefused(f"URL has no valid port: {shown}")
    if policy.allowed_ports is not None and port not in policy.allowed_ports:
        raise UrlRefused(f"port {port} is not allowed: {shown}")
    literal = _ip_literal(host)
    if literal is not None:
        check_address(literal, policy)
    elif _looks_numeric_ipv4(host):
        raise UrlRefused(f"numeric host {host!r} is not a canonical IP address: {shown}")
    return str(parsed.with_fragment(None))


def _ip_literal(host: str) -> str | None:
    candidate = urllib.parse.unquote(host)  # yarl keeps an IPv6 zone percent-encoded
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return None
    return candidate


class GuardedResolver(AbstractResolver):
    """A resolver that only ever returns addresses the policy allows.

    It wraps another resolver (aiohttp's :class:`ThreadedResolver` unless one is given) and
    raises :class:`UrlRefused` when any address of the answer is refused: a name that resolves
    to one public and one private address is refused as a whole, since the connector may try
    either. The connector connects to the returned addresses, so nothing is resolved twice.
    """

    def __init__(self, policy: GuardPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            # ThreadedResolver needs the running loop, which exists only once we are called.
            self._inner = ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        if not results:
            raise OSError(f"no address found for {host!r}")
        for result in results:
            try:
                check_address(result["host"], self._policy)
            except UrlRefused as exc:
                log.warning("refused host %s: %s", host, exc)
                raise UrlRefused(f"host {host!r} resolves to a refused address: {exc}") from None
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
