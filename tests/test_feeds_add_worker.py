"""A feed added in chat is read in the watchers' parse worker, as its polls will be, not in the
bot's own process."""

from __future__ import annotations

import psutil
import redis.asyncio as aioredis

from peacewatch.services.commands import CommandService
from peacewatch.store.feeds import FeedStore
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.guard import GuardPolicy
from peacewatch.watchers.parse import FeedParserPool
from tests.fakes.feed_server import FeedServer
from tests.test_chat_feeds import DESK, FEED, PAGE


def parse_workers() -> set[int]:
    """The parse workers this process runs (``python -c ... parseworker import serve``)."""
    return {
        child.pid
        for child in psutil.Process().children()
        if "parseworker import serve" in " ".join(child.cmdline())
    }


async def test_a_feed_added_in_chat_is_parsed_in_the_worker(redis_client: aioredis.Redis) -> None:
    pool = FeedParserPool()
    before = parse_workers()
    async with (
        FeedServer() as server,
        Fetcher(GuardPolicy(allow_networks=("127.0.0.1/32",))) as fetcher,
    ):
        server.set_feed("/rss.xml", FEED)
        server.set_feed("/news", PAGE, content_type="text/html")
        service = CommandService(redis_client, fetcher=fetcher, parser=pool)
        try:
            # a web page: the worker's answer (the feeds the page links) comes back whole
            reply = await service.handle_text(DESK, f"feeds add {server.url('/news')}")
            assert not reply.error, reply.text
            assert f"is a web page; it links the feed {server.url('/rss.xml')}" in reply.text
            started = parse_workers() - before
            assert len(started) == 1  # both reads ran in one worker process
        finally:
            await pool.aclose()
    (feed,) = await FeedStore(redis_client).all()
    assert feed.url == server.url("/rss.xml")
    assert not parse_workers() & started  # closed with the pool
