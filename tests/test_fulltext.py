"""Full text of an article page, fetched through the feed fetcher and read by trafilatura."""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web

pytest.importorskip("trafilatura")

from peacewatch.errors import UrlRefused
from peacewatch.models import Article
from peacewatch.watchers import fulltext
from peacewatch.watchers.fetch import Fetcher, FetchLimits
from peacewatch.watchers.fulltext import fetch_full_text, with_full_text
from peacewatch.watchers.guard import GuardedResolver, GuardPolicy, check_url
from tests.fakes.feed_server import FeedServer
from tests.test_fetch import StaticDNS

LOCAL = GuardPolicy(allow_networks=("127.0.0.1/32",))

# A news page as outlets serve them: consent banner, navigation, breadcrumbs, byline, a related
# box and a newsletter form inside the story, tags, share links, comments, "most viewed", footer.
PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>UK and France ready to deploy troops to Ukraine after ceasefire | Example News</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:title" content="UK and France ready to deploy troops to Ukraine after
  ceasefire">
<link rel="stylesheet" href="/static/site.css">
<script>window.dataLayer = window.dataLayer || []; function
  gtag(){dataLayer.push(arguments);}</script>
<style>.cookie-banner{position:fixed;bottom:0}</style>
</head>
<body>
<div class="cookie-banner" id="consent">We use cookies to improve your experience.
  <button>Accept all</button> <a href="/privacy">Manage preferences</a></div>
<header class="site-header">
  <a class="logo" href="/">Example News</a>
  <nav class="main-nav" aria-label="Sections">
    <ul>
      <li><a href="/world">World</a></li>
      <li><a href="/europe">Europe</a></li>
      <li><a href="/business">Business</a></li>
      <li><a href="/sport">Sport</a></li>
      <li><a href="/opinion">Opinion</a></li>
      <li><a href="/newsletters">Newsletters</a></li>
    </ul>
  </nav>
  <form class="search" action="/search"><input name="q" placeholder="Search"></form>
</header>
<main id="content">
<nav class="breadcrumbs"><a href="/">Home</a> › <a href="/world">World</a> › <a
  href="/europe">Europe</a></nav>
<article class="story">
  <h1 class="headline">UK and France ready to deploy troops to Ukraine after ceasefire</h1>
  <p class="standfirst">Declaration of intent signed after ‘coalition of the willing’ summit in
    Paris, with a plan for military hubs across the country</p>
  <div class="byline">By <a href="/authors/jane-doe">Jane Doe</a>, Europe correspondent · <time
    datetime="2026-01-06T20:26:09Z">Tue 6 Jan 2026 20.26 GMT</time></div>
  <figure><img src="/img/paris-summit.jpg" alt="Leaders at the Elysee
    Palace"><figcaption>Leaders pose for a family photo at the Elysee Palace in Paris.
    Photograph: Pool</figcaption></figure>
  <div class="article-body">
    <p>Britain and France have declared they are ready to deploy troops to Ukraine in the
      aftermath of a peace deal, a major new commitment that has been under discussion for
      months, although one which Russia is likely to block forcefully.</p>
    <p>The announcement came after a summit in Paris hosted by the French president, Emmanuel
      Macron, and attended by more than two dozen leaders of the states that make up the
      coalition of the willing, plus the US envoy Steve Witkoff and Jared Kushner.</p>
    <aside class="related"><h3>Related stories</h3><ul><li><a href="/a/1">Zelenskyy says peace
      deal is 90% ready</a></li><li><a href="/a/2">What is the coalition of the
      willing?</a></li></ul></aside>
    <p>Under the declaration, the two countries would establish military hubs across Ukraine and
      build protected facilities for weapons and equipment, to deter any renewed Russian attack
      once the fighting has stopped.</p>
    <p>The United States would lead a ceasefire monitoring mechanism with European
      participation, Macron told reporters, describing the security guarantees as robust and
      legally binding.</p>
    <p>Keir Starmer said parliament would be asked to approve any deployment of British forces
      before soldiers were sent, calling it the proper procedure in a situation such as
      this.</p>
    <div class="newsletter-signup"><p>Sign up to our Europe briefing: the stories that matter,
      every morning.</p><form><input type="email" placeholder="Your email"><button>Sign
      up</button></form></div>
    <p>Moscow has repeatedly said it would regard any foreign troops on Ukrainian soil as
      legitimate targets, and the Kremlin did not comment immediately on the Paris
      declaration.</p>
  </div>
  <ul class="tags"><li><a href="/tag/ukraine">Ukraine</a></li><li><a
    href="/tag/france">France</a></li><li><a href="/tag/defence">Defence</a></li></ul>
  <div class="share"><a href="https://twitter.com/share">Share on X</a> <a
    href="https://facebook.com/share">Share on Facebook</a></div>
