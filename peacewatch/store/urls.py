"""REDIS_URL read into what a client needs: one server, a Sentinel-managed master, or a Cluster.

- ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS), ``unix:///path/to/sock``
  (``?db=N``): one server, as redis-py reads them.
- ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]``
  (``rediss+sentinel://`` for TLS): the master that the Sentinels name for ``service``; the
  password is the master's, ``?sentinel_password=`` gives the Sentinels' own. Port 26379 when
  none is given.
- ``redis+cluster://[[user]:password@]host[:port][,host[:port]...]`` (``rediss+cluster://`` for
  TLS): a Redis Cluster reached through any of these nodes. Port 6379 when none is given; a
  Cluster has database 0 only.

Every problem is a ValueError that says what is wrong, showing the URL without its password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, quote, unquote

PLAIN_SCHEMES = ("redis", "rediss", "unix")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_PORT = 26379
REDIS_PORT = 6379
_HOST = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::(?P<port>\d+))?$")
_SERVICE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class RedisTarget:
    """What REDIS_URL names. ``url`` is the whole URL (handed to redis-py for one server)."""

    kind: Literal["server", "sentinel", "cluster"]
    url: str = field(repr=False)
    shown: str
    """The URL without user and password, for logs and messages."""
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    tls: bool = False


_LOCATION = re.compile(r"^[A-Za-z0-9._:,\[\]/-]*(?:\?.*)?$", re.DOTALL)
"""What follows the user information: hosts, path, then the query (which may hold anything)."""
_SOCKET = re.compile(r"^[^?@]*(?:\?.*)?$", re.DOTALL)


def split_userinfo(rest: str, location: re.Pattern[str] = _LOCATION) -> tuple[str | None, str]:
    """``rest`` (what follows ``scheme://``) split into its user information (None when there
    is none) and the rest. The user information ends at the first "@" after which a valid
    location follows: a password may hold "/", "?", ":" or "@", and a query value "@"."""
    start = 0
    while (at := rest.find("@", start)) >= 0:
        if location.match(rest[at + 1 :]):
            return rest[:at], rest[at + 1 :]
        start = at + 1
    return None, rest


def redacted(url: str) -> str:
    """``url`` without its user and password, and with the values of its query options
    replaced by ``***`` (``?password=`` and ``?sentinel_password=`` carry secrets too)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "(not a URL)" if "@" in url else _redact_query(url)
    location = _SOCKET if scheme.lower() == "unix" else _LOCATION
    userinfo, rest = split_userinfo(rest, location)
    if userinfo is None and "@" in rest:
        return f"{scheme}://(an address that could not be read)"
    return f"{scheme}://{_redact_query(rest)}"


def _redact_query(text: str) -> str:
    text, mark, query = text.partition("?")
    if mark:
        names = [part.partition("=")[0] for part in query.split("&") if part]
        query = "&".join(f"{name}=***" for name in names)
    return text + mark + query


def parse_redis_url(url: str) -> RedisTarget:
    """Read REDIS_URL. Raises ValueError naming what is wrong."""
    shown = redacted(url.strip())
    scheme, sep, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in (*PLAIN_SCHEMES, *SENTINEL_SCHEMES, *CLUSTER_SCHEMES):
        known = ", ".join(f"{s}://" for s in (*PLAIN_SCHEMES, *SENTINEL_SCHEMES, *CLUSTER_SCHEMES))
        raise ValueError(f"{shown!r} is not a Redis URL: it should start with one of {known}")
    if scheme == "unix":
        if not split_userinfo(rest, _SOCKET)[1].startswith("/"):
            raise ValueError(f"{shown!r}: a unix:// URL needs an absolute socket path")
        return RedisTarget("server", url.strip(), shown)
    userinfo, rest = split_userinfo(rest)
    if userinfo is None and "@" in rest.partition("?")[0]:
        raise ValueError(
            f"{shown!r}: what follows the user and password is not host[:port][/db] "
            '(a "@" in a password is written %40)'
        )
    rest, _, query = rest.partition("?")
    hostpart, _, path = rest.partition("/")
    username, password = _userinfo(userinfo) if userinfo is not None else (None, None)
    default_port = SENTINEL_PORT if scheme in SENTINEL_SCHEMES else REDIS_PORT
    hosts = _hosts(hostpart, default_port, shown)
    parts = [p for p in path.split("/") if p]
    if scheme in PLAIN_SCHEMES:
        if len(hosts) > 1:
            raise ValueError(
                f"{shown!r}: {scheme}:// names one server; for several use redis+sentinel:// "
                "or redis+cluster://"
            )
        db = _db(parts[0] if parts else "0", shown)
        if len(parts) > 1:
            raise ValueError(f"{shown!r}: the path should be just the database number")
        # redis-py reads the URL itself: give it the user and password percent-encoded, so a
        # "/", "?" or "@" in them cannot be read as part of the host.
        plain = url.strip() if userinfo is None else (
            f"{scheme}://{_quoted(username, password)}@{rest}"
            + (f"?{query}" if query else "")
        )  # fmt: skip
        return RedisTarget(
            "server", plain, shown, hosts, db=db, username=username, password=password
        )
    tls = scheme.startswith("rediss")
    if scheme in CLUSTER_SCHEMES:
        if parts not in ([], ["0"]):
            raise ValueError(f"{shown!r}: a Redis Cluster has database 0 only (drop the path)")
        return RedisTarget(
            "cluster", url.strip(), shown, hosts, username=username, password=password, tls=tls
        )
    if not parts or len(parts) > 2 or not _SERVICE.match(parts[0]):
        raise ValueError(
            f"{shown!r}: the path should name the Sentinel service, then optionally the "
            "database: /SERVICE or /SERVICE/DB"
        )
    options = parse_qs(query)
    unknown = sorted(set(options) - {"sentinel_password"})
    if unknown:
        raise ValueError(f"{shown!r}: unknown option {unknown[0]!r} (known: sentinel_password)")
    return RedisTarget(
        "sentinel",
        url.strip(),
        shown,
        hosts,
        service=parts[0],
        db=_db(parts[1], shown) if len(parts) == 2 else 0,
        username=username,
        password=password,
        sentinel_password=options["sentinel_password"][0] if options else None,
        tls=tls,
    )


def _quoted(username: str | None, password: str | None) -> str:
    user = quote(username or "", safe="")
    return user if password is None else f"{user}:{quote(password, safe='')}"


def _userinfo(userinfo: str) -> tuple[str | None, str | None]:
    user, _, password = userinfo.partition(":")
    return unquote(user) or None, unquote(password) or None


def _hosts(hostpart: str, default_port: int, shown: str) -> tuple[tuple[str, int], ...]:
    if not hostpart:
        raise ValueError(f"{shown!r}: no host given")
    out = []
    for item in hostpart.split(","):
        found = _HOST.match(item.strip())
        if not found:
            raise ValueError(f"{shown!r}: {item.strip()!r} is not host or host:port")
        port = int(found["port"]) if found["port"] else default_port
        if not 0 < port < 65536:
            raise ValueError(f"{shown!r}: port {port} is out of range")
        out.append((found["v6"] or found["name"], port))
    return tuple(out)


def _db(text: str, shown: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{shown!r}: database {text!r} should be a number")
    return int(text)
