"""An article's language is detected on the bot's side, for new articles only, as the parse
worker used to detect it; the parse worker never loads the language model."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.language import detect
from peacewatch.watchers.parse import FeedParserPool
from peacewatch.watchers.text import html_to_text
from tests.helpers import Clock, open_app

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
MIXED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>POLITICO</title>'
    "<language>en-us</language>"
    "<item><guid>a</guid><title>Witkoff, Kushner to attend Coalition of the Willing meeting</title>"
    "<description>Ukraine’s allies aim to hash out key details of a possible ceasefire deal."
    "</description></item>"
    "<item><guid>b</guid><title>Selenskyj trifft die Koalition der Willigen in Paris</title>"
    "<description>Die Verbündeten der Ukraine beraten über Sicherheitsgarantien für das Land."
    "</description></item>"
    "<item><guid>c</guid><title>Віткофф зустрівся з Путіним у Москві</title>"
    "<description>Спецпосланець США провів переговори про мирний план.</description></item>"
    "<item><guid>d</guid><title>Ok</title></item>"
    "<item><guid>e</guid><title>Sommet à Paris</title><language>fr</language>"
    "<description>Die Verbündeten der Ukraine beraten über Sicherheitsgarantien.</description>"
    "</item></channel></rss>"
).encode()


def expected_languages(body: bytes) -> dict[str, str | None]:
    """Title -> language as parsing used to set it in the parse worker: the item's declared
    language, else a confident detection on its title and summary, else the feed's language."""
    result = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    declared = result.feed.get("language") or None
    base = declared.split("-")[0].lower() if declared else None
    out: dict[str, str | None] = {}
    for entry in result.entries:
        title, summary = entry.get("title", ""), entry.get("summary", "")
        lang = entry.get("language") or detect(html_to_text(f"{title}. {summary}"), base)
        out[html_to_text(title)] = lang.split("-")[0].lower() if lang else None
    return out


async def test_new_articles_keep_the_language_the_parser_gave_them(tmp_path: Path) -> None:
    from tests.fakes.feed_server import FeedServer

    feeds = {"mixed": MIXED, "bbc": (DATA / "bbc.xml").read_bytes()}
    feeds["liga"] = (DATA / "liga_ru.xml").read_bytes()
    got: dict[str, str | None] = {}
    async with FeedServer() as server:
        app = await open_app(None, tmp_path, Clock(NOW), io.StringIO())
        try:
            for name, body in feeds.items():
                server.set_feed(f"/{name}.xml", body)
                feed = FeedSpec(name, server.url(f"/{name}.xml"), 600, name, "t1")
                await app.feeds.put(feed)
                assert (await app.poller.poll(feed)).status == "ok"
            for entry in await app.ingest.read_after("0", count=1000):
                assert entry.article is not None
                got[entry.article.title] = entry.article.lang
        finally:
            await app.close()
    expected: dict[str, str | None] = {}
    for body in feeds.values():
        expected.update(expected_languages(body))
    assert got == expected
    # the mixed feed declares English; detection (and an item's own declaration) wins
    assert [got[t] for t in ("Selenskyj trifft die Koalition der Willigen in Paris",
                             "Віткофф зустрівся з Путіним у Москві", "Ok",
                             "Sommet à Paris")] == ["de", "uk", "en", "fr"]  # fmt: skip


def worker_state() -> tuple[bool, int]:
    """In a parse worker: whether the language detector was imported, and the peak RSS (kB)."""
    status = Path("/proc/self/status").read_text()
    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return "py3langid" in sys.modules, int(hwm.split()[1])


async def test_the_parse_worker_never_loads_the_language_model() -> None:
    pool = FeedParserPool()
    try:
        parsed: Any = [
            await pool.parse(body) for body in (MIXED, (DATA / "liga_ru.xml").read_bytes())
        ]
        loaded, hwm_kb = await pool.run(worker_state)
    finally:
        await pool.aclose()
    assert any(e.lang_pending for p in parsed for e in p.entries)
    assert not loaded
    assert hwm_kb < 200 * 1024  # the model alone took the worker's peak near 300 MB
