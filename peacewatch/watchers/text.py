"""HTML to plain text, for feed summaries and content, without the feeds' furniture."""

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
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]{2,}|[\t\u00a0\u2009\u202f]")
"""A run of spaces to make one plain space (a lone plain space is one already)."""
_ODD_SPACES = ("  ", "\t", "\u00a0", "\u2009", "\u202f")
_SURROGATES = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a JSON ``\\ud800`` escape, a character reference to
    one) made U+FFFD: such a string cannot be encoded as UTF-8, for Redis, the matcher or a
    chat platform."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


# Feeds cut descriptions mid-tag (`<a href="https://www.theguardia`): drop the stump.
_TAG_STUMP = re.compile(r"<[A-Za-z/!][^<>]*$")
_ENTITY_LEFT = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")
# Feed furniture: lines that are the feed's or the page's, never the article's. Each is a whole
# line once block tags became line breaks (Reddit's "submitted by /u/x" and "[link] [comments]",
# the Guardian's "Continue reading...", a page's "Advertisement").
_FURNITURE_LINE = re.compile(
    r"(?:submitted\s+by\s+/?u/\S+(?:\s*\[link\])?(?:\s*\[comments\])?"
    r"|\[link\]\s*\[comments\]|\[link\]|\[comments\]"
    r"|(?:continue|keep)\s+reading|read\s+more\b.{0,80}|read\s+the\s+full\s+(?:story|article)"
    r"|advertisement|sponsored|watch(?:\s+the)?\s+video(?:\s+below)?|video\s+below"
    r"|get\s+our\s+breaking\s+news\s+email.*|follow\s+our\s+.{0,60}\blive\s+blog.*"
    r"|(?:updated|last\s+updated)(?:\s+at)?\s*\d{1,2}[.:]\d{2}\s*(?:[ap]\.?m\.?)?"
    r"\s*(?:GMT|BST|UTC|CET|CEST|EET|EEST|MSK|ET|EST|EDT|PT|PST|PDT)?"
    r"|\d{1,2}[.:]\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:GMT|BST|UTC|CET|CEST|EET|EEST|MSK|ET|EST|EDT)?"
    r"|(?:subscribe|follow|find|check|download|watch|listen|sign\s+up|join)\b[^\n]{0,60}:\s*"
    r"(?:https?://|www\.)\S+"
    r"|(?:#\w+\s*)+)"
    r"[\s.…:!|–—-]*",
    re.IGNORECASE,
)
# A live blog's timestamp opening an entry ("10.32 GMT – Zelenskyy says ...", "14:05 BST: ...").
_TIMESTAMP_LEAD = re.compile(
    r"^(?:updated(?:\s+at)?\s*)?\d{1,2}[.:]\d{2}\s*(?:[ap]\.?m\.?)?\s*"
    r"(?:GMT|BST|UTC|CET|CEST|EET|EEST|MSK|ET|EST|EDT)\b\s*[:–—-]?\s*",
    re.IGNORECASE,
)
# The same furniture closing a paragraph ("... sparking a blaze. Continue reading...").
_FURNITURE_TAIL = re.compile(
    r"\s*(?:(?:continue|keep)\s+reading|read\s+more|advertisement)\s*(?:\.\.\.|…)?\s*$",
    re.IGNORECASE,
)


def _may_end_in_furniture(line: str) -> bool:
    """Whether ``line`` ends the way ``_FURNITURE_TAIL`` needs (a cheap test before the
    regex, which tries every position of the line)."""
    end = line.rstrip()
    end = end[:-3] if end.endswith("...") else end[:-1] if end.endswith("…") else end
    return end.rstrip()[-13:].lower().endswith(("reading", "more", "advertisement"))


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
    markup = without_surrogates(markup)
    if "<" not in markup:
        text = html.unescape(markup)
    else:
        parser = _TextExtractor()
        parser.feed(_TAG_STUMP.sub("", markup))
        parser.close()
        text = "".join(parser.parts)
    if _ENTITY_LEFT.search(text):  # double-escaped entities are common in feeds (&amp;#8217;)
        text = without_surrogates(html.unescape(text))
    if any(space in text for space in _ODD_SPACES):  # most texts have none: no scan
        text = _SPACES.sub(" ", text)
    return strip_furniture(_tidy_newlines(text).strip())


def _tidy_newlines(text: str) -> str:
    """``text`` with each run of white space that holds a line break made one line break (a
    regex substitution tries every position of the text; str.strip works a line at a time)."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    last = len(lines) - 1
    kept = [lines[0].rstrip()]  # the first and the last line keep their outer sides
    for line in lines[1:last]:
        line = line.strip()
        if line:  # a blank line is inside the run
            kept.append(line)
    kept.append(lines[last].lstrip())
    return "\n".join(kept)


def strip_furniture(text: str) -> str:
    """``text`` without feed furniture: Reddit's "submitted by /u/x [link] [comments]",
    "Continue reading...", "Read more ...", "Advertisement", "Watch video below", a live
    blog's bare or leading timestamps. Lines are kept otherwise as they are."""
    kept = []
    for line in text.split("\n"):
        if _FURNITURE_LINE.fullmatch(line.strip()):
            continue
        lead = _TIMESTAMP_LEAD.match(line)
        if lead is not None:
            line = line[lead.end() :]
        if len(line) > 20 and _may_end_in_furniture(line):
            line = _FURNITURE_TAIL.sub("", line)
        if line.strip():
            kept.append(line)
    return "\n".join(kept).strip()
