"""HTML to plain text, for feed summaries and content."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
    ]
)
_SKIP = frozenset(("script", "style", "noscript", "template", "svg", "iframe", "object"))
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_NEWLINES = re.compile(r"\s*\n\s*")
# Feeds cut descriptions mid-tag (`<a href="https://www.theguardia`): drop the stump.
_TAG_STUMP = re.compile(r"<[A-Za-z/!][^<>]*$")
_ENTITY_LEFT = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment: tags dropped, entities decoded, whitespace tidied.

    Plain text passes through (entities are still decoded). Never raises on broken markup.
    """
    if not markup:
        return ""
    if "<" not in markup:
        text = html.unescape(markup)
    else:
        parser = _TextExtractor()
        parser.feed(_TAG_STUMP.sub("", markup))
        parser.close()
        text = "".join(parser.parts)
    if _ENTITY_LEFT.search(text):  # double-escaped entities are common in feeds (&amp;#8217;)
        text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()