</article>
<section class="comments"><h2>Comments (312)</h2><div class="comment"><p>Great news, about time
  Europe stepped up and took this seriously.</p></div></section>
<section class="most-read"><h2>Most viewed</h2><ol><li><a href="/a/3">Storm warnings issued
  across the north</a></li><li><a href="/a/4">Ten recipes for a cold January
  evening</a></li></ol></section>
</main>
<footer class="site-footer">
  <ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li><li><a
    href="/terms">Terms and conditions</a></li><li><a href="/privacy">Privacy
    policy</a></li></ul>
  <p>© 2026 Example News Media Ltd. All rights reserved. Registered in England and Wales.</p>
</footer>
<script src="/static/app.js"></script>
</body>
</html>
"""
PARAGRAPHS = [
    "Britain and France have declared they are ready to deploy troops to Ukraine",
    "attended by more than two dozen leaders of the states that make up the coalition",
    "establish military hubs across Ukraine",
    "The United States would lead a ceasefire monitoring mechanism",
    "parliament would be asked to approve any deployment",
    "Moscow has repeatedly said it would regard any foreign troops",
]
FURNITURE = [
    "We use cookies",
    "Business",
    "Home",
    "Related stories",
    "Zelenskyy says peace deal is 90% ready",
    "Sign up to our Europe briefing",
    "Share on",
    "Great news, about time",
    "Most viewed",
    "Ten recipes",
    "All rights reserved",
    "Terms and conditions",
    "dataLayer",
    "cookie-banner",
]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LOCAL, FetchLimits(total_timeout=2.0)) as f:
        yield f


def teaser(link: str) -> Article:
    return Article(
        id="teaser-1",
        title="UK and France ready to deploy troops to Ukraine after ceasefire",
        link=link,
        published=datetime(2026, 1, 6, 20, 26, tzinfo=UTC),
        source="example.org",
        summary="Declaration of intent signed after summit in Paris.",
        lang="en",
    )


async def test_main_text_is_extracted_without_page_furniture(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_feed("/world/paris-troops", PAGE.encode(), content_type="text/html; charset=utf-8")
    text = await fetch_full_text(fetcher, server.url("/world/paris-troops"))
    assert text is not None
    for start in PARAGRAPHS:
        assert start in text
    for junk in FURNITURE:
        assert junk not in text, junk
    # paragraphs in page order, one a line
    lines = text.split("\n")
    assert len(lines) == len(PARAGRAPHS)
    assert [next(i for i, p in enumerate(PARAGRAPHS) if p in line) for line in lines] == list(
        range(len(PARAGRAPHS))
    )


async def test_charset_from_the_header_and_from_the_page(
    server: FeedServer, fetcher: Fetcher
) -> None:
    cyrillic = PAGE.replace(
        "Britain and France have declared",
        "Британия и Франция заявили о готовности. Britain and France have declared",
    )
    server.set_feed("/cp1251", cyrillic.replace('charset="utf-8"', "").encode("cp1251", "replace"),
                    content_type="text/html; charset=windows-1251")  # fmt: skip
    server.set_feed("/meta", cyrillic.encode(), content_type="text/html")
    for path in ("/cp1251", "/meta"):
        text = await fetch_full_text(fetcher, server.url(path))
        assert text is not None and "Британия и Франция заявили" in text, path


async def test_text_is_cut_at_whole_paragraphs(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/a", PAGE.encode(), content_type="text/html")
    text = await fetch_full_text(fetcher, server.url("/a"), max_chars=600)
    assert text is not None and len(text) <= 600
    assert text.split("\n") == [line for line in text.split("\n") if line.endswith(".")]
    assert PARAGRAPHS[1] in text and PARAGRAPHS[2] not in text


# The hostile targets below are judged by the guard without a connection (check_url, the
# resolver called directly). Every fetch goes to a loopback address, so a guard that regressed
# would reach one of the test's own servers, never another machine.
HOSTILE = {
    "http://10.20.30.40/article": "private",
    "http://192.168.1.10/article": "private",
    "http://169.254.169.254/latest/meta-data/": "cloud metadata",
}


class Trap:
    """An HTTP server on 127.0.0.2 (loopback, yet outside ``LOCAL``) that records each request:
    the stand-in for a private address a page might redirect to."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Trap:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.2", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        return web.Response(text=PAGE, content_type="text/html")


@pytest.mark.parametrize(("url", "reason"), HOSTILE.items())
def test_the_guard_refuses_private_and_metadata_addresses(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused, match=reason):
        check_url(url, GuardPolicy())
    with pytest.raises(UrlRefused, match=reason):
        check_url(url, LOCAL)  # allowing this machine's loopback allows nothing else


