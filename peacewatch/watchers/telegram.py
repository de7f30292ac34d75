"""Public Telegram channels read from their web preview (``https://t.me/s/NAME``), no account.

The preview lists a channel's latest posts (about twenty) in one page. Each post is a
``div.tgme_widget_message`` whose ``data-post`` is ``NAME/NUMBER``; it holds the text (for a
photo, video or document post the text is its caption), the time (``<time datetime>``), and,
for a forwarded post, the channel it came from. A post becomes one entry:

* id ``NAME/NUMBER`` (stable across polls, whatever else changes on the page);
* title: the first line of the text, clipped; summary: the whole text, led by
  "Forwarded from X (link)" for a forwarded post, followed by document titles, link-preview
  titles and poll questions;
* link ``https://t.me/NAME/NUMBER``; source ``t.me/NAME``, so two channels count as two
  outlets.

A name that is private, gone, or not a channel has no preview: ``t.me/s/NAME`` then redirects to
``t.me/NAME``, a page without posts or channel header. That is a :class:`ParseError` saying so.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from selectolax.lexbor import LexborNode

from peacewatch.errors import InputError, ParseError
from peacewatch.watchers.htmlpage import html_tree
from peacewatch.watchers.language import detect
from peacewatch.watchers.parse import ParsedFeed, RawEntry

PREVIEW_BASE = "https://t.me/s/"
MIN_INTERVAL = 60
"""Seconds; a channel is never polled more often (one preview request per poll)."""
TITLE_CHARS = 140
MAX_POSTS = 100
"""Posts read from one page (the newest): a real preview shows about 20; a hostile page full of
tiny posts must not keep the parser busy for minutes."""
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_POST = re.compile(r"^([A-Za-z][A-Za-z0-9_]{3,31})/(\d{1,12})$")


def channel_name(text: str) -> str:
    """``NAME`` of ``NAME``, ``@NAME``, ``tg:NAME``, ``t.me/NAME`` or ``https://t.me/s/NAME``.

    Raises InputError when what is left is not a public channel name (5-32 letters, digits and
    underscores, starting with a letter).
    """
    name = text.strip()
    name = re.sub(r"^(?:tg:|telegram:)", "", name, flags=re.I)
    name = re.sub(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?", "", name, flags=re.I)
    name = name.lstrip("@").strip("/")
    if not _NAME.match(name):
        raise InputError(
            f"{text.strip()[:60]!r} is not a public Telegram channel name (5-32 letters, "
            "digits or _, starting with a letter, e.g. tg:mfa_russia)"
        )
    return name


def preview_url(name: str) -> str:
    """The web preview of a public channel, ``https://t.me/s/NAME``."""
    return PREVIEW_BASE + channel_name(name)


def _text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    # <br> separates lines in a post; lexbor's text() would glue them together.
    for br in node.css("br"):
        br.replace_with("\n")
    lines = (" ".join(line.split()) for line in node.text(separator="").split("\n"))
    return "\n".join(line for line in lines if line)


def _title(text: str) -> str:
    first = next((line for line in text.split("\n") if line.strip()), "")
    if len(first) <= TITLE_CHARS:
        return first
    cut = first[:TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-–—") + "…"


def _published(post: LexborNode) -> float | None:
    node = post.css_first(".tgme_widget_message_date time[datetime]") or post.css_first(
        "time[datetime]"
    )
    value = node.attributes.get("datetime") if node is not None else None
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo is not None else None


def _forwarded(post: LexborNode) -> str:
    node = post.css_first(".tgme_widget_message_forwarded_from")
    if node is None:
        return ""
    origin = node.css_first(".tgme_widget_message_forwarded_from_name")
    name = " ".join((origin or node).text().split()).removeprefix("Forwarded from ").strip()
    href = origin.attributes.get("href") if origin is not None else None
    return f"Forwarded from {name}" + (f" ({href})" if href else "") + "."


def _extras(post: LexborNode) -> list[str]:
    """Titles of attached documents, link previews and polls: often all a media post says."""
    found = []
    for selector in (
        ".tgme_widget_message_document_title",
        ".link_preview_title",
        ".link_preview_description",
        ".tgme_widget_message_poll_question",
    ):
        for node in post.css(selector):
            text = " ".join(node.text().split())
            if text and text not in found:
                found.append(text)
    return found


def _entry(post: LexborNode, channel: str, number: str) -> RawEntry | None:
    if "service_message" in (post.attributes.get("class") or "").split():
        return None  # "channel photo updated", "pinned a message"
    for reply in post.css(".tgme_widget_message_reply"):
        reply.decompose()  # the quoted post a reply points at is not this post's text
    text = _text(
        post.css_first(".tgme_widget_message_text.js-message_text")
        or post.css_first(".tgme_widget_message_text")
    )
    extras = _extras(post)
    forwarded = _forwarded(post)
    if not text and not extras:
        return None  # a bare photo or sticker: nothing a rule could match
    body = "\n".join(part for part in (forwarded, text, *extras) if part)
    title = _title(text or extras[0])
    return RawEntry(
        guid=f"{channel}/{number}",
        link=f"https://t.me/{channel}/{number}",
        title=html.escape(title),  # plain text: a "<" in a post is a character, not a tag
        summary="<br>".join(html.escape(line) for line in body.split("\n")),
        content="",
        published=_published(post),
        lang=detect(f"{title}. {text}", None),
        source=f"t.me/{channel.lower()}",
    )


def parse_channel(data: bytes, content_type: str | None = None) -> ParsedFeed:
    """The posts of a channel's web preview page, oldest first as the page lists them.

    Raises ParseError when the page is not a channel preview (the channel is private, gone,
    or the name is a person or bot).
    """
    tree, detected = html_tree(data, content_type)
    posts = tree.css("div.tgme_widget_message[data-post]")
    header = tree.css_first(".tgme_channel_info_header_title")
    if not posts and header is None:
        said = tree.css_first(".tgme_page_description") or tree.css_first(".tgme_page_title")
        shown = " ".join(said.text().split())[:100] if said is not None else ""
        raise ParseError(
            "no public Telegram channel here: the channel is private, gone, or not a channel"
            + (f" (the page shows {shown!r})" if shown else "")
        )
    channel_title = " ".join(header.text().split()) if header is not None else ""
    entries = []
    for post in posts[-MAX_POSTS:]:
        found = _POST.match(post.attributes.get("data-post") or "")
        if found is None:
            continue
        entry = _entry(post, found.group(1), found.group(2))
        if entry is not None:
            entries.append(entry)
    username = tree.css_first(".tgme_channel_info_header_username a")
    link = username.attributes.get("href") if username is not None else None
    return ParsedFeed(
        title=channel_title,
        link=link,
        lang=None,
        entries=tuple(entries),
        bozo=None,
        encoding=detected,
    )
