"""One poll of each source kind through the real poller: items found and how long a poll takes.

    .venv/bin/python bench/source_polls.py --rounds 20

Serves the saved pages of tests/data/sources/ (a Telegram channel preview, statement pages of
president.gov.ua, kremlin.ru and mid.ru in their layouts) and one RSS feed from 127.0.0.1,
opens the app on its embedded Redis, and polls each source through ``Poller.poll`` (fetch,
parse in the worker process, normalise, ingest): first a poll that queues every item, then
``--rounds`` polls of a changed copy (every item new again, so each poll does the whole work),
then one conditional poll (304). Prints, per source, the items, the median and worst poll time
of the full polls and the 304 time. Traffic goes to 127.0.0.1 only; it ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from peacewatch.store.feeds import FeedSpec  # noqa: E402
from peacewatch.watchers.pages import PageSelectors  # noqa: E402
from peacewatch.watchers.poller import PollPolicy  # noqa: E402
from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.helpers import Clock, open_app  # noqa: E402

DATA = REPO / "tests" / "data" / "sources"
MID = PageSelectors(".announce__item", ".announce__link", "", ".announce__date", "Europe/Moscow")
SOURCES = [
    ("telegram t.me/s/MID_Russia", "tg_mid_russia_2.html", "telegram", ()),
    ("page president.gov.ua (auto)", "president_ua_3.html", "page", ()),
    ("page kremlin.ru (auto, <time>)", "kremlin_ru.html", "page", ()),
    ("page mid.ru (selectors, cp1251)", "mid_ru_cp1251.html", "page", MID.pairs()),
    ("rss bbc.xml (for comparison)", "../bbc.xml", "rss", ()),
]


def changed(body: bytes, round_no: int, kind: str) -> bytes:
    """The same page with every item new: numbers and links shifted by the round."""
    if kind == "telegram":
        return body.replace(b"MID_Russia/5", f"MID_Russia/{round_no + 6}".encode())
    return body.replace(b"/news/", f"/news/r{round_no}/".encode()).replace(
        b"/ru/foreign_policy/news/", f"/ru/foreign_policy/news/r{round_no}/".encode()
    )


async def main(rounds: int) -> None:
    clock = Clock(datetime(2025, 12, 1, tzinfo=UTC))
    policy = PollPolicy(backfill=None, max_age=None)
    print(f"{'source':34} {'items':>5} {'first':>8} {'median':>8} {'worst':>8} {'304':>7}")
    async with FeedServer() as server:
        with tempfile.TemporaryDirectory() as data_dir:
            app = await open_app(None, Path(data_dir), clock, io.StringIO(), policy=policy)
            try:
                for index, (label, name, kind, selectors) in enumerate(SOURCES):
                    body = (DATA / name).read_bytes()
                    ctype = "application/rss+xml" if kind == "rss" else "text/html; charset=utf-8"
                    path = f"/src{index}"
                    feed = FeedSpec(f"s{index}", server.url(path), kind=kind, selectors=selectors)
                    server.set_feed(path, body, content_type=ctype)
                    started = time.perf_counter()
                    first = await app.poller.poll(feed)
                    first_ms = (time.perf_counter() - started) * 1000
                    times = []
                    for round_no in range(rounds):
                        server.set_feed(path, changed(body, round_no, kind), content_type=ctype)
                        started = time.perf_counter()
                        result = await app.poller.poll(feed)
                        times.append((time.perf_counter() - started) * 1000)
                        assert result.status == "ok", result
                    started = time.perf_counter()
                    again = await app.poller.poll(feed)
                    not_modified_ms = (time.perf_counter() - started) * 1000
                    assert again.status == "not_modified", again
                    print(
                        f"{label:34} {first.items:>5} {first_ms:>6.1f}ms "
                        f"{statistics.median(times):>6.1f}ms {max(times):>6.1f}ms "
                        f"{not_modified_ms:>5.1f}ms"
                    )
                    await app.assigner.drain()
            finally:
                await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
