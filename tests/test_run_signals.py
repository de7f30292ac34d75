"""`peacewatch run` outlives a peer that goes away: SIGPIPE is ignored (a write to a closed
Redis or HTTP socket is an error it handles), while one-off commands keep the default."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.helpers import free_port, start_run

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def ignored_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigIgn line")


async def test_run_ignores_sigpipe(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds: []\n", encoding="utf-8")
    port = free_port()
    proc = await start_run(config, tmp_path / "data", port)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(150):  # up to ~30 s for start-up
                await asyncio.sleep(0.2)
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    continue
        assert ignored_signals(proc.pid) & (1 << (signal.SIGPIPE - 1))
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
