"""Pages without feeds: the items of an official statement list, by CSS selectors or found alone.

An item is a block of the page with a link to one statement: found by the ``item`` selector
given in the config (with ``title``, ``link`` and ``date`` inside it), or, without selectors, as
the page's largest set of repeated link blocks (links whose chain of enclosing tags and classes
is the same, outside navigation, header and footer). Each item's id is a hash of its title and
its canonical link only, so a page re-rendered with other markup (new wrappers, renamed
classes, another order) gives the same ids and raises no new alert.

Dates come from ``<time datetime>`` when the page has one, else from the item's short texts in
English, Ukrainian or Russian (dateparser), read in the page's ``timezone``.
"""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from peacewatch.errors import ParseError
from peacewatch.watchers.htmlpage import html_tree
from peacewatch.watchers.language import detect
from peacewatch.watchers.normalise import canonical_link
from peacewatch.watchers.parse import ParsedFeed, RawEntry

MIN_ITEMS = 3
"""Repeated link blocks needed before a set of them counts as the page's list."""
MIN_TITLE = 15
"""Characters a link's text needs to look like a headline (not "More", "Next", a date)."""
MAX_ITEMS = 200
SUMMARY_CHARS = 600
_CHROME = frozenset(("nav", "header", "footer", "aside", "menu", "form", "script", "style"))
_DATE_LANGUAGES = ["uk", "ru", "en"]


@dataclass(frozen=True, slots=True)
class PageSelectors:
    """CSS selectors of a statement list; without ``item`` the items are found automatically."""

    item: str = ""
    title: str = ""
    """Inside an item; default: its link's text."""
    link: str = ""
    """Inside an item; default: its first link with text (or the item itself when a link)."""
    date: str = ""
    """Inside an item; default: its ``<time>``, else a short text that reads as a date."""
    timezone: str = "UTC"
    """The zone of dates written without one (``Europe/Kyiv``, ``Europe/Moscow``)."""

    @classmethod
    def from_pairs(cls, pairs: Any) -> PageSelectors:
        """From ``FeedSpec.selectors`` (name, value pairs); unknown names are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{str(k): str(v) for k, v in pairs or () if k in known})

    def pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name))

    def check(self) -> None:
        """Raises ValueError naming a selector that is not valid CSS."""
        tree = LexborHTMLParser("<p></p>")
        for name in ("item", "title", "link", "date"):
            selector = getattr(self, name)
            if selector:
                try:
                    tree.css(selector)
                except (SelectolaxError, ValueError) as exc:
                    raise ValueError(
                        f"{name} selector {selector!r} is not valid CSS: {exc}"
                    ) from None


def _text(node: LexborNode | None) -> str:
    return " ".join(node.text(separator=" ").split()) if node is not None else ""


def _title_text(node: LexborNode | None) -> str:
    """The text of a headline without the ``<time>`` some pages put inside its link."""
    if node is None or node.css_first("time") is None:
        return _text(node)
    copy = LexborHTMLParser(node.html or "")
    for stamp in copy.css("time"):
        stamp.decompose()
    return _text(copy.body)


def _in_chrome(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _CHROME:
            return True
        parent = parent.parent
    return False


def _signature(node: LexborNode) -> tuple[str, ...]:
    """The chain of tags and classes from the body down to ``node``, without numbered classes
    (``item-12``) that differ between siblings of one list."""
    parts = []
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        classes = (current.attributes.get("class") or "").split()
        kept = " ".join(sorted(c for c in classes if not any(ch.isdigit() for ch in c)))
        parts.append(f"{current.tag}.{kept}")
        current = current.parent
    return tuple(reversed(parts))


def _headline_links(tree: LexborHTMLParser) -> list[LexborNode]:
    found = []
    for link in tree.css("a[href]"):
        href = (link.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        if len(_text(link)) >= MIN_TITLE and not _in_chrome(link):
            found.append(link)
    return found


def _auto_items(tree: LexborHTMLParser) -> list[tuple[LexborNode, LexborNode]]:
    """(item block, its link) for the page's largest set of repeated headline links."""
    groups: dict[tuple[str, ...], list[LexborNode]] = defaultdict(list)
    for link in _headline_links(tree):
        groups[_signature(link)].append(link)
    candidates = [links for links in groups.values() if len(links) >= MIN_ITEMS]
    if not candidates:
        return []
    links = max(candidates, key=lambda ls: (sum(len(_text(link)) for link in ls), len(ls)))
    # The block of a link is its highest ancestor that holds no other link of the list.
    holders: dict[int, int] = defaultdict(int)
    for link in links:
        parent = link.parent
        while parent is not None:
            holders[parent.mem_id] += 1
            parent = parent.parent
    items = []
    for link in links:
        block = link
        while block.parent is not None and holders[block.parent.mem_id] == 1:
            block = block.parent
        items.append((block, link))
    return items


