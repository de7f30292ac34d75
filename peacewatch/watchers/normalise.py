"""Raw feed entries to Articles: stable ids, clean links, UTC times, plain text."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from peacewatch.models import Article
from peacewatch.watchers.language import detect
from peacewatch.watchers.text import html_to_text

if TYPE_CHECKING:  # the parser (and asyncio with its worker) only where feeds are read
    from peacewatch.watchers.parse import RawEntry

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "at_", "itm_", "ga_")
_TRACKING_KEYS = frozenset(
    [
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "ocid",
        "cmpid",
        "ref",
        "ref_src",
        "smid",
        "src_trk",
        "s_cid",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "cid",
        "_ga",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oref",
        "outputtype",
        "rss",
        "feed",
        "spm",
    ]
)


def canonical_link(url: str) -> str:
    """The link without tracking parameters or fragment, scheme and host lowercased.

    A link that cannot be split is returned stripped, unchanged otherwise.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_KEYS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    host = parts.netloc.lower()
    if parts.scheme.lower() == "http" and host.endswith(":80"):
        host = host[:-3]
    elif parts.scheme.lower() == "https" and host.endswith(":443"):
        host = host[:-4]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), host, path, urlencode(query), ""))


def domain_of(url: str | None) -> str:
    """The host of a URL without ``www.`` (``""`` when there is none)."""
    if not url:
        return ""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def article_id(guid: str | None, link: str | None, title: str, source: str) -> str:
    """A stable 128-bit id: the guid (scoped to the source), else the link, else title+source."""
    if guid and guid.strip():
        basis = f"guid\x00{source}\x00{guid.strip()}"
    elif link and link.strip():
        basis = f"link\x00{canonical_link(link)}"
    else:
        basis = f"title\x00{source}\x00{' '.join(title.split()).casefold()}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def _lang(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if 2 <= len(code) <= 3 and code.isalpha() else None


def with_language(entry: RawEntry) -> RawEntry:
    """``entry`` with its language detected when the parser left it pending (from the title and
    summary as text; the feed's declared language when detection is not confident)."""
    if not entry.lang_pending:
        return entry
    lang = detect(html_to_text(f"{entry.title}. {entry.summary}"), entry.lang)
    return dataclasses.replace(entry, lang=lang, lang_pending=False)


def _source(entry: RawEntry, link: str, feed_url: str) -> str:
    # News-search feeds name the real outlet in <source>; otherwise the outlet is the feed's.
    return entry.source or domain_of(entry.source_url) or domain_of(link) or domain_of(feed_url)


def entry_id(entry: RawEntry, feed_url: str) -> str:
    """The id ``normalise`` gives ``entry``, without the rest of its work (a title is reduced to
    text only when the entry has neither guid nor link)."""
    if entry.guid and entry.guid.strip():
        return article_id(entry.guid, None, "", _source(entry, _link(entry), feed_url))
    if entry.link and entry.link.strip():
        return article_id(None, entry.link, "", "")
    title = html_to_text(entry.title)
    return article_id(None, None, title, _source(entry, _link(entry), feed_url))


def _link(entry: RawEntry) -> str:
    return canonical_link(entry.link) if entry.link else ""


def normalise(
    entry: RawEntry,
    *,
    feed_id: str,
    feed_url: str,
    feed_title: str,
    fetched_at: datetime,
    outlet: str | None = None,
    language: bool = True,
) -> Article:
    """Turn one raw entry into an Article. Never raises: missing parts become empty values.

    ``language``: detect the language the parser left pending (``with_language``); without it
    such an article's language is the feed's declared one (enough for a mojibake check)."""
    if language:
        entry = with_language(entry)
    link = _link(entry)
    source = _source(entry, link, feed_url)
    outlet_name = entry.source_title or outlet or feed_title or source
    title = html_to_text(entry.title)
    summary = html_to_text(entry.summary)
    content = html_to_text(entry.content)
    if content == summary:
        content = ""
    published = (
        datetime.fromtimestamp(entry.published, tz=UTC)
        if entry.published is not None
        else fetched_at.astimezone(UTC)
    )
    return Article(
        id=article_id(entry.guid, entry.link, title, source),
        title=title,
        link=link,
        published=published,
        source=source,
        outlet=outlet_name,
        summary=summary,
        content=content,
        lang=_lang(entry.lang),
        feed_id=feed_id,
    )