async def test_names_that_resolve_to_private_addresses_are_refused() -> None:
    dns = StaticDNS({"intranet.test": ["10.20.30.40"], "metadata.test": ["169.254.169.254"]})
    resolver = GuardedResolver(GuardPolicy(), dns)  # asked directly: nothing connects
    for name, reason in (("intranet.test", "private"), ("metadata.test", "cloud metadata")):
        with pytest.raises(UrlRefused, match=reason):
            await resolver.resolve(name, 80)
    assert dns.asked == ["intranet.test", "metadata.test"]


async def test_the_default_policy_refuses_before_any_connection(server: FeedServer) -> None:
    server.set_feed("/a", PAGE.encode(), content_type="text/html")
    dns = StaticDNS({"news.test": ["127.0.0.1"]})
    named = f"http://news.test:{server.port}/a"
    async with Fetcher(GuardPolicy(), FetchLimits(total_timeout=2.0), dns=dns) as strict:
        assert await fetch_full_text(strict, server.url("/a")) is None  # an address: check_url
        assert await fetch_full_text(strict, named) is None  # a name: the guarded resolver
    assert server.requests_for("/a") == []
    assert dns.asked == ["news.test"]
    # the same name under a policy that allows the address gets the page: the guard refused it
    async with Fetcher(LOCAL, FetchLimits(total_timeout=2.0), dns=dns) as allowed:
        assert await fetch_full_text(allowed, named) is not None
    assert len(server.requests_for("/a")) == 1


async def test_a_redirect_to_a_refused_address_is_not_followed(server: FeedServer) -> None:
    async with Trap() as trap:
        server.set_redirect("/short", f"http://127.0.0.2:{trap.port}/by-address")
        server.set_redirect("/named", f"http://intranet.test:{trap.port}/by-name")
        dns = StaticDNS({"intranet.test": ["127.0.0.2"]})
        async with Fetcher(LOCAL, FetchLimits(total_timeout=2.0), dns=dns) as fetcher:
            assert await fetch_full_text(fetcher, server.url("/short")) is None
            assert await fetch_full_text(fetcher, server.url("/named")) is None
        assert trap.paths == []
        assert len(server.requests_for("/short")) == len(server.requests_for("/named")) == 1
        # the trap is reachable: a policy that allows it follows the same redirect there
        wide = GuardPolicy(allow_networks=("127.0.0.0/8",))
        async with Fetcher(wide, FetchLimits(total_timeout=2.0), dns=dns) as fetcher:
            assert await fetch_full_text(fetcher, server.url("/named")) is not None
        assert trap.paths == ["/by-name"]


async def test_page_faults_give_none(server: FeedServer, caplog: pytest.LogCaptureFixture) -> None:
    server.set_status("/gone", 404)
    server.set_feed("/report.pdf", b"%PDF-1.7 binary", content_type="application/pdf")
    server.set_feed("/empty", b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
                    content_type="text/html")  # fmt: skip
    server.set_feed("/huge", PAGE.encode() * 40, content_type="text/html")
    server.set_hang("/hang")
    limits = FetchLimits(total_timeout=0.5, max_body_bytes=100_000)
    with caplog.at_level(logging.INFO, logger="peacewatch.watchers.fulltext"):
        async with Fetcher(LOCAL, limits) as f:
            for path in ("/gone", "/report.pdf", "/empty", "/huge", "/hang", "/missing"):
                assert await fetch_full_text(f, server.url(path)) is None, path
    assert len(caplog.records) == 6
    assert "not a web page" in caplog.text and "HTTP 404" in caplog.text


async def test_teaser_articles_get_the_page_text(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/a", PAGE.encode(), content_type="text/html")
    article = teaser(server.url("/a"))
    full = await with_full_text(fetcher, article)
    assert full.content.startswith(PARAGRAPHS[0])
    assert full.summary == article.summary and full.id == article.id
    assert PARAGRAPHS[-1] in full.body

    long = dataclasses.replace(teaser(server.url("/a")), content="The whole story. " * 80)
    assert await with_full_text(fetcher, long) is long  # the feed gave the whole text
    server.set_status("/b", 500)
    broken = teaser(server.url("/b"))
    assert await with_full_text(fetcher, broken) is broken
    assert len(server.requests_for("/a")) == 1


async def test_without_trafilatura_it_warns_once_and_fetches_nothing(
    server: FeedServer,
    fetcher: Fetcher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.set_feed("/a", PAGE.encode(), content_type="text/html")
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # import trafilatura raises ImportError
    monkeypatch.setattr(fulltext, "_missing_warned", False)
    with caplog.at_level(logging.WARNING, logger="peacewatch.watchers.fulltext"):
        assert await fetch_full_text(fetcher, server.url("/a")) is None
        assert await fetch_full_text(fetcher, server.url("/a")) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "trafilatura is not installed" in caplog.text
    assert server.requests_for("/a") == []
