"""The fault suite's harness: `peacewatch run` processes on a given Redis, fed one loopback
feed and posting to the Slack fake (or the Discord fake), waited on until every article is
placed and every queued alert settled, and the channel's alerts counted per alert identity
(Slack: the alert id in the message metadata; Discord: the message nonce made from the alert id)
as lost and doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import redis.asyncio as aioredis

from peacewatch.store import keys
from peacewatch.store.alert_queue import GROUP
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.faults.samples_stream import day_articles
from tests.helpers import REPO_ROOT, rss

DAY = "2026-01-06"
ITEMS = 50
"""Articles of the day in the feed: enough for a dozen alerts in two channels, some of them
follow-ups in a story's thread."""
SETTLE_LIMIT = 120.0
"""Seconds a run may take to place every article and settle every queued alert (a post cut
short by a crash keeps its sending lock 20 s before another attempt may check Slack)."""


def feed_body() -> tuple[bytes, int]:
    """The feed (RSS) and how many distinct articles it holds."""
    articles = day_articles(DAY, limit=ITEMS)
    items = [
        {"title": a.title, "summary": a.summary, "link": a.link, "published": a.published}
        for a in articles
    ]
    return rss(items), len({a.link for a in articles})


Platform = Literal["slack", "discord"]


def write_config(
    path: Path, feed_url: str, team: str = "slack:T1", channels: tuple[str, str] = ("C1", "C2")
) -> Path:
    """Two rules of ``team`` posting to two channels of its platform."""
    platform = team.partition(":")[0]
    one, two = (f"{platform}:{c}" for c in channels)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"team: {team}\n"
        "backfill_hours: null\n"
        "max_age_days: null\n"
        "feeds:\n"
        f"  - {{id: news, url: '{feed_url}', interval: 10}}\n"
        "rules:\n"
        f"  - {{id: leaders, query: 'Zelensky OR Witkoff', channels: ['{one}']}}\n"
        f"  - {{id: americas, query: 'Venezuela OR Maduro', channels: ['{two}']}}\n",
        encoding="utf-8",
    )
    return path


def slack_env(slack: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_MODE": "http",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "s" * 32,
        "SLACK_API_URL": slack.base_url,
    }


def discord_env(discord: FakeDiscord) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": discord.token,
        "DISCORD_API_URL": discord.api_url,
        "DISCORD_APPLICATION_ID": str(discord.application_id),
    }


@dataclass
class Bench:
    """One test's world: the feed server, the chat fake (Slack's, or Discord's when
    ``discord`` is set), the config and the Redis URL."""

    feeds: FeedServer
    slack: FakeSlack | None
    config: Path
    redis_url: str
    articles: int
    tmp: Path
    discord: FakeDiscord | None = None

    def chat_env(self) -> dict[str, str]:
        if self.discord is not None:
            return discord_env(self.discord)
        assert self.slack is not None
        return slack_env(self.slack)

    def posted(self) -> Counter[str]:
        """Alert identity -> how many messages of the chat fake carry it."""
        if self.discord is not None:
            return discord_posted(self.discord)
        assert self.slack is not None
        return posted(self.slack)

    async def start(
        self, name: str, failpoint: str = "", redis_url: str | None = None
    ) -> asyncio.subprocess.Process:
        """``peacewatch run`` with its own data folder and log (TMP/NAME.log), on the bench's
        Redis, armed with ``failpoint`` when given."""
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "DISCORD_", "PEACEWATCH_FAILPOINT"))
            },
            "REDIS_URL": redis_url or self.redis_url,
            "PEACEWATCH_DATA_DIR": str(self.tmp / name),
            "PEACEWATCH_HTTP_PORT": "0",  # the kernel picks a free port at bind time
            "PEACEWATCH_HTTP_HOST": "127.0.0.1",
            "PEACEWATCH_ALLOW_NETWORKS": "127.0.0.1/32",
            **self.chat_env(),
        }
        if failpoint:
            env["PEACEWATCH_FAILPOINT"] = failpoint
        with (self.tmp / f"{name}.log").open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "peacewatch", "run", "--config", str(self.config),
                cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """The tail of every run's log (printed when a test fails)."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
            for p in sorted(self.tmp.glob("*.log"))
        )


@asynccontextmanager
async def bench(redis_url: str, tmp: Path, platform: Platform = "slack") -> AsyncIterator[Bench]:
    """The feed served, the chat fake of ``platform`` started (Discord: two text channels of
    the team's server), the config written."""
    body, count = feed_body()
    async with FeedServer() as feeds:
        feeds.set_feed("/day.xml", body, etag=False)
        if platform == "slack":
            async with FakeSlack() as slack:
                config = write_config(tmp / "config.yaml", feeds.url("/day.xml"))
                yield Bench(feeds, slack, config, redis_url, count, tmp)
            return
        discord = FakeDiscord()
        await discord.start()
        try:
            channels = (str(discord.add_channel()), str(discord.add_channel()))
            team = f"discord:{discord.guild_id}"  # the channels' own server
            config = write_config(tmp / "config.yaml", feeds.url("/day.xml"), team, channels)
            yield Bench(feeds, None, config, redis_url, count, tmp, discord)
        finally:
            await discord.close()


async def exit_status(proc: asyncio.subprocess.Process, seconds: float = 90) -> int:
    """The status the process exits with (it is expected to exit by itself)."""
    return await asyncio.wait_for(proc.wait(), seconds)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.wait(), 10)


