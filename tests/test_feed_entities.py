"""Entities a feed declares are never expanded: not by feedparser's lenient parser, not by expat."""

from __future__ import annotations

import codecs
import subprocess
import sys

import pytest

from peacewatch.errors import ParseError
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.parse import FeedParserPool, parse_bytes
from tests.fakes.feed_server import FeedServer

VALUE = "A" * 10_000
REFERENCES = "&a;" * 2_000


def feed(subset: str, *, before_root: str = "", description: str = REFERENCES) -> str:
    """An RSS feed whose DOCTYPE has ``subset`` as its internal subset (none when empty)."""
    doctype = f"<!DOCTYPE rss [\n{subset}\n]>\n" if subset else "<!DOCTYPE rss>\n"
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<!-- a "quoted" comment\'s [ ] -->\n{doctype}'
        f"{before_root}"
        '<rss version="2.0"><channel><title>Feed&nbsp;title</title>'
        "<item><title>Witkoff&nbsp;meets Umerov</title><link>https://example.org/a</link>"
        f"<description>{description}</description></item></channel></rss>"
    )


BOMB = feed(f'<!ENTITY a "{VALUE}">\n<!ENTITY nbsp "&#160;">')
"""16 KB that feedparser read as a 20-million-character description."""


def longest_text(body: bytes, content_type: str | None = None) -> int:
    parsed = parse_bytes(body, content_type)
    assert [e.title for e in parsed.entries] == ["Witkoff\xa0meets Umerov"]
    return max(len(e.summary) for e in parsed.entries)


def test_a_declared_entity_is_not_expanded_however_often_it_is_named() -> None:
    assert longest_text(BOMB.encode()) <= len(REFERENCES)


def test_an_entity_of_one_character_reads_as_that_character_and_the_feed_stays_well_formed() -> (
    None
):
    # old RSS feeds declare &nbsp; as &#160;: written in place, expat still reads the whole feed
    # (no fallback to the lenient parser, which kept &amp; in ids)
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n'
        b"<!ENTITY mdash '&#x2014;'>\n]>\n"
        b'<rss version="2.0"><channel><title>Feed&nbsp;title</title><item>'
        b"<title>Witkoff&nbsp;meets Umerov&mdash;again</title>"
        b'<guid isPermaLink="false">https://example.org/?p=1&amp;lang=en</guid>'
        b"<link>https://example.org/a</link></item></channel></rss>"
    )
    parsed = parse_bytes(body)
    assert parsed.bozo is None and parsed.title == "Feed\xa0title"
    (entry,) = parsed.entries
    assert entry.title == "Witkoff\xa0meets Umerov\u2014again"
    assert entry.guid == "https://example.org/?p=1&lang=en"


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"], ids=lambda e: e
)
def test_a_feed_in_utf16_or_utf32_gets_the_same_treatment(encoding: str) -> None:
    body = BOMB.replace('encoding="utf-8"', f'encoding="{encoding}"').encode(encoding)
    if encoding == "utf-32":
        assert body.startswith(codecs.BOM_UTF32_LE)
    assert longest_text(body) <= len(REFERENCES)


def declared_in(encoding: str, text: str, declaration: str = "") -> bytes:
    """``text`` in ``encoding`` after an ASCII declaration saying so (no byte-order mark)."""
    head = (declaration or f'<?xml version="1.0" encoding="{encoding}"?>').encode("ascii")
    rest = text.split("?>", 1)[1].encode(encoding)
    if encoding == "utf-7":  # "!", "[" and "]" may be written shifted: so a hostile feed would
        for plain, shifted in ((b"!", b"+ACE-"), (b"[", b"+AFs-"), (b"]", b"+AF0-")):
            rest = rest.replace(plain, shifted)
    if encoding.startswith("utf-16") and len(head) % 2:
        head += b" "
    return head + rest


