"""`peacewatch run` on the event loop PEACEWATCH_EVENT_LOOP names (uvloop by default)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.fakes.feed_server import FeedServer
from tests.helpers import rss, start_run
from tests.ports import free_port
from tests.test_run_follows import wait_running


async def test_run_on_the_standard_loop_when_asked(tmp_path: Path) -> None:
    async with FeedServer() as feeds:
        feeds.set_feed("/feed.xml", rss([]))
        config = tmp_path / "config.yaml"
        config.write_text(
            f"feeds:\n  - {{id: wire, url: '{feeds.url('/feed.xml')}', interval: 10}}\n"
        )
        proc = await start_run(
            config, tmp_path / "data", free_port(), {"PEACEWATCH_EVENT_LOOP": "asyncio"}
        )
        started: list[bytes] = []
        try:
            started = await wait_running(proc)
            for _ in range(300):  # the first poll falls within the interval: 30 s at most
                if feeds.requests:
                    break
                await asyncio.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, (b"".join(started) + stderr).decode()[-2000:]
        assert b"event loop asyncio" in started[-1]
        assert feeds.requests, "the feed was not polled on the standard loop"


async def test_an_unknown_loop_is_refused_with_the_setting_named(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds: []\n")
    env = {"PEACEWATCH_EVENT_LOOP": "tokio"}
    proc = await start_run(config, tmp_path / "data", free_port(), env)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"PEACEWATCH_EVENT_LOOP" in stderr
