"""WebSub with two replicas on one Redis: one subscription per feed, one renewal per lease, and a
push that reaches either replica (as behind a load balancer) is read once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from peacewatch.store.feeds import FeedSpec
from peacewatch.watchers.websub_proto import sign
from tests.fakes.feed_server import FeedServer
from tests.fakes.websub_hub import FakeHub
from tests.helpers import SAMPLE_ITEMS, Clock, dated
from tests.test_websub import NOW, websub_app, websub_rss


async def post_push(port: int, path: str, secret: str, body: bytes) -> int:
    """POST ``body``, signed with ``secret``, to ``path`` on 127.0.0.1:``port``; the status."""
    headers = {"Content-Type": "application/rss+xml", "X-Hub-Signature": sign(secret, body)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as resp,
    ):
        return resp.status


async def test_two_replicas_subscribe_once_renew_once_and_read_a_push_once(
    redis_target: dict[str, Any], redis_client: Any, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    first = dated(SAMPLE_ITEMS[:1], NOW - timedelta(hours=1), timedelta(minutes=5))
    later = dated(SAMPLE_ITEMS[1:3], NOW - timedelta(minutes=30), timedelta(minutes=5))
    async with FeedServer() as feeds, FakeHub(lease_seconds=1000) as hub:
        url = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss(first, hub.url, url))
        async with (
            websub_app(redis_target, tmp_path / "a", clock) as (one, port_one),
            # behind one public address (the first replica's: the hub reaches that one)
            websub_app(
                redis_target, tmp_path / "b", clock, public_url=f"http://127.0.0.1:{port_one}/"
            ) as (two, port_two),
        ):
            assert one.websub is not None and two.websub is not None
            feed = FeedSpec("ws1", url, interval=3600)
            await one.feeds.put(feed)
            result = await one.poller.poll(feed)
            assert result.status == "ok"
            queued = await one.ingest.backlog()

            # both replicas find the hub at once: the hub is asked once
            await asyncio.gather(one.websub.discovered(result), two.websub.discovered(result))
            await hub.wait_for(lambda: bool(hub.active(url)))
            assert len(hub.requests_for("subscribe")) == 1
            (active,) = hub.active(url)
            # and again later (a poll by the other replica): nothing more is asked
            await two.websub.discovered(result)
            assert len(hub.requests_for("subscribe")) == 1

            # both keep their subscriptions up: one renewal per lease, not one per replica
            clock.now = NOW + timedelta(seconds=801)
            await asyncio.gather(one.websub.maintain(), two.websub.maintain())
            await hub.wait_for(lambda: len(hub.verifications) == 2)
            assert len(hub.requests_for("subscribe")) == 2
            await asyncio.gather(one.websub.maintain(), two.websub.maintain())
            assert len(hub.requests_for("subscribe")) == 2

            # the hub pushes to the callback it knows; the same push may also reach the other
            # replica (one public URL over several replicas): its items are queued once
            body = websub_rss(later, hub.url, url)
            assert await hub.publish(url, body) == [204]
            assert await one.ingest.backlog() == queued + 2
            path = urlsplit(active.callback).path
            assert await post_push(port_two, path, active.secret, body) == 204
            assert await post_push(port_one, path, active.secret, body) == 204
            assert await two.ingest.backlog() == queued + 2
            # a push that only the other replica receives is read there
            newer = dated(SAMPLE_ITEMS[3:4], NOW - timedelta(minutes=10), timedelta(minutes=5))
            fresh = websub_rss(newer, hub.url, url)
            assert await post_push(port_two, path, active.secret, fresh) == 204
            assert await one.ingest.backlog() == queued + 3
            # a wrong signature is refused by either replica
            assert await post_push(port_two, path, "not-the-secret", fresh) == 403
