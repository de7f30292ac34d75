"""Alerts as a channel would show them: whole days of the sample feed exports through the pipeline
to a local Slack fake, printed as a newsroom reads them, with counts of what should never show.

Every entry of the chosen outlets' feeds (related or not) is normalised as the watchers do it and
ingested in publication order, with the clock at each article's time; the alerts go through the
real dispatcher and Slack sink to the fake Web API on 127.0.0.1 (no network). The script prints
each top-level message, its thread replies and the last edit of the root, then the counts.

    python scripts/review_alerts.py [--samples ../shared/samples] [--days 2026-01-06]
    python scripts/review_alerts.py --items tests/data/golden_items.jsonl \
        --capture tests/golden/alerts.jsonl

``--items`` reads chosen entries (JSON lines with the export's fields and ``feed_title``)
instead of whole days; ``--capture`` also writes every queued alert, in queue order, as the
JSON the alert queue keeps (the input of ``tests/test_golden_alerts.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peacewatch.app import App  # noqa: E402
from peacewatch.bot.slack_adapter import ChannelPacer, SlackSink, SlackTokens  # noqa: E402
from peacewatch.pipeline.wording import display_name  # noqa: E402
from peacewatch.rules.entities import builtin_dictionary  # noqa: E402
from peacewatch.rules.rulefile import RuleSpec  # noqa: E402
from peacewatch.services.dispatcher import Dispatcher  # noqa: E402
from peacewatch.settings import Settings  # noqa: E402
from peacewatch.store.codec import alert_to_json  # noqa: E402
from peacewatch.watchers.normalise import normalise  # noqa: E402
from peacewatch.watchers.parse import RawEntry  # noqa: E402
from tests.fakes.slack_api import FakeSlack, Message  # noqa: E402

OUTLETS = (
    "www.reddit.com.r.worldnews..rss",
    "www.theguardian.com.world.rss",
    "feeds.bbci.co.uk.news.world.europe.rss.xml",
    "www.aljazeera.com.xml.rss.all.xml",
    "www.politico.eu.feed",
    "rss.nytimes.com.services.xml.rss.nyt.World.xml",
    "feeds.skynews.com.feeds.rss.world.xml",
    "www.themoscowtimes.com.rss.news",
    "www.cbc.ca.webfeed.rss.rss-topstories",
    "www.lemonde.fr.en.rss.une.xml",
    "feeds.npr.org.1001.rss.xml",
    "feeds.nbcnews.com.nbcnews.public.world",
    "www.channelnewsasia.com.api.v1.rss-outbound-feed._format.xml",
    "www.ft.com.world.format.rss",
)
RULES = (
    RuleSpec(id="guarantees", query="topic:security_guarantees", channels=["slack:C1"]),
    RuleSpec(id="zelensky", query="Зеленський AND (talks OR peace)", channels=["slack:C1"]),
    RuleSpec(id="envoys", query="Witkoff OR Kushner", channels=["slack:C1"]),
    RuleSpec(
        id="troops",
        query='(troops OR "multinational force" OR peacekeeping) AND (Ukrain* OR Kyiv)',
        channels=["slack:C1"],
    ),
)
# ids that are not also a name (``ceasefire`` is both), longest first
_IDS = sorted(
    (e.id for e in builtin_dictionary().entities() if display_name(e, "en") != e.id),
    key=len,
    reverse=True,
)
LEAKS = {
    # an entity id where a name belongs: a multi-word id anywhere, or a field item that is one
    "entity id": re.compile(
        r"\b(?:" + "|".join(re.escape(i) for i in _IDS if "_" in i) + r")\b"
        r"|(?:Actors|Places|Topics|Matched)\*?:\s(?:[^\n]*, )?(?:"
        + "|".join(re.escape(i) for i in _IDS)
        + r")(?:,|$)",
        re.MULTILINE,
    ),
    "topic: syntax": re.compile(r"\b(topic|actor|place):\w"),
    "furniture": re.compile(
        r"submitted by|\[link\]|\[comments\]|Read more|Continue reading|Advertisement"
        r"|Watch video below",
        re.I,
    ),
    "domains line": re.compile(r"^Also: ", re.MULTILINE),
}
_LINK_TARGET = re.compile(r"<[^|>]+\|")


class _Time:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def load(samples: Path, days: list[str]) -> list[tuple[str, RawEntry, str]]:
    """(feed name, entry, feed url) of every dated entry of the chosen outlets on ``days``."""
    titles = {
        s["url"]: s["title"]
        for s in json.loads((samples / "feeds-2026-01" / "sources.json").read_text())
    }
    out = []
    for day in days:
        folder = samples / "feeds-2026-01" / "2026" / "01" / day
        for path in sorted(folder.glob("*.json")):
            if not any(path.name == f"https...{o}_entries.json" for o in OUTLETS):
                continue
            for entry in json.loads(path.read_text(encoding="utf-8")):
                if not entry.get("title") or not entry.get("date_published"):
                    continue
                when = datetime.fromisoformat(entry["date_published"].replace("Z", "+00:00"))
                raw = RawEntry(
                    guid=entry.get("link"),
                    link=entry.get("link"),
                    title=entry["title"],
                    summary=entry.get("description") or "",
                    content="",
                    published=when.timestamp(),
                    lang=entry.get("language"),
                )
                url = entry.get("source_url") or ""
                out.append((titles.get(url, url), raw, url))
    return out


def load_items(path: Path) -> list[tuple[str, RawEntry, str]]:
    """(feed title, entry, feed url) of each line of an items file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        raw = RawEntry(
            guid=item["link"],
            link=item["link"],
            title=item["title"],
            summary=item.get("description") or "",
            content="",
            published=datetime.fromisoformat(item["date_published"]).timestamp(),
            lang=item.get("language"),
        )
        out.append((item.get("feed_title") or "", raw, item.get("source_url") or item["link"]))
    return out


