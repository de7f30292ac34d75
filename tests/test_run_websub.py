"""`peacewatch run` with WebSub: a feed advertising a local hub is subscribed, and the hub's
pushes reach Slack long before the feed's next poll; forged pushes and checks are refused.

Every port is bound before it is named: `run` serves HTTP on port 0 and logs the port it got, and
the public URL hubs call back is a forwarder of the test's own (port 0, as a reverse proxy in
front of peacewatch would be), so no other process can take a port between its choice and use."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from peacewatch.watchers.scheduler import first_offset
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.websub_hub import FakeHub
from tests.helpers import SAMPLE_ITEMS, dated, start_run
from tests.test_websub import websub_rss

INTERVAL = 3600
"""The feed's poll interval: an hour, so an alert within the test came from a push."""


def early_feed_id() -> str:
    """A feed id whose first poll falls in the first second of its hour-long interval (the
    scheduler spreads first polls by id), so the test need not wait for it."""
    for n in range(1_000_000):
        if first_offset(f"hubbed-{n}", INTERVAL) < 1.0:
            return f"hubbed-{n}"
    raise AssertionError("no early feed id")


def config_text(feed_url: str) -> str:
    return (
        "team: slack:T1\n"
        "story_threshold: 0.99\n"  # every report its own story: each one a top-level alert
        "feeds:\n"
        f"  - {{id: {early_feed_id()}, url: '{feed_url}', interval: {INTERVAL}}}\n"
        "rules:\n"
        "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['slack:C1']}\n"
    )


def slack_env(slack: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_MODE": "http",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "s" * 32,
        "SLACK_API_URL": slack.base_url,
    }


def posted(slack: FakeSlack, item: dict[str, Any]) -> bool:
    return any(item["title"] in str(message) for message in slack.messages)


class RunLog:
    """A running `peacewatch run`'s output, read as it comes (so no pipe fills up): the HTTP
    port it logs once it serves, and its whole log after it exited."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._lines: list[str] = []
        self._port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        assert proc.stderr is not None and proc.stdout is not None
        self._tasks = [
            asyncio.create_task(self._read(proc.stderr)),
            asyncio.create_task(self._drain(proc.stdout)),
        ]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode("utf-8", "replace")
            self._lines.append(text)
            if not self._port.done() and "http on port " in text:
                self._port.set_result(int(text.rsplit("http on port ", 1)[1].split()[0]))
        if not self._port.done():
            self._port.set_exception(
                AssertionError("run ended before serving HTTP:\n" + "".join(self._lines[-30:]))
            )

    @staticmethod
    async def _drain(stream: asyncio.StreamReader) -> None:
        while await stream.read(65536):
            pass

    async def port(self) -> int:
        return await asyncio.wait_for(asyncio.shield(self._port), 60)

    async def stop(self) -> str:
        """SIGTERM, then the whole log once the process exited."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.proc.wait(), 30)
        await asyncio.wait_for(asyncio.gather(*self._tasks), 30)
        return "".join(self._lines)


class Forwarder:
    """The public address hubs call back: bound on port 0 before `run` starts, it forwards each
    request to peacewatch's own port once that is known (as a reverse proxy would)."""

    def __init__(self) -> None:
        self.target: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0

    async def __aenter__(self) -> Forwarder:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._client is not None
        port = await asyncio.wait_for(asyncio.shield(self.target), 30)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(
            ("content-type", "x-hub-", "link"))}  # fmt: skip
        url = f"http://127.0.0.1:{port}{request.path_qs}"
        body = await request.read()
        async with self._client.request(request.method, url, data=body, headers=headers) as resp:
            return web.Response(status=resp.status, body=await resp.read())


async def test_run_subscribes_and_alerts_on_a_push_without_waiting_for_a_poll(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    polled = dated(SAMPLE_ITEMS[:1], now - timedelta(hours=1), timedelta(minutes=5))[0]
    pushed, forged, later = dated(SAMPLE_ITEMS[1:], now - timedelta(minutes=20),
                                  timedelta(minutes=5))  # fmt: skip
    async with FeedServer() as feeds, FakeSlack() as slack, FakeHub() as hub, Forwarder() as public:
        topic = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss([polled], hub.url, topic))  # never changes
        config = tmp_path / "config.yaml"
        config.write_text(config_text(topic))
        port = public.port
        env = {**slack_env(slack), "PEACEWATCH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        hub.auto_verify = False  # the hub's check waits until a forged one was tried
        run = RunLog(await start_run(config, tmp_path / "data", 0, env))
        try:
            own = await run.port()
            public.target.set_result(own)
            await slack.wait_for(lambda: posted(slack, polled), 30)  # the first poll
            await hub.wait_for(lambda: bool(hub.held), 30)
            (request,) = hub.requests
            callback = request["hub.callback"]
            assert callback.startswith(f"http://127.0.0.1:{port}/websub/")
            status, text, challenge = await hub.challenge(
                callback, "subscribe", feeds.url("/somebody-elses.xml")
            )
            assert status == 404 and challenge not in text  # a topic we never asked for
            await hub.verify_held()
            assert hub.active(topic)

            assert await hub.publish(topic, websub_rss([polled, pushed], hub.url, topic)) == [204]
            await slack.wait_for(lambda: posted(slack, pushed), 30)
            assert len(feeds.requests_for("/feed.xml")) == 1  # no poll brought it

            forged_body = websub_rss([forged], hub.url, topic)
            assert await hub.publish(topic, forged_body, secret="guessed") == [403]
            # a later good push goes through; by then the forged one was long refused
            assert await hub.publish(topic, websub_rss([later], hub.url, topic)) == [204]
            await slack.wait_for(lambda: posted(slack, later), 30)
            assert not posted(slack, forged)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{own}/metrics") as resp:
                    exposition = await resp.text()
            assert 'peacewatch_websub_pushes_total{result="bad_signature"} 1.0' in exposition
            assert 'peacewatch_websub_pushes_total{result="accepted"} 2.0' in exposition
            assert 'peacewatch_websub_subscriptions{state="active"} 1.0' in exposition
        finally:
            log = await run.stop()
        assert run.proc.returncode == 0, log[-2000:]
        assert "WebSub push refused: bad signature" in log
        assert forged["title"] not in log and forged["summary"][:40] not in log  # no body
        assert request["hub.secret"] not in log


async def test_run_without_a_public_url_only_polls(tmp_path: Path) -> None:
    polled = dated(SAMPLE_ITEMS[:1], datetime.now(UTC) - timedelta(hours=1), timedelta(0))[0]
    async with FeedServer() as feeds, FakeSlack() as slack, FakeHub() as hub:
        topic = feeds.url("/feed.xml")
        feeds.set_feed("/feed.xml", websub_rss([polled], hub.url, topic))
        config = tmp_path / "config.yaml"
        config.write_text(config_text(topic))
        run = RunLog(await start_run(config, tmp_path / "data", 0, slack_env(slack)))
        try:
            port = await run.port()
            await slack.wait_for(lambda: posted(slack, polled), 30)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/websub/x") as resp:
                    assert resp.status == 404
        finally:
            log = await run.stop()  # a poll under way finishes before the exit
        assert run.proc.returncode == 0, log[-2000:]
    assert hub.requests == []
