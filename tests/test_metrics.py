"""/metrics: prometheus_client's exposition of the counters and histograms the poller, the
pipeline and the dispatcher keep, and of the deployment's health gauges."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from peacewatch.http_server import HttpServer
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.status import Status, collect
from peacewatch.store.feeds import FeedSpec
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, Clock, dated, open_app, redis_url, rss

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> tuple[Samples, dict[str, str]]:
    """Every sample of /metrics by name and labels, and each family's type."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        assert resp.status == 200 and resp.content_type == "text/plain"
        text = await resp.text()
    families = list(text_string_to_metric_families(text))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples
    }
    return samples, {f.name: f.type for f in families}


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_polls_items_alerts_and_deliveries(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    items = dated(SAMPLE_ITEMS[:2], NOW - timedelta(hours=1), timedelta(minutes=10))
    async with FeedServer() as server:
        server.set_feed("/feed.xml", rss(items))
        server.set_status("/down", 503)
        app = await open_app(redis_url(redis_target), tmp_path, Clock(NOW), io.StringIO())

        async def status() -> Status:
            return await collect(app.feeds, app.teams, app.queue, app.articles)

        http = HttpServer("127.0.0.1", 0, status)
        await http.start()
        try:
            rule = RuleSpec(id="envoys", query="Witkoff OR Dmitriev", channels=["console:desk"])
            await app.teams.put_rule("t1", rule)
            good = FeedSpec("good", server.url("/feed.xml"), 600, "", "t1")
            down = FeedSpec("down", server.url("/down"), 600, "", "t1")
            for feed in (good, down):
                await app.feeds.put(feed)
            before, _ = await scrape(http.port)

            assert (await app.poller.poll(good)).status == "ok"
            assert (await app.poller.poll(good)).status == "not_modified"
            assert (await app.poller.poll(down)).status == "error"
            await app.assigner.drain()
            await app.dispatcher.drain()
            assert app.dispatcher.stats.delivered == 2

            after, types = await scrape(http.port)
        finally:
            await http.stop()
            await app.close()

    assert delta(before, after, "peacewatch_polls_total", result="ok") == 1
    assert delta(before, after, "peacewatch_polls_total", result="not_modified") == 1
    assert delta(before, after, "peacewatch_polls_total", result="error") == 1
    assert delta(before, after, "peacewatch_fetch_errors_total", kind="HttpStatusError") == 1
    assert delta(before, after, "peacewatch_items_seen_total") == 2
    # one outlet each: low severity
    assert delta(before, after, "peacewatch_alerts_queued_total", severity="low") == 2
    assert delta(before, after, "peacewatch_alerts_delivered_total") == 2
    assert delta(before, after, "peacewatch_delivery_latency_seconds_count") == 2
    assert delta(before, after, "peacewatch_alerts_dead_total") == 0
    assert types["peacewatch_alerts_delivered"] == "counter"
    assert types["peacewatch_delivery_latency_seconds"] == "histogram"
    assert types["peacewatch_queue_pending"] == "gauge"
    # the health figures of the deployment, as before
    assert after[("peacewatch_feeds", ())] == 2
    assert after[("peacewatch_feeds_failing", ())] == 1
    assert after[("peacewatch_rules", ())] == 1
    assert after[("peacewatch_articles", ())] == 2
    assert after[("peacewatch_queue_pending", ())] == 0
    assert after[("peacewatch_destination_failing", (("destination", "console:desk"),))] == 0