def show(message: dict[str, Any] | Message) -> str:
    """Blocks as plain lines, roughly as Slack shows them."""
    blocks = message["blocks"] if isinstance(message, dict) else message.blocks
    lines = []
    for block in blocks:
        if block["type"] in ("header", "section") and "text" in block:
            lines.append(block["text"]["text"])
        for field in block.get("fields", []):
            lines.append(field["text"].replace("\n", ": ", 1))
        if block["type"] == "context":
            lines.append(" | ".join(e["text"] for e in block["elements"]))
    return "\n".join(lines)


async def run(entries: list[tuple[str, RawEntry, str]], capture: Path | None = None) -> None:
    captured: list[str] = []
    entries.sort(key=lambda e: e[1].published or 0.0)
    with tempfile.TemporaryDirectory() as data:
        clock_now = [datetime.fromtimestamp(entries[0][1].published or 0.0, UTC)]
        app = await App.open(Settings(PEACEWATCH_DATA_DIR=data), clock=lambda: clock_now[0])
        try:
            for rule in RULES:
                await app.teams.put_rule("slack:T1", rule)
            app.pipeline.listeners.append(
                lambda result: captured.extend(alert_to_json(a) for a in result.alerts)
            )
            async with FakeSlack() as slack:
                time_ = _Time()
                sink = SlackSink(
                    SlackTokens("xoxb-review", None),
                    app.redis.client,
                    base_url=slack.base_url,
                    pacer=ChannelPacer(clock=time_.clock, sleep=time_.sleep),
                )
                dispatcher = Dispatcher(app.queue, {"slack": sink}, clock=time_.clock)
                for feed_title, raw, url in entries:
                    clock_now[0] = datetime.fromtimestamp(raw.published or 0.0, UTC)
                    article = normalise(
                        raw, feed_id=url, feed_url=url, feed_title=feed_title,
                        fetched_at=clock_now[0],
                    )  # fmt: skip
                    await app.ingest.submit([(article, True)])
                    await app.assigner.drain()
                    await dispatcher.drain()
                await sink.close()
                report(slack.messages, len(entries))
        finally:
            await app.close()
    if capture is not None:
        capture.write_text("".join(f"{c}\n" for c in captured), encoding="utf-8")  # noqa: ASYNC240


def check(blocks: list[dict[str, Any]]) -> list[str]:
    """What a message gets wrong: a headline shown twice, a story of 3 or more outlets shown
    Low (their points alone make it Normal), a follow-up whose outlet its list leaves out."""
    text = show({"blocks": blocks})
    problems = []
    if blocks and blocks[0]["type"] == "header":
        headline = blocks[0]["text"]["text"]
        if text.count(headline) > 1:
            problems.append("headline twice")
    count = re.search(r"Reported by (\d+) outlets", text)
    if count and int(count.group(1)) >= 3 and re.search(r"white_circle: Low", text):
        problems.append("Low at 3+ outlets")
    outlet = re.match(r"\*(?:Follow-up|Update) from (.+?):\*", text)
    if outlet and count and outlet.group(1) not in text.split("Reported by", 1)[1]:
        problems.append("new outlet unnamed")
    return problems


def report(messages: list[Message], articles: int) -> None:
    roots = [m for m in messages if m.thread_ts is None]
    counts = dict.fromkeys([*LEAKS, "headline twice", "Low at 3+ outlets", "new outlet unnamed"], 0)
    for root in roots:
        print("=" * 100)
        final = root.edits[-1] if root.edits else None
        print(show(final or root))
        if final:
            print(f"   (root edited {len(root.edits)} times; shown as last edited)")
        for reply in (m for m in messages if m.thread_ts == root.ts):
            print("   ↳ " + show(reply).replace("\n", "\n     "))
    for message in messages:
        texts = [
            _LINK_TARGET.sub("<", t) for t in [show(message)] + [show(e) for e in message.edits]
        ]
        for name, pattern in LEAKS.items():
            counts[name] += sum(len(pattern.findall(t)) for t in texts)
        for blocks in [message.blocks] + [e["blocks"] for e in message.edits]:
            problems = check(blocks)
            for name in problems:
                counts[name] = counts.get(name, 0) + 1
    print("=" * 100)
    print(f"{articles} articles, {len(roots)} root messages, {len(messages) - len(roots)} replies")
    print("leaks: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    parser.add_argument("--days", nargs="+", default=["2026-01-06"])
    parser.add_argument("--items", type=Path, help="chosen entries instead of whole days")
    parser.add_argument("--capture", type=Path, help="write the queued alerts here")
    args = parser.parse_args()
    entries = load_items(args.items) if args.items else load(args.samples, args.days)
    asyncio.run(run(entries, args.capture))


if __name__ == "__main__":
    main()
