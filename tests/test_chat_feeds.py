"""Feeds in chat: every feed a team receives, config feeds marked; a watched URL is shared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from peacewatch.bot.replies import Caller
from peacewatch.config import FeedConfig
from peacewatch.services.commands import CommandService
from peacewatch.store.feeds import FeedStore
from peacewatch.watchers.fetch import Fetcher
from peacewatch.watchers.guard import GuardPolicy
from tests.fakes.feed_server import FeedServer

FEED = (Path(__file__).parent.parent / "peacewatch" / "demo" / "feeds" / "bbc.xml").read_bytes()
DESK = Caller("slack", "slack:T1", "U1", "slack:C1", platform_admin=True)
NGO = Caller("discord", "discord:4455", "77", "discord:998877665544", platform_admin=True)
PAGE = b"""<!doctype html><html><head><title>BBC News</title>
<link rel="alternate" type="application/rss+xml" title="BBC News" href="/rss.xml">
</head><body>Top stories</body></html>"""


@pytest.fixture
async def env(redis_client: aioredis.Redis) -> AsyncIterator[tuple[CommandService, FeedServer]]:
    async with (
        FeedServer() as server,
        Fetcher(GuardPolicy(allow_networks=("127.0.0.1/32",))) as fetcher,
    ):
        server.set_feed("/rss.xml", FEED)
        server.set_feed("/news", PAGE, content_type="text/html")
        yield CommandService(redis_client, fetcher=fetcher), server


async def config_feed(redis: aioredis.Redis, url: str, outlet: str) -> str:
    """A feed as ``peacewatch run --config`` registers it."""
    spec = FeedConfig(url=url, outlet=outlet).to_spec("default")
    await FeedStore(redis).put(spec)
    return spec.id


async def test_status_and_feeds_list_show_config_feeds_marked_as_such(
    env: tuple[CommandService, FeedServer], redis_client: aioredis.Redis
) -> None:
    service, server = env
    await config_feed(redis_client, "https://www.kyivindependent.com/feed/", "Kyiv Independent")
    await config_feed(redis_client, "https://meduza.io/rss/en/all", "Meduza")
    status = await service.handle_text(DESK, "status")
    assert "feeds: 2 (0 added by this team)" in status.text
    assert [i.title.split(" (")[0] for i in status.items] == ["Kyiv Independent", "Meduza"]
    assert all("config feed" in i.meta for i in status.items)

    added = await service.handle_text(DESK, f"feeds add {server.url('/rss.xml')}")
    assert not added.error, added.text
    listed = await service.handle_text(DESK, "feeds list")
    assert listed.title == "3 feeds (2 from the config, 1 added by this team)"
    labels = [(i.title, i.meta.split(" · ")[1]) for i in listed.items]
    assert labels[0][1] == "added by this team"
    assert labels[1:] == [("Kyiv Independent", "config feed"), ("Meduza", "config feed")]
    # the other team receives the config feeds too, but not this team's own
    other = await service.handle_text(NGO, "feeds list")
    assert [i.title for i in other.items] == ["Kyiv Independent", "Meduza"]


async def test_adding_a_watched_url_subscribes_instead_of_polling_it_twice(
    env: tuple[CommandService, FeedServer], redis_client: aioredis.Redis
) -> None:
    service, server = env
    url = server.url("/rss.xml")
    first = await service.handle_text(DESK, f"feeds add {url}")
    assert first.title.startswith("Added feed")
    polls_before = len(server.requests_for("/rss.xml"))
    shared = await service.handle_text(NGO, f"feeds add {url}/")  # the same feed, a slash more
    assert shared.title.startswith("Subscribed to") and "polled once" in shared.text
    assert len(await FeedStore(redis_client).all()) == 1  # one feed, one poll
    assert len(server.requests_for("/rss.xml")) == polls_before  # not even fetched again
    (item,) = (await service.handle_text(NGO, "feeds list")).items
    assert item.link == url and "shared with another team" in item.meta
    again = await service.handle_text(NGO, f"feeds add {url}")
    assert again.title.startswith("This team already receives")

    feed_id = (await FeedStore(redis_client).all())[0].id
    left = await service.handle_text(DESK, f"feeds remove {feed_id}")
    assert left.title == f"This team no longer receives feed {feed_id}"
    assert len(await FeedStore(redis_client).all()) == 1  # the NGO still receives it
    assert (await service.handle_text(DESK, "feeds list")).title == "No feeds yet"
    gone = await service.handle_text(NGO, f"feeds remove {feed_id}")
    assert gone.title == f"Removed feed {feed_id}"
    assert await FeedStore(redis_client).all() == []


async def test_adding_a_config_feed_url_says_every_team_receives_it(
    env: tuple[CommandService, FeedServer], redis_client: aioredis.Redis
) -> None:
    service, server = env
    await config_feed(redis_client, server.url("/rss.xml"), "BBC")
    reply = await service.handle_text(DESK, f"feeds add {server.url('/rss.xml')}")
    assert "already receives BBC" in reply.title and "config feed" in reply.text
    assert len(await FeedStore(redis_client).all()) == 1
    refused = await service.handle_text(
        DESK, f"feeds remove {(await FeedStore(redis_client).all())[0].id}"
    )
    assert refused.error and "config feeds are the operator's" in refused.text


async def test_a_page_url_adds_the_feed_the_page_links(
    env: tuple[CommandService, FeedServer], redis_client: aioredis.Redis
) -> None:
    service, server = env
    reply = await service.handle_text(DESK, f"feeds add {server.url('/news')}")
    assert not reply.error, reply.text
    assert f"is a web page; it links the feed {server.url('/rss.xml')}" in reply.text
    (feed,) = await FeedStore(redis_client).all()
    assert feed.url == server.url("/rss.xml")