async def _last_id(redis: aioredis.Redis, stream: str) -> str | None:
    if not await redis.exists(stream):
        return None
    return str((await redis.xinfo_stream(stream))["last-generated-id"])


async def settled(redis: aioredis.Redis, articles: int) -> bool:
    """Every article of the feed queued and placed, every alert queued read by the dispatchers
    and acknowledged (posted, found on Slack, or set aside): nothing more will be posted."""
    seen = [k async for k in redis.scan_iter(keys.seen("*"), count=1000)]
    if len(seen) < articles:
        return False
    cursor = str(await redis.get(keys.assigner_cursor()) or "").partition(" ")[0]
    if cursor != await _last_id(redis, keys.ingest_stream()):
        return False
    last_alert = await _last_id(redis, keys.alert_stream())
    if last_alert is None:
        return False
    groups = {str(g["name"]): g for g in await redis.xinfo_groups(keys.alert_stream())}
    group = groups.get(GROUP)
    return (
        group is not None
        and str(group["last-delivered-id"]) == last_alert
        and int(group["pending"]) == 0
    )


async def wait_settled(redis: aioredis.Redis, articles: int, limit: float = SETTLE_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await settled(redis, articles):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"the run did not settle within {limit} s")


def posted(slack: FakeSlack) -> Counter[str]:
    """Alert id -> how many messages in Slack carry it (every channel, threads included)."""
    return Counter(
        str(m.metadata["event_payload"]["alert_id"])
        for m in slack.messages
        if m.metadata and m.metadata.get("event_type") == "peacewatch_alert"
    )


def discord_posted(discord: FakeDiscord) -> Counter[str]:
    """Nonce -> how many messages in Discord carry it (every channel and thread). The sink
    gives each alert's message a nonce made from the alert id (and an escalation's reply in
    the channel one of its own), so a nonce names one alert's one message."""
    return Counter(str(m["nonce"]) for m in discord.messages.values() if m.get("nonce"))


@dataclass(frozen=True)
class Tally:
    expected: int
    lost: int
    doubled: int

    def __str__(self) -> str:
        return f"expected {self.expected}, lost {self.lost}, doubled {self.doubled}"


def tally(expected: Counter[str], got: Counter[str]) -> Tally:
    """Lost: expected alerts absent from Slack; doubled: extra messages of any alert (and
    messages of alerts the reference never posted)."""
    lost = sum(1 for a in expected if got[a] == 0)
    doubled = sum(max(0, n - 1) for n in got.values()) + sum(1 for a in got if a not in expected)
    return Tally(len(expected), lost, doubled)


_REFERENCE: dict[str, Counter[str]] = {}


async def reference(
    redis: aioredis.Redis, redis_url: str, tmp: Path, platform: Platform = "slack"
) -> Counter[str]:
    """What one uninterrupted run posts to ``platform`` for the feed (computed once per
    session and platform, on a flushed Redis, which is flushed again after)."""
    if platform not in _REFERENCE:
        await redis.flushdb()
        async with bench(redis_url, tmp / f"reference-{platform}", platform) as b:
            proc = await b.start("reference")
            try:
                await wait_settled(redis, b.articles)
            finally:
                await stop(proc)
            got = b.posted()
        assert got and max(got.values()) == 1, f"the reference run posted {got}"
        _REFERENCE[platform] = got
        await redis.flushdb()
    return _REFERENCE[platform]
