"""The WebSub wire format: hub discovery, callback challenges and content signatures (no I/O).

WebSub (W3C, formerly PubSubHubbub) lets a publisher's hub push new feed content to us instead
of waiting for our next poll. The pieces here are pure functions of what was received:

* :func:`discover` finds the hub and the topic of a fetched feed: the HTTP ``Link`` header
  first (the spec's order), then the feed's own ``<link rel="hub">`` / ``<link rel="self">``
  (``atom:link`` in RSS). The topic is the feed's ``self`` URL, else the URL it was read from.
* :func:`verify_signature` checks ``X-Hub-Signature: METHOD=HEX``, an HMAC of the raw body
  with the secret we gave the hub, for the methods the spec allows (sha1, sha256, sha384,
  sha512), in constant time.
* :func:`granted_lease` bounds the lease a hub grants; :func:`renew_at` says when it is renewed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

__all__ = [
    "SIGNATURE_METHODS",
    "Discovery",
    "discover",
    "granted_lease",
    "link_header_rels",
    "renew_at",
    "sign",
    "subscribed_interval",
    "verify_signature",
]

SIGNATURE_METHODS = frozenset({"sha1", "sha256", "sha384", "sha512"})
"""The HMAC hashes a hub may sign content with (W3C WebSub, section 8)."""
RENEW_FRACTION = 0.8
"""A subscription is renewed when this part of its lease has passed."""
MIN_RENEW_MARGIN = timedelta(seconds=60)
"""A renewal starts at least this long before the lease expires (when the lease allows it)."""
SUBSCRIBED_SLOWDOWN = 6
"""A feed a hub pushes is polled this many times less often ..."""
SUBSCRIBED_MAX_INTERVAL = 6 * 3600
"""... but at least this often (seconds), unless its own interval is longer."""
MIN_LEASE_SECONDS = 60
"""A shorter lease a hub grants is taken as this long (no renewal at every upkeep round)."""
MAX_LEASE_SECONDS = 30 * 86400
"""A longer lease a hub grants is taken as this long: renewed within a month, and no date
computed from it ever leaves the calendar (a hub may grant 999999999999 s)."""
_MAX_LINKS = 50


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where a feed's content is published: its hub, and the topic URL to subscribe to."""

    hub: str
    topic: str


def _http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def link_header_rels(value: str) -> list[tuple[str, frozenset[str]]]:
    """``<URL>; rel="hub self", <URL2>; rel=x`` -> [(URL, {hub, self}), (URL2, {x})].

    A plain split on the angle brackets and semicolons (no regular expression), so a hostile
    header costs time linear in its length; at most 50 links are read."""
    out: list[tuple[str, frozenset[str]]] = []
    rest = value
    while rest and len(out) < _MAX_LINKS:
        start = rest.find("<")
        end = rest.find(">", start + 1)
        if start < 0 or end < 0:
            break
        url = rest[start + 1 : end].strip()
        after = rest[end + 1 :]
        nxt = after.find("<")
        params, rest = (after, "") if nxt < 0 else (after[:nxt], after[nxt:])
        rels: set[str] = set()
        for param in params.split(";"):
            name, _, raw = param.partition("=")
            if name.strip().lower() == "rel":
                rels.update(raw.strip().strip(",").strip().strip('"').lower().split())
        out.append((url, frozenset(rels)))
    return out


def discover(
    url: str, links: str | None, hub: str | None, self_url: str | None
) -> Discovery | None:
    """The hub and topic of a feed read from ``url`` (after redirects), whose response had the
    ``Link`` header ``links`` and whose document named ``hub`` and ``self_url``; None when it
    advertises no usable (http or https) hub. Relative links are resolved against ``url``."""
    header_hub = header_self = None
    for target, rels in link_header_rels(links or ""):
        if "hub" in rels and header_hub is None:
            header_hub = target
        if "self" in rels and header_self is None:
            header_self = target
    found_hub = urljoin(url, header_hub or hub or "") if (header_hub or hub) else None
    if found_hub is None or not _http(found_hub):
        return None
    topic = urljoin(url, header_self or self_url or url)
    return Discovery(found_hub, topic if _http(topic) else url)


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    """The ``X-Hub-Signature`` value a hub sends for ``body``: ``METHOD=HEX``."""
    return f"{method}={hmac.new(secret.encode(), body, method).hexdigest()}"


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``X-Hub-Signature``) is a valid HMAC of ``body`` with ``secret``.

    False for a missing header, an unknown method (only sha1/sha256/sha384/sha512) or a digest
    that does not match; the comparison takes the same time whatever the digest."""
    if not header:
        return False
    method, _, given = header.strip().partition("=")
    method = method.strip().lower()
    given = given.strip()
    if method not in SIGNATURE_METHODS or not given or not given.isascii():
        return False  # compare_digest refuses non-ASCII text: such a header is simply wrong
    expected = hmac.new(secret.encode(), body, method).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), given.lower().encode("ascii"))


def subscribed_interval(interval: int) -> int:
    """The poll interval of a feed with an active WebSub subscription: its pushes bring new
    items, so polls only catch what a hub missed; never less often than the feed's own
    interval or every ``SUBSCRIBED_MAX_INTERVAL``, whichever is longer."""
    return max(interval, min(interval * SUBSCRIBED_SLOWDOWN, SUBSCRIBED_MAX_INTERVAL))


def granted_lease(seconds: int) -> int:
    """The lease a hub granted, bounded to ``MIN_LEASE_SECONDS``..``MAX_LEASE_SECONDS``."""
    return min(max(seconds, MIN_LEASE_SECONDS), MAX_LEASE_SECONDS)


def renew_at(verified: datetime, lease_seconds: int) -> datetime:
    """When a subscription verified at ``verified`` for ``lease_seconds`` is renewed: once
    ``RENEW_FRACTION`` of the lease has passed, and at least ``MIN_RENEW_MARGIN`` before it
    expires when the lease is long enough for that (never before ``verified``); a lease over
    ``MAX_LEASE_SECONDS`` (stored before leases were bounded) counts as that long."""
    lease = timedelta(seconds=min(max(0, lease_seconds), MAX_LEASE_SECONDS))
    at = min(lease * RENEW_FRACTION, lease - MIN_RENEW_MARGIN)
    return verified + max(at, timedelta(0))