@pytest.mark.parametrize(
    ("encoding", "declaration"),
    [
        ("utf-7", ""),
        ("utf-7", '<?feed encoding="utf-7"?>'),  # feedparser reads the first such instruction
        ("utf-16-le", '<?xml version="1.0" encoding="utf-16"?>'),
        ("cp037", ""),  # EBCDIC
    ],
    ids=["utf-7", "utf-7 in another instruction", "utf-16 declared in ASCII", "cp037"],
)
def test_a_feed_declaring_an_encoding_whose_markup_bytes_differ_is_not_expanded_either(
    encoding: str, declaration: str
) -> None:
    body = declared_in(encoding, BOMB, declaration)
    assert b"<!ENTITY" not in body  # the declarations are in other bytes than UTF-8's
    parsed = parse_bytes(body)
    assert [e.title for e in parsed.entries] == ["Witkoff\xa0meets Umerov"]
    assert max(len(e.summary) for e in parsed.entries) <= len(REFERENCES)


def test_hostile_declarations_are_read_in_one_pass() -> None:
    # an unterminated comment at each step of an internal subset, and entity declarations left
    # open: each was searched for again from every place (minutes for a megabyte); the run is
    # bounded by a minute and takes a fraction of a second
    code = (
        "from peacewatch.errors import ParseError\n"
        "from peacewatch.watchers.doctype import without_declarations\n"
        "try:\n"
        "    without_declarations(b'<!DOCTYPE rss [' + b'<!--x>' * 400_000 + b']><rss/>')\n"
        "except ParseError:\n"
        "    pass\n"
        "without_declarations(b'<!ENTITY' * 300_000)\n"
        "print('done')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "done"


def test_declarations_whose_values_hold_markup_characters_are_taken_out_whole() -> None:
    subset = (
        "<!-- an entity's ] and > in a comment -->\n"
        f'<!ENTITY b \'>]"\'>\n<?pi ]> ?>\n<!ENTITY % p "x">\n%p;\n<!ENTITY a "{VALUE}">'
    )
    assert longest_text(feed(subset).encode()) <= len(REFERENCES)


def test_an_entity_declared_outside_the_doctype_is_not_expanded_either() -> None:
    # feedparser collects entity declarations anywhere before the first element
    body = feed("", before_root=f'<!ENTITY a "{VALUE}">\n').encode()
    assert longest_text(body) <= len(REFERENCES)


def test_a_doctype_whose_declarations_cannot_be_read_is_refused_with_the_place() -> None:
    with pytest.raises(ParseError, match=r"DOCTYPE cannot be read \(byte "):
        parse_bytes(feed(f'<!ENTITY a "{VALUE}">\n<!ENTITY b "never closed>').encode())
    with pytest.raises(ParseError, match="DOCTYPE never ends"):
        parse_bytes(b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//x//EN" "rss.dtd"')


def test_an_external_doctype_and_no_doctype_read_as_before() -> None:
    netscape = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS '
        '0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        '<rss version="0.91"><channel><title>T</title><item><title>Witkoff&nbsp;meets Umerov'
        "</title><link>https://example.org/a</link><description>talks &amp; more"
        "</description></item></channel></rss>"
    )
    assert longest_text(netscape.encode()) == len("talks & more")
    plain = netscape.split("\n", 2)[2]
    assert longest_text(plain.encode()) == len("talks & more")


async def test_a_feed_fetched_and_parsed_as_the_watchers_do_is_read_unexpanded() -> None:
    body = BOMB.encode()
    local = GuardPolicy(allow_networks=("127.0.0.1/32",))
    async with FeedServer() as server, Fetcher(local) as fetcher:
        server.set_feed("/bomb", body)
        fetched = await fetcher.fetch(server.url("/bomb"))
        pool = FeedParserPool()
        try:
            parsed = await pool.parse(fetched.body, fetched.content_type)
        finally:
            await pool.aclose()
    assert [len(e.summary) for e in parsed.entries] == [len(REFERENCES)]
