"""`peacewatch run`'s log: quiet on a normal start and stop, one summary line per poll cycle,
and JSON lines with the feed's id in context under --log-format json."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fakes.discord_api import FakeDiscord
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, dated, free_port, rss, start_run

CYCLE = "poll cycle: 2 feeds polled, "


def _config(path: Path, server: FeedServer, team: str, channel: str) -> Path:
    path.write_text(
        f"team: {team}\n"
        "feeds:\n"
        f"  - {{id: local, url: '{server.url('/feed.xml')}', interval: 10}}\n"
        f"  - {{id: other, url: '{server.url('/other.xml')}', interval: 10}}\n"
        "rules:\n"
        f"  - {{id: envoys, query: 'Witkoff OR Dmitriev', channels: ['{channel}']}}\n"
    )
    return path


async def _run_until(
    config: Path, data_dir: Path, wanted: str, extra: dict[str, str], args: list[str]
) -> list[str]:
    """Start ``peacewatch run``, read its log until a line holds ``wanted``, stop it with
    SIGTERM; every line of its log, after checking it exited 0."""
    proc = await start_run(config, data_dir, free_port(), extra, args)
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):  # the first cycle ends within 20 s of the start
            while not lines or wanted not in lines[-1]:
                raw = await proc.stderr.readline()
                assert raw, "peacewatch run ended early:\n" + "\n".join(lines[-30:])
                lines.append(raw.decode().rstrip("\n"))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 30)
    lines += rest.decode().splitlines()
    assert proc.returncode == 0, "\n".join(lines[-30:])
    return lines


async def test_a_normal_start_and_stop_logs_no_warning_and_one_line_per_poll_cycle(
    tmp_path: Path,
) -> None:
    items = dated(SAMPLE_ITEMS, datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    fake = FakeDiscord()  # the Discord adapter too: discord.py warns of voice libraries
    await fake.start()
    try:
        channel = fake.add_channel()
        async with FeedServer() as server:
            server.set_feed("/feed.xml", rss(items))
            server.set_feed("/other.xml", rss(items[:2]))
            config = _config(
                tmp_path / "c.yaml", server, f"discord:{fake.guild_id}", f"discord:{channel}"
            )
            discord = {
                "DISCORD_TOKEN": fake.token,
                "DISCORD_API_URL": fake.api_url,
                "DISCORD_APPLICATION_ID": str(fake.application_id),
                "PEACEWATCH_LOG_LEVEL": "INFO",
            }
            lines = await _run_until(config, tmp_path / "data", CYCLE, discord, [])
    finally:
        await fake.close()
    log = "\n".join(lines)
    assert " INFO peacewatch.runner: stopping" in log
    assert not [line for line in lines if " WARNING " in line or " ERROR " in line], log
    assert "Traceback" not in log
    (cycle,) = [line for line in lines if "poll cycle" in line]
    assert cycle.endswith("2 feeds polled, 2 ok, 0 not modified, 0 failed, 4 new items"), cycle
    # nothing per feed at INFO: neither APScheduler's job lines nor pymorphy3's dictionaries
    assert "apscheduler" not in log and "pymorphy3" not in log, log


async def test_log_format_json_writes_one_object_per_line_with_the_feed_in_context(
    tmp_path: Path,
) -> None:
    items = dated(SAMPLE_ITEMS, datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as server:
        server.set_feed("/feed.xml", rss(items))
        server.set_feed("/other.xml", rss(items[:2]))
        config = _config(tmp_path / "c.yaml", server, "default", "console:desk")
        lines = await _run_until(
            config,
            tmp_path / "data",
            CYCLE,
            {"PEACEWATCH_LOG_LEVEL": "DEBUG"},
            ["--log-format", "json"],
        )
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["message"].startswith(CYCLE) and r["level"] == "INFO" for r in records)
    polled = [r for r in records if r.get("feed_id") == "local" and r["level"] == "DEBUG"]
    assert polled and polled[0]["message"].startswith("feed local: ok, 4 items, 4 new"), polled