def _selected_items(
    tree: LexborHTMLParser, selectors: PageSelectors
) -> list[tuple[LexborNode, LexborNode | None]]:
    items: list[tuple[LexborNode, LexborNode | None]] = []
    for block in tree.css(selectors.item):
        if selectors.link:
            link = block.css_first(selectors.link)
        elif block.tag == "a":
            link = block
        else:
            link = next((a for a in block.css("a[href]") if _text(a)), None)
        items.append((block, link))
    return items


def _date(block: LexborNode, selectors: PageSelectors, skip: str) -> float | None:
    if selectors.date:
        node = block.css_first(selectors.date)
        candidates = [node] if node is not None else []
    else:
        candidates = block.css("time") + [
            n for n in block.css("*") if n.tag not in ("time", "a") and n.child is not None
        ]
    tried = 0
    for node in candidates:
        stamp = node.attributes.get("datetime") if node.tag == "time" else None
        if stamp:
            try:
                when = datetime.fromisoformat(stamp.strip())
            except ValueError:
                pass
            else:
                if when.tzinfo is not None:
                    return when.timestamp()
        text = _text(node)
        if not text or len(text) > 60 or text == skip or not any(c.isdigit() for c in text):
            continue
        tried += 1
        parsed = _dateparse(text, selectors.timezone)
        if parsed is not None:
            return parsed
        if tried >= 6:
            break
    return None


def _dateparse(text: str, timezone: str) -> float | None:
    import dateparser  # type: ignore[import-untyped]  # imported in the worker, when needed

    settings: Any = {
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": timezone or "UTC",
        "TO_TIMEZONE": "UTC",
        "PREFER_DATES_FROM": "past",
        "DATE_ORDER": "DMY",
        "REQUIRE_PARTS": ["day", "month"],
    }
    try:
        found = dateparser.parse(text, languages=_DATE_LANGUAGES, settings=settings)
    except (ValueError, OverflowError, LookupError):
        return None
    return found.timestamp() if found is not None else None


def item_guid(title: str, link: str) -> str:
    """The identity of an item: its title and canonical link, never its markup."""
    basis = f"{' '.join(title.split()).casefold()}\x00{canonical_link(link)}"
    return "page:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def parse_page(
    data: bytes, content_type: str | None, page_url: str, selectors: PageSelectors | None = None
) -> ParsedFeed:
    """The items of a statement list page at ``page_url`` (relative links resolve against it).

    Raises ParseError when no item is found: by the ``item`` selector when one is given, else
    no set of at least ``MIN_ITEMS`` repeated headline links.
    """
    selectors = selectors or PageSelectors()
    tree, detected = html_tree(data, content_type)
    base = tree.css_first("base[href]")
    base_url = urljoin(page_url, base.attributes.get("href") or "") if base else page_url
    pairs = (
        _selected_items(tree, selectors)
        if selectors.item
        else [(b, a) for b, a in _auto_items(tree)]
    )
    root = tree.css_first("html")
    page_lang = (root.attributes.get("lang") or "").split("-")[0].lower() or None if root else None
    entries: list[RawEntry] = []
    seen: set[str] = set()
    for block, link in pairs[:MAX_ITEMS]:
        title_node = block.css_first(selectors.title) if selectors.title else link
        title = _title_text(title_node) or _title_text(link)
        href = (link.attributes.get("href") or "").strip() if link is not None else ""
        url = urljoin(base_url, href) if href else ""
        if not title or urlsplit(url).scheme not in ("http", "https"):
            continue
        guid = item_guid(title, url)
        if guid in seen:
            continue
        seen.add(guid)
        rest = _text(block).replace(title, "", 1).strip()
        entries.append(
            RawEntry(
                guid=guid,
                link=url,
                title=html.escape(title),
                summary=html.escape(rest[:SUMMARY_CHARS]),
                content="",
                published=_date(block, selectors, title),
                lang=detect(f"{title}. {rest}", page_lang),
            )
        )
    if not entries:
        what = f"the item selector {selectors.item!r}" if selectors.item else "repeated link blocks"
        raise ParseError(f"no items found on the page by {what}")
    page_title = tree.css_first("title")
    return ParsedFeed(
        title=_text(page_title),
        link=page_url,
        lang=None,
        entries=tuple(entries),
        bozo=None,
        encoding=detected,
    )


class SelectorsConfig(BaseModel):
    """``selectors:`` of a page in a config file."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=300)
    title: str = Field(default="", max_length=300)
    link: str = Field(default="", max_length=300)
    date: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _valid_css(self) -> SelectorsConfig:
        self.to_selectors().check()
        return self

    def to_selectors(self, timezone: str = "UTC") -> PageSelectors:
        return PageSelectors(self.item, self.title, self.link, self.date, timezone)
