"""WebSub's pure parts: hub discovery, content signatures, when a lease is renewed."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from peacewatch.watchers.parse import parse_bytes
from peacewatch.watchers.websub_proto import (
    MAX_LEASE_SECONDS,
    MIN_LEASE_SECONDS,
    Discovery,
    discover,
    granted_lease,
    link_header_rels,
    renew_at,
    sign,
    subscribed_interval,
    verify_signature,
)

SECRET = "0f" * 32
BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_each_signature_method_the_spec_allows_is_checked(method: str) -> None:
    good = f"{method}={hmac.new(SECRET.encode(), BODY, method).hexdigest()}"
    assert sign(SECRET, BODY, method) == good
    assert verify_signature(SECRET, BODY, good)
    assert verify_signature(SECRET, BODY, good.upper().replace(method.upper(), method))
    assert not verify_signature("another secret", BODY, good)
    assert not verify_signature(SECRET, BODY + b" ", good)  # the body was changed
    assert not verify_signature(SECRET, BODY, good[:-1] + ("0" if good[-1] != "0" else "1"))


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256", "sha256=", "=abc", "nosuch=abc",
     f"md5={hmac.new(SECRET.encode(), BODY, hashlib.md5).hexdigest()}"],
)  # fmt: skip
def test_missing_malformed_or_unlisted_signatures_are_refused(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header)


@pytest.mark.parametrize(
    "given", ["\u00e9", "\u00e9" * 64, "\u212a" * 64, "\uff10" * 64, "\udcc3\udca9"]
)
def test_a_signature_that_is_not_ascii_is_refused_not_raised(given: str) -> None:
    good = sign(SECRET, BODY)
    assert not verify_signature(SECRET, BODY, f"sha256={given}")
    assert not verify_signature(SECRET, BODY, good[:-1] + given)


def test_a_granted_lease_is_bounded_and_a_huge_one_is_renewed_within_the_bound() -> None:
    assert (MIN_LEASE_SECONDS, MAX_LEASE_SECONDS) == (60, 30 * 86400)
    assert granted_lease(1) == 60
    assert granted_lease(3600) == 3600
    assert granted_lease(999_999_999_999) == 30 * 86400
    at = datetime(2025, 12, 1, tzinfo=UTC)
    assert renew_at(at, 999_999_999_999) == at + timedelta(days=24)  # no OverflowError


def test_lease_is_renewed_at_four_fifths_and_at_least_a_minute_before_it_ends() -> None:
    at = datetime(2025, 12, 1, tzinfo=UTC)
    assert renew_at(at, 10 * 86400) == at + timedelta(days=8)
    assert renew_at(at, 1000) == at + timedelta(seconds=800)
    assert renew_at(at, 200) == at + timedelta(seconds=140)  # a minute before the end
    assert renew_at(at, 30) == at  # too short for either: renewed at once
    assert renew_at(at, 0) == at


def test_pushed_feed_is_polled_six_times_less_often_and_at_least_every_six_hours() -> None:
    assert subscribed_interval(600) == 3600
    assert subscribed_interval(60) == 360
    assert subscribed_interval(3 * 3600) == 6 * 3600  # capped at six hours ...
    assert subscribed_interval(12 * 3600) == 12 * 3600  # ... unless its own is longer


def test_link_header_is_split_without_a_regex() -> None:
    value = '<https://hub.example/>; rel="hub", <https://a.example/feed>; rel="self alternate"'
    assert link_header_rels(value) == [
        ("https://hub.example/", frozenset({"hub"})),
        ("https://a.example/feed", frozenset({"self", "alternate"})),
    ]
    assert link_header_rels("garbage without brackets") == []
    assert len(link_header_rels("<x>; rel=hub, " * 10_000)) == 50  # bounded


def test_discovery_prefers_the_link_header_and_resolves_relative_links() -> None:
    url = "https://news.example/feeds/main.xml"
    header = '</hub>; rel="hub", <https://news.example/canonical.xml>; rel="self"'
    assert discover(url, header, "https://other.example/hub", None) == Discovery(
        "https://news.example/hub", "https://news.example/canonical.xml"
    )
    assert discover(url, None, "https://hub.example/", None) == Discovery(
        "https://hub.example/", url
    )  # no self link: the URL the feed was read from
    assert discover(url, None, None, url) is None
    assert discover(url, None, "javascript:alert(1)", None) is None


def test_rss_atom_link_and_atom_link_elements_are_read() -> None:
    rss = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        b"<channel><title>t</title><link>https://a.example/</link>"
        b'<atom:link rel="hub" href="https://hub.example/"/>'
        b'<atom:link rel="self" href="https://a.example/rss.xml"/>'
        b"<item><title>x</title><link>https://a.example/1</link></item></channel></rss>"
    )
    parsed = parse_bytes(rss)
    assert (parsed.hub, parsed.self_url) == ("https://hub.example/", "https://a.example/rss.xml")
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>'
        b'<link rel="self" href="https://b.example/atom"/><link href="https://b.example/"/>'
        b'<link rel="hub" href="https://hub.example/b"/>'
        b'<entry><title>e</title><id>1</id><link href="https://b.example/1"/></entry></feed>'
    )
    parsed = parse_bytes(atom)
    assert (parsed.hub, parsed.self_url) == ("https://hub.example/b", "https://b.example/atom")
    plain = rss.replace(b'rel="hub"', b'rel="payment"').replace(b'rel="self"', b'rel="x"')
    assert (parse_bytes(plain).hub, parse_bytes(plain).self_url) == (None, None)
