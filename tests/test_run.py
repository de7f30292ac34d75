"""`peacewatch run` as an operator runs it: feeds from a config, /healthz, /metrics, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from peacewatch.app import entity_names
from peacewatch.models import Article
from peacewatch.stories.offline import group
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, dated, free_port, rss, start_run


async def test_run_polls_serves_health_and_stops_cleanly(tmp_path: Path) -> None:
    # Two reports of Witkoff's next meeting with Putin, five minutes apart: one story by
    # default; the config's story threshold keeps them two.
    reports = [SAMPLE_ITEMS[0], SAMPLE_ITEMS[3]]
    items = dated(reports, datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    as_articles = [
        Article(str(n), i["title"], i["link"], i["published"], urlsplit(i["link"]).hostname or "",
                summary=i["summary"])
        for n, i in enumerate(items)
    ]  # fmt: skip
    assert len(set(group(as_articles, entity_names=entity_names()).values())) == 1
    async with FeedServer() as server:
        server.set_feed("/feed.xml", rss(items))
        config = tmp_path / "config.yaml"
        config.write_text(
            "story_threshold: 0.99\n"
            "feeds:\n"
            f"  - {{id: local, url: '{server.url('/feed.xml')}', interval: 10}}\n"
            "rules:\n"
            "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['console:desk']}\n"
        )
        port = free_port()
        proc = await start_run(config, tmp_path / "data", port)
        try:
            metrics = ""
            async with aiohttp.ClientSession() as http:
                for _ in range(100):  # up to ~20 s for start-up and the first poll
                    await asyncio.sleep(0.2)
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                            metrics = await resp.text()
                        if "peacewatch_alerts_delivered_total 2" in metrics:
                            break
                    except aiohttp.ClientError:
                        continue
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200 and (await resp.json())["ok"] is True
            assert "peacewatch_feeds 1" in metrics and "peacewatch_rules 1" in metrics
            assert "peacewatch_articles 2" in metrics
        finally:
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        out = stdout.decode()
        assert items[0]["title"] in out and items[1]["title"] in out  # alerts on the console
        assert "thread of" not in out  # two stories, as the threshold asks: no reply
        assert "stopping" in stderr.decode()
    assert not any(p.name == "redis.socket" for p in (tmp_path / "data").glob("*"))
    assert (tmp_path / "data" / "appendonly.aof").exists()  # the embedded Redis kept its data
