"""REDIS_URL: the URL forms peacewatch reads, the error for a malformed one, and the one-time
move of an existing deployment's untagged keys to the hash-tagged prefix."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
import redis
import redis.asyncio as aioredis

from peacewatch.errors import StoreError
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.store import keys
from peacewatch.store.embedded import connect
from peacewatch.store.feeds import FeedSpec
from peacewatch.store.migrate import migrate_untagged
from peacewatch.store.urls import parse_redis_url, redacted
from tests.fakes.feed_server import FeedServer
from tests.helpers import SAMPLE_ITEMS, Clock, dated, open_app, rss


def test_one_server_urls_are_read_as_before() -> None:
    target = parse_redis_url("redis://:s3cret@127.0.0.1:6380/3")
    assert target.kind == "server" and target.db == 3 and target.hosts == (("127.0.0.1", 6380),)
    assert target.shown == "redis://127.0.0.1:6380/3"
    assert parse_redis_url("rediss://redis.internal").hosts == (("redis.internal", 6379),)
    assert parse_redis_url("unix:///run/redis.sock?db=2").kind == "server"


def test_sentinel_url_names_the_sentinels_the_service_and_the_db() -> None:
    target = parse_redis_url(
        "redis+sentinel://:pw%40x@10.0.0.1:26380,sentinel-b,[::1]:5000/mymaster/2"
        "?sentinel_password=other"
    )
    assert target.kind == "sentinel" and target.service == "mymaster" and target.db == 2
    assert target.hosts == (("10.0.0.1", 26380), ("sentinel-b", 26379), ("::1", 5000))
    assert target.password == "pw@x" and target.sentinel_password == "other"
    assert "pw" not in target.shown and not target.tls
    assert parse_redis_url("rediss+sentinel://s:1/m").tls


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "redis+sentinel://h1:26379,h2/mymaster?sentinel_password=S3CRET",
            "redis+sentinel://h1:26379,h2/mymaster?sentinel_password=***",
        ),
        ("redis://host/0?password=S3CRET&db=1", "redis://host/0?password=***&db=***"),
        ("redis://:S3/CRET@host:6379/0", "redis://host:6379/0"),
        ("redis://user:S3@CRET@host/0", "redis://host/0"),
        ("redis://default:S3?CRET@host:6379", "redis://host:6379"),
        ("redis+sentinel://:S3/CRET@s1,s2/mymaster", "redis+sentinel://s1,s2/mymaster"),
        (
            "redis+sentinel://:S3CRET@h1/svc?sentinel_password=S3@CRET",
            "redis+sentinel://h1/svc?sentinel_password=***",
        ),
        ("unix://u:S3@CRET@/tmp/r.sock?db=1", "unix:///tmp/r.sock?db=***"),
        ("redis://:S3CRET@bad host/0", "redis://(an address that could not be read)"),
    ],
)
def test_what_logs_and_errors_show_of_a_url_holds_no_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
    assert "S3" not in redacted(url) and "CRET" not in redacted(url)


@pytest.mark.parametrize(
    "password", ["Tr0ub4dor/3", "hunter2?x", "p@ss", "a:b", "%41", "sl/ash?q@at"]
)
@pytest.mark.parametrize("scheme", ["redis", "redis+sentinel", "redis+cluster"])
def test_a_password_holding_url_delimiters_is_read_whole_and_never_shown(
    scheme: str, password: str
) -> None:
    path = "/mymaster/2" if scheme == "redis+sentinel" else "/0"
    target = parse_redis_url(f"{scheme}://user:{password}@redis.internal:6390{path}")
    assert target.hosts == (("redis.internal", 6390),)
    assert target.username == "user"
    assert target.password == unquote(password)
    assert password not in target.shown and password not in repr(target)
    if scheme == "redis":  # redis-py reads the URL itself: it must find the same parts
        kwargs = redis.ConnectionPool.from_url(target.url).connection_kwargs
        assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.internal", 6390, 0)
        assert (kwargs["username"], kwargs["password"]) == ("user", unquote(password))


def test_cluster_url_names_any_of_its_nodes() -> None:
    target = parse_redis_url("redis+cluster://user:pw@n1:7000,n2:7001,n3")
    assert target.kind == "cluster"
    assert target.hosts == (("n1", 7000), ("n2", 7001), ("n3", 6379))
    assert (target.username, target.password) == ("user", "pw")
    assert target.shown == "redis+cluster://n1:7000,n2:7001,n3"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:6379", "should start with one of"),
        ("redis+sentinel://:hunter2@127.0.0.1:26379", "should name the Sentinel service"),
        ("redis+sentinel://127.0.0.1:26379/m/x", "database 'x' should be a number"),
        ("redis+sentinel://127.0.0.1:26379/m?sentinal_password=x", "unknown option"),
        ("redis+cluster://:hunter2@127.0.0.1:7000/3", "database 0 only"),
        ("redis+cluster://127.0.0.1:7000,bad host", "is not host or host:port"),
        ("redis+cluster://127.0.0.1:70000", "out of range"),
        ("redis://a:1,b:2/0", "names one server"),
        ("redis://", "no host given"),
        ("unix://relative.sock", "absolute socket path"),
    ],
)
def test_a_malformed_url_is_refused_saying_why(url: str, said: str) -> None:
    with pytest.raises(ValueError, match=said) as caught:
        parse_redis_url(url)
    assert "hunter2" not in str(caught.value)


def test_peacewatch_exits_2_on_a_malformed_redis_url_without_showing_its_password(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "REDIS_URL": "redis+sentinel://:hunter2@127.0.0.1:1",
        "PEACEWATCH_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "peacewatch", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "REDIS_URL" in done.stderr and "Sentinel service" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


async def test_untagged_keys_of_an_earlier_version_move_once(
    redis_client: aioredis.Redis,
) -> None:
    old = keys.UNTAGGED_PREFIX
    await redis_client.hset(old + "feed:f1", mapping={"url": "https://example.org/feed"})
    await redis_client.set(old + "seen:a1", "queued", ex=3600)
    await redis_client.xadd(old + "alerts:stream", {"alert": "{}"})
    await redis_client.xgroup_create(old + "alerts:stream", "dispatch", id="0")
    await redis_client.set(old + "rules:version", "7")
    await redis_client.set(keys.rules_version(), "9")  # already written under the new name
    await redis_client.set("other:app:key", "x")  # not ours

    moved = await migrate_untagged(redis_client)

    assert (moved.renamed, moved.left) == (3, 1)
    assert await redis_client.hget(keys.feed("f1"), "url") == "https://example.org/feed"
    assert 0 < await redis_client.ttl(keys.seen("a1")) <= 3600  # expiry kept
    groups = await redis_client.xinfo_groups(keys.alert_stream())
    assert [g["name"] for g in groups] == ["dispatch"]  # the stream keeps its consumer group
    assert await redis_client.get(keys.rules_version()) == "9"  # a taken name is not overwritten
    assert await redis_client.get(old + "rules:version") == "7"
    assert await redis_client.get("other:app:key") == "x"
    assert not await redis_client.exists(old + "feed:f1")

    # done once: a key written later under the old prefix stays where it is
    await redis_client.set(old + "feed:f2", "x")
    again = await migrate_untagged(redis_client)
    assert (again.renamed, again.left) == (0, 0)
    assert await redis_client.exists(old + "feed:f2")


async def test_connecting_moves_the_embedded_servers_untagged_keys(tmp_path: Path) -> None:
    handle = await connect(None, tmp_path)
    try:
        await handle.client.delete(keys.keyspace_tagged())  # as a store of an earlier version
        await handle.client.sadd(keys.UNTAGGED_PREFIX + "feeds", "f1", "f2")
    finally:
        await handle.close()
    handle = await connect(None, tmp_path)
    try:
        assert await handle.client.smembers(keys.feeds_index()) == {"f1", "f2"}
        assert not await handle.client.exists(keys.UNTAGGED_PREFIX + "feeds")
    finally:
        await handle.close()


async def test_a_failed_move_of_old_keys_is_reported_as_such_not_as_an_unreachable_server(
    tmp_path: Path,
) -> None:
    first = await connect(None, tmp_path)
    try:
        await first.client.delete(keys.keyspace_tagged())  # as a store of an earlier version
        await first.client.sadd(keys.UNTAGGED_PREFIX + "feeds", "f1")
        # the server answers, but refuses the script that moves the keys
        await first.client.execute_command("ACL", "SETUSER", "default", "-@scripting")
        with pytest.raises(StoreError) as failed:
            await connect(None, tmp_path)  # joins the running server
        said = str(failed.value)
        assert said.startswith("cannot move the keys of an earlier version (pw:v1:*)"), said
        assert "NOPERM" in said or "permission" in said.lower(), said
        assert await first.client.smembers(keys.UNTAGGED_PREFIX + "feeds") == {"f1"}  # kept
    finally:
        await first.close()


def alerts(out: io.StringIO) -> int:
    """Alerts the console sink printed."""
    return sum(line.startswith("console-") for line in out.getvalue().splitlines())


async def test_a_store_of_the_untagged_version_keeps_its_feeds_and_never_repeats_an_alert(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
    items = dated(SAMPLE_ITEMS, now - timedelta(hours=3), timedelta(minutes=30))
    rule = RuleSpec(id="envoys", query="Witkoff OR Dmitriev", channels=["console:desk"])
    out = io.StringIO()
    async with FeedServer() as server:
        server.set_feed("/feed.xml", rss(items), etag=False)
        feed = FeedSpec("f1", server.url("/feed.xml"), 600, "Test outlet", "t1")
        app = await open_app(None, tmp_path, Clock(now), out)
        try:
            await app.teams.put_rule("t1", rule)
            await app.feeds.put(feed)
            await app.poller.poll(feed)
            await app.assigner.drain()
            await app.dispatcher.drain()
        finally:
            await app.close()
        posted = alerts(out)
        assert posted == len(items)

        # the same data as an earlier version left it: every key under the untagged prefix
        handle = await connect(None, tmp_path)
        try:
            await handle.client.delete(keys.keyspace_tagged())
            async for key in handle.client.scan_iter(match=keys.PREFIX + "*"):
                await handle.client.rename(key, keys.UNTAGGED_PREFIX + key[len(keys.PREFIX) :])
        finally:
            await handle.close()

        server.set_feed("/feed.xml", rss(items, title="Test feed, again"), etag=False)
        app = await open_app(None, tmp_path, Clock(now + timedelta(minutes=5)), out)
        try:
            assert [f.id for f in await app.feeds.all()] == ["f1"]
            assert [r.id for r in await app.teams.rules("t1")] == ["envoys"]
            result = await app.poller.poll(feed)
            await app.assigner.drain()
            await app.dispatcher.drain()
            assert result.status == "ok" and result.new == 0
            assert alerts(out) == posted  # nothing posted again
        finally:
            await app.close()
