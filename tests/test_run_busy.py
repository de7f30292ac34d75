"""`peacewatch run` with hundreds of feeds: first polls spread over the interval, fetches capped
per host, and SIGTERM in the middle of a busy cycle ends the process promptly and cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.feed_server import FeedServer, Gauge
from tests.helpers import free_port, rss, samples_dir, start_run

LOOPBACK_ENV = {"PEACEWATCH_ALLOW_NETWORKS": "127.0.0.0/8"}


def real_items() -> list[dict[str, Any]]:
    """The shared sample items that have a title, a summary and a link."""
    items = []
    with (samples_dir() / "items.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item.get("title") and item.get("summary") and item.get("link"):
                items.append(item)
    return items


def write_config(path: Path, urls: list[str], interval: int) -> None:
    lines = ["feeds:"]
    lines += [f"  - {{id: f{n}, url: '{url}', interval: {interval}}}" for n, url in enumerate(urls)]
    lines += ["rules:", "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['console:d']}"]
    path.write_text("\n".join(lines) + "\n")


def serve_feeds(server: FeedServer, count: int, start: int, delay: float = 0.0) -> list[str]:
    """``count`` feeds of five real items each, answering after ``delay`` seconds."""
    items = real_items()
    published = datetime.now(UTC) - timedelta(hours=3)
    urls = []
    for n in range(start, start + count):
        chosen = [
            {**items[(5 * n + k) % len(items)], "published": published + timedelta(minutes=k)}
            for k in range(5)
        ]
        server.set_feed(f"/{n}.xml", rss(chosen, title=f"feed {n}"), delay=delay)
        urls.append(server.url(f"/{n}.xml"))
    return urls


async def stop(
    proc: asyncio.subprocess.Process, data_dir: Path, within: float
) -> tuple[int | None, str]:
    """SIGTERM, then the exit code and stderr. Fails if the process outlives ``within``, after
    killing it and what it started (its parser worker, its embedded Redis in ``data_dir``)."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        for pid in [proc.pid, *descendants(proc.pid), *working_in(data_dir)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
        raise AssertionError(f"peacewatch run still running {within:g} s after SIGTERM") from None
    return proc.returncode, stderr.decode()


def working_in(directory: Path) -> list[int]:
    """The processes whose working directory is ``directory`` (the daemonised Redis)."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        with contextlib.suppress(OSError):
            if cwd.resolve() == directory.resolve():
                found.append(int(cwd.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, their children and so on (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture
async def servers() -> AsyncIterator[tuple[Gauge, list[FeedServer]]]:
    total = Gauge()
    running = [FeedServer(f"127.0.0.{n}", shared=(total,)) for n in (1, 2, 3)]
    for server in running:
        await server.start()
    try:
        yield total, running
    finally:
        for server in running:
            await server.stop()


async def test_sigterm_in_a_busy_cycle_exits_promptly_with_polls_in_flight(
    servers: tuple[Gauge, list[FeedServer]], tmp_path: Path
) -> None:
    total, running = servers
    urls: list[str] = []
    for n, server in enumerate(running):  # 100 feeds a host, 40 of them answer after a minute
        urls += serve_feeds(server, 60, 100 * n)
        urls += serve_feeds(server, 40, 100 * n + 60, delay=60)
    config = tmp_path / "config.yaml"
    write_config(config, urls, interval=10)
    proc = await start_run(
        config, tmp_path / "data", free_port(), {**LOOPBACK_ENV, "PEACEWATCH_MAX_POLLS": "20"}
    )
    try:
        for _ in range(300):  # up to ~30 s: start-up, then slow feeds fill the hosts' slots
            await asyncio.sleep(0.1)
            if all(server.concurrent.now >= 4 for server in running):
                break
        else:
            raise AssertionError(f"hosts never busy: {[x.concurrent.now for x in running]}")
    finally:
        code, stderr = await stop(proc, tmp_path / "data", within=10)
    assert code == 0, stderr[-3000:]
    assert "cancelling" in stderr  # polls were under way and were cut off
    assert [server.concurrent.peak for server in running] == [4, 4, 4]  # per-host default 4
    assert total.peak <= 12


async def test_first_polls_spread_over_the_interval(tmp_path: Path) -> None:
    async with FeedServer() as server:
        urls = serve_feeds(server, 60, 0)
        config = tmp_path / "config.yaml"
        write_config(config, urls, interval=10)
        proc = await start_run(config, tmp_path / "data", free_port(), LOOPBACK_ENV)
        try:
            for _ in range(400):  # up to ~40 s: start-up, then one interval
                await asyncio.sleep(0.1)
                if len(server.first_requests()) == 60:
                    break
        finally:
            code, stderr = await stop(proc, tmp_path / "data", within=10)
        assert code == 0, stderr[-3000:]
        first = sorted(server.first_requests().values())
        assert len(first) == 60, f"{len(first)} of 60 feeds polled"
    # all at start would put the 60 within a fraction of a second; spread over 10 s, about
    # 12 fall in any 2 s
    assert first[-1] - first[0] > 6
    busiest = max(sum(1 for t in first if s <= t < s + 2) for s in first)
    assert busiest <= 30, busiest
