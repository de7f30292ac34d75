"""Test helpers: RSS built from real sample items, and an App wired to the test Redis."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from peacewatch.app import App
from peacewatch.bot.console import ConsoleSink
from peacewatch.settings import Settings
from peacewatch.watchers.fetch import FetchLimits
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.poller import PollPolicy
from tests.ports import free_port as free_port

# Real items from ../shared/samples/items.jsonl, text as published.
SAMPLE_ITEMS: list[dict[str, str]] = [
    {
        "title": "Trump Envoy Witkoff Plans Second Meeting With Putin – Reports",
        "summary": "Steve Witkoff’s trip to Moscow is allegedly timed to coincide with "
        "U.S.-Ukrainian talks in Saudi Arabia on Tuesday, Bloomberg reported.",
        "link": "https://www.themoscowtimes.com/2025/03/11/trump-envoy-witkoff-plans-second-meeting-with-putin-reports-a88314",
    },
    {
        "title": "Russian envoy Kirill Dmitriev: Putin propagandist or key to peace with Ukraine?",
        "summary": "Putin's envoy finds himself under the spotlight over a draft peace plan that "
        "emerged after he spent days with Steve Witkoff in Miami.",
        "link": "https://www.bbc.com/news/articles/c3rjr2r72gpo",
    },
    {
        "title": "Witkoff, Kushner to attend Ukraine Coalition of the Willing meeting",
        "summary": "Ukraine’s allies aim to hash out key details of a possible ceasefire deal.",
        "link": "https://www.politico.eu/article/witkoff-kushner-to-attend-ukraine-coalition-of-the-willing-meeting",
    },
    {
        "title": "Trump Says Envoy Witkoff Will Meet Putin in Moscow as Peace Deal 'Close'",
        "summary": 'The U.S. leader said Washington was now "very close" to striking a deal, '
        "while European leaders remained skeptical.",
        "link": "https://www.themoscowtimes.com/2025/11/25/trump-says-envoy-witkoff-will-meet-putin-in-moscow-as-peace-deal-close-a91231",
    },
]
UNRELATED = {
    "title": "Alaska earthquake shakes Anchorage",
    "summary": "A strong earthquake struck southern Alaska on Friday, officials said.",
    "link": "https://example.org/alaska-quake",
}


def samples_dir() -> Path:
    """The shared sample archive: PEACEWATCH_SAMPLES, else ../shared/samples beside the
    repository (where CI puts it), else the workplace's copy."""
    given = os.environ.get("PEACEWATCH_SAMPLES")
    if given:
        return Path(given)
    beside = Path(__file__).resolve().parents[2] / "shared" / "samples"
    return beside if beside.exists() else Path("/work/shared/samples")


def rss(items: list[dict[str, Any]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document; each item needs title, summary, link and a ``published`` datetime."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://example.org/</link>",
        "<description>test</description><language>en</language>",
    ]
    for item in items:
        parts.append(
            "<item>"
            f"<title>{escape(item['title'])}</title>"
            f"<link>{escape(item['link'])}</link>"
            f'<guid isPermaLink="false">{escape(item.get("guid", item["link"]))}</guid>'
            f"<description>{escape(item['summary'])}</description>"
            f"<pubDate>{format_datetime(item['published'])}</pubDate>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def dated(items: list[dict[str, str]], start: datetime, step: timedelta) -> list[dict[str, Any]]:
    return [{**item, "published": start + i * step} for i, item in enumerate(items)]


def redis_url(target: dict[str, Any]) -> str:
    if "url" in target:
        return str(target["url"])
    return f"unix://{target['unix_socket_path']}"


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def open_app(
    redis: str | None,
    data_dir: Any,
    clock: Clock,
    out: io.StringIO,
    limits: FetchLimits | None = None,
    policy: PollPolicy | None = None,
) -> App:
    settings = Settings(PEACEWATCH_DATA_DIR=data_dir, REDIS_URL=redis)
    return await App.open(
        settings,
        poll_policy=policy or PollPolicy(),
        sinks=[ConsoleSink(out)],
        guard=GuardPolicy(allow_networks=("127.0.0.1/32",)),
        limits=limits,
        clock=clock,
    )


REPO_ROOT = Path(__file__).resolve().parents[1]


async def start_run(
    config: Path,
    data_dir: Path,
    port: int,
    extra: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> asyncio.subprocess.Process:
    """``peacewatch run --config CONFIG`` as a subprocess on the embedded Redis, serving HTTP
    on 127.0.0.1:``port``, feeds allowed on loopback only, without the caller's chat tokens;
    ``extra`` adds environment variables, ``args`` options of ``run``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "PEACEWATCH_DATA_DIR": str(data_dir),
        "PEACEWATCH_HTTP_PORT": str(port),
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
        "PEACEWATCH_ALLOW_NETWORKS": "127.0.0.1/32",
        **(extra or {}),
    }
    env.pop("REDIS_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peacewatch", "run", "--config", str(config), *(args or []),
        cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
