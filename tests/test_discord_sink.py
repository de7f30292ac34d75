"""Alerts reach a fake Discord through the real discord.py HTTP client and the real dispatcher:
embeds, story threads, outlet-count edits, webhooks, 429s and dead channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import pytest
import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter.client import DEFAULT_API_URL, PeacewatchClient, apply_api_base
from peacewatch.bot.discord_adapter.sink import ChannelPacer, DiscordSink, message_nonce
from peacewatch.bot.discord_adapter.webhook import WebhookClient, WebhookSink, validate_webhook
from peacewatch.errors import PermanentDelivery, RetryLater
from peacewatch.models import Alert, AlertKind, Destination, SourceRef
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from tests.fakes.discord_api import FORUM, FakeDiscord

WHEN = datetime(2025, 11, 25, 9, 30, tzinfo=UTC)
MT = SourceRef(
    "The Moscow Times",
    "themoscowtimes.com",
    "https://mt.example/1",
    WHEN,
    title="Witkoff will meet Putin in Moscow",
)
BBC = SourceRef("BBC", "bbc.com", "https://bbc.example/2", WHEN, "Dmitriev meets Witkoff in Miami")


def new_alert(destination: str, story: str = "0123456789abcdef", n: int = 1) -> Alert:
    return Alert(
        alert_id=f"{story}{n:016d}",
        team_id="discord:800000000000000001",
        rule_id="witkoff",
        story_id=story,
        article_id=f"art{n}",
        destination=Destination.parse(destination),
        headline="Witkoff will meet Putin in Moscow",
        summary="The U.S. leader said Washington was now very close to a deal.",
        link="https://mt.example/1",
        matched=("Witkoff", "Putin"),
        entities=("witkoff", "putin"),
        sources=(MT,),
        outlets=("The Moscow Times",),
    )


def followup_of(alert: Alert, n: int = 2) -> Alert:
    return replace(
        alert,
        alert_id=f"{alert.story_id}{n:016d}",
        article_id=f"art{n}",
        kind=AlertKind.FOLLOWUP,
        headline="Dmitriev meets Witkoff in Miami",
        link="https://bbc.example/2",
        sources=(MT, BBC),
        outlets=("The Moscow Times", "BBC"),
        outlet_count=2,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    apply_api_base(server.api_url)
    try:
        yield server
    finally:
        apply_api_base(DEFAULT_API_URL)
        await server.close()


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[PeacewatchClient]:
    bot = PeacewatchClient()
    try:
        yield bot
    finally:
        await bot.close()


@pytest.fixture
async def hooks(fake: FakeDiscord) -> AsyncIterator[WebhookClient]:
    webhook_client = WebhookClient(fake.api_url)
    try:
        yield webhook_client
    finally:
        await webhook_client.close()


def routes(fake: FakeDiscord) -> list[str]:
    return [
        f"{s.route} {s.status}" for s in fake.seen if not s.path.startswith(("/users", "/oauth2"))
    ]


async def test_alert_thread_followup_and_edit_through_the_dispatcher(
    fake: FakeDiscord, client: PeacewatchClient, redis_client: aioredis.Redis
) -> None:
    channel = fake.add_channel()
    queue = AlertQueue(redis_client)
    dispatcher = Dispatcher(queue, {"discord": DiscordSink(client, fake.token)})
    first = new_alert(f"discord:{channel}")
    await queue.enqueue(first)
    await queue.enqueue(followup_of(first))
    await queue.enqueue(followup_of(first, n=3))
    await dispatcher.drain()

    assert dispatcher.stats.delivered == 3
    [posted] = [s for s in fake.of("POST", f"/channels/{channel}/messages") if s.status == 200]
    [embed] = posted.body["embeds"]
    assert embed["title"] == "Witkoff will meet Putin in Moscow"
    assert embed["url"] == "https://mt.example/1"
    buttons = posted.body["components"][0]["components"]
    assert buttons[0]["custom_id"].startswith("pw:fb:mute_story:0123456789abcdef:")
    alert_message = int(next(iter(fake.messages)))
    assert routes(fake) == [
        f"POST /channels/{channel}/messages 200",
        f"POST /channels/{alert_message}/messages 404",  # no thread yet
        f"POST /channels/{channel}/messages/{alert_message}/threads 201",
        f"POST /channels/{alert_message}/messages 200",  # the follow-up, in the thread
        f"GET /channels/{channel}/messages/{alert_message} 200",
        f"PATCH /channels/{channel}/messages/{alert_message} 200",
        f"POST /channels/{alert_message}/messages 200",  # the next one: straight in
        f"GET /channels/{channel}/messages/{alert_message} 200",
        f"PATCH /channels/{channel}/messages/{alert_message} 200",
    ]
    thread_post = fake.of("POST", f"/channels/{alert_message}/messages")[1]
    assert thread_post.body["embeds"][0]["title"] == "Dmitriev meets Witkoff in Miami"
    thread = fake.of("POST", "/threads")[0]
    assert thread.body["name"] == "Witkoff will meet Putin in Moscow"
    edit = fake.of("PATCH")[0]
    outlets = {f["name"]: f["value"] for f in edit.body["embeds"][0]["fields"]}["Outlets"]
    assert outlets.splitlines() == [
        "Reported by 2 outlets:",
        "[The Moscow Times](https://mt.example/1)",
        "[BBC News](https://bbc.example/2)",
    ]
    assert edit.body["embeds"][0]["title"] == "Witkoff will meet Putin in Moscow"
    # the edit left the buttons alone
    assert fake.messages[alert_message]["components"] == posted.body["components"]


async def test_429_is_retry_later_then_the_alert_goes_out_once(
    fake: FakeDiscord, client: PeacewatchClient, redis_client: aioredis.Redis
) -> None:
    channel = fake.add_channel()
    fake.rate_limit(channel, retry_after=60.0)
    now = [1000.0]
    queue = AlertQueue(redis_client)
    sink = DiscordSink(client, fake.token)
    dispatcher = Dispatcher(queue, {"discord": sink}, retry_idle_ms=0, clock=lambda: now[0])
    await queue.enqueue(new_alert(f"discord:{channel}"))

    await dispatcher.run_once(claim=False)
    assert dispatcher.stats.retried == 1 and dispatcher.stats.delivered == 0
    failures = await queue.failures()
    assert "rate limit" in failures[f"discord:{channel}"]

    await dispatcher.run_once()  # still inside retry_after: the destination waits
    assert dispatcher.stats.delivered == 0
    now[0] += 61
    await dispatcher.run_once()
    await dispatcher.run_once()
    assert dispatcher.stats.delivered == 1
    statuses = [s.status for s in fake.of("POST", f"/channels/{channel}/messages")]
    assert statuses == [429, 200]
    assert await queue.failures() == {}


async def test_a_long_429_surfaces_at_once_with_its_retry_after(
    fake: FakeDiscord, client: PeacewatchClient
) -> None:
    channel = fake.add_channel()
    fake.rate_limit(channel, retry_after=120.0)
    with pytest.raises(RetryLater) as caught:
        await DiscordSink(client, fake.token).deliver(new_alert(f"discord:{channel}"), None)
    assert caught.value.retry_after == pytest.approx(120.0)


async def test_unknown_channel_is_dead_lettered_while_another_channel_gets_its_alert(
    fake: FakeDiscord, client: PeacewatchClient, redis_client: aioredis.Redis
) -> None:
    good = fake.add_channel()
    gone = 123456789012345678
    forbidden = fake.add_channel()
    fake.forbid(forbidden)
    queue = AlertQueue(redis_client)
    dispatcher = Dispatcher(queue, {"discord": DiscordSink(client, fake.token)})
    await queue.enqueue(new_alert(f"discord:{gone}", story="1" * 16))
    await queue.enqueue(new_alert(f"discord:{forbidden}", story="2" * 16))
    await queue.enqueue(new_alert(f"discord:{good}", story="3" * 16))
    await dispatcher.drain()

    assert dispatcher.stats.dead == 2 and dispatcher.stats.delivered == 1
    assert [s.status for s in fake.of("POST", f"/channels/{good}/messages")] == [200]
    dead = await redis_client.xrange(keys.alert_dead_letter())
    reasons = sorted(fields["reason"] for _id, fields in dead)
    assert "code 10003" in reasons[0] or "code 10003" in reasons[1]
    assert any("code 50001" in r for r in reasons)
    failures = await queue.failures()
    assert set(failures) == {f"discord:{gone}", f"discord:{forbidden}"}


async def test_a_revoked_token_is_permanent(fake: FakeDiscord, client: PeacewatchClient) -> None:
    channel = fake.add_channel()
    with pytest.raises(PermanentDelivery, match="401"):
        await DiscordSink(client, "revoked").deliver(new_alert(f"discord:{channel}"), None)


async def test_a_forum_channel_gets_a_post_per_story(
    fake: FakeDiscord, client: PeacewatchClient
) -> None:
    forum = fake.add_channel(FORUM)
    sink = DiscordSink(client, fake.token)
    first = new_alert(f"discord:{forum}")
    ref = await sink.deliver(first, None)
    post_id = ref.split("/")[0]
    assert ref == f"{post_id}/{post_id}"
    assert fake.channels[int(post_id)]["parent_id"] == str(forum)
    await sink.deliver(followup_of(first), ref)
    assert [s.status for s in fake.of("POST", f"/channels/{post_id}/messages")] == [200]
    assert [s.path for s in fake.of("POST", "/threads")] == [f"/channels/{forum}/threads"]
    edited = fake.messages[int(post_id)]["embeds"][0]["fields"]
    assert any(f["value"].startswith("Reported by 2 outlets") for f in edited)


def test_pacer_allows_a_burst_then_asks_to_wait() -> None:
    now = [0.0]
    pacer = ChannelPacer(rate=1.0, burst=2.0, max_wait=0.5, clock=lambda: now[0])
    assert pacer.wait_for("c") == 0.0
    assert pacer.wait_for("c") == 0.0
    assert pacer.wait_for("other") == 0.0
    with pytest.raises(RetryLater):
        pacer.wait_for("c")
    now[0] += 0.6
    assert pacer.wait_for("c") == pytest.approx(0.4)


async def test_webhook_to_a_forum_posts_the_story_and_follows_up_by_thread_id(
    fake: FakeDiscord, hooks: WebhookClient, redis_client: aioredis.Redis
) -> None:
    forum = fake.add_channel(FORUM)
    url = fake.add_webhook(forum)
    queue = AlertQueue(redis_client)
    dispatcher = Dispatcher(queue, {"discordhook": WebhookSink(hooks)})
    first = new_alert(f"discordhook:{url}")
    await queue.enqueue(first)
    await queue.enqueue(followup_of(first))
    await dispatcher.drain()

    assert dispatcher.stats.delivered == 2
    executes = fake.of("POST", "/webhooks/")
    assert [s.status for s in executes] == [400, 200, 200]
    assert executes[1].body["thread_name"] == "Witkoff will meet Putin in Moscow"
    post = next(c for c in fake.channels.values() if c.get("parent_id") == str(forum))["id"]
    assert executes[2].query == {"wait": "true", "thread_id": post}
    assert executes[2].body["embeds"][0]["title"] == "Dmitriev meets Witkoff in Miami"
    [edit] = fake.of("PATCH", "/webhooks/")
    assert edit.query == {"thread_id": post}
    assert "Reported by 2 outlets" in str(edit.body["embeds"][0]["fields"])


async def test_webhook_to_a_text_channel_uses_the_alerts_thread_when_there_is_one(
    fake: FakeDiscord, hooks: WebhookClient
) -> None:
    channel = fake.add_channel()
    url = fake.add_webhook(channel)
    sink = WebhookSink(hooks)
    first = new_alert(f"discordhook:{url}")
    ref = await sink.deliver(first, None)
    message_id = ref.split("/")[1]
    # Nobody started a thread: the follow-up goes below the alert.
    await sink.deliver(followup_of(first), ref)
    # Someone started one from the alert: the next follow-up goes into it.
    fake._thread(int(message_id), channel, "thread")
    await sink.deliver(followup_of(first, n=3), ref)
    executes = fake.of("POST", "/webhooks/")
    assert [(s.status, s.query.get("thread_id")) for s in executes] == [
        (200, None),
        (400, message_id),
        (200, None),
        (200, message_id),
    ]
    in_thread = [m for m in fake.messages.values() if m["channel_id"] == message_id]
    assert len(in_thread) == 1
    assert in_thread[0]["embeds"][0]["title"] == "Dmitriev meets Witkoff in Miami"


async def test_webhook_429_is_retry_later(fake: FakeDiscord, hooks: WebhookClient) -> None:
    channel = fake.add_channel()
    url = fake.add_webhook(channel)
    hook_id = url.split("/")[-2]
    fake.rate_limit(hook_id, retry_after=90.0)
    sink = WebhookSink(hooks)
    with pytest.raises(RetryLater) as caught:
        await sink.deliver(new_alert(f"discordhook:{url}"), None)
    assert caught.value.retry_after == pytest.approx(90.0)
    # The webhook is known to be limited: the next try waits without asking Discord.
    with pytest.raises(RetryLater):
        await sink.deliver(new_alert(f"discordhook:{url}"), None)
    assert len(fake.of("POST", "/webhooks/")) == 1


async def test_webhook_validation(fake: FakeDiscord, hooks: WebhookClient) -> None:
    url = fake.add_webhook(fake.add_channel())
    assert await validate_webhook(url, hooks) is None
    hook_id, token = url.split("/")[-2:]
    deleted = url.replace(hook_id, "111111111111111111")
    assert "does not know" in (await validate_webhook(deleted, hooks) or "")
    assert "does not know" in (await validate_webhook(url.replace(token, "y" * 68), hooks) or "")
    assert "not a Discord webhook URL" in (
        await validate_webhook("https://example.org/api/webhooks/1/2", hooks) or ""
    )


async def test_unknown_webhook_is_permanent(fake: FakeDiscord, hooks: WebhookClient) -> None:
    url = fake.add_webhook(fake.add_channel())
    hook_id = url.split("/")[-2]
    del fake.webhooks[int(hook_id)]
    with pytest.raises(PermanentDelivery, match="10015"):
        await WebhookSink(hooks).deliver(new_alert(f"discordhook:{url}"), None)


async def test_a_repeated_post_gets_the_first_message_back_within_the_nonce_window(
    fake: FakeDiscord, client: PeacewatchClient
) -> None:
    now = [1000.0]
    fake.clock = lambda: now[0]
    channel = fake.add_channel()
    sink = DiscordSink(client, fake.token)
    alert = new_alert(f"discord:{channel}")
    ref = await sink.deliver(alert, None)
    now[0] += 60
    assert await sink.deliver(alert, None) == ref
    assert len(fake.in_channel(channel)) == 1
    creates = fake.of("POST", f"/channels/{channel}/messages")
    assert [s.status for s in creates] == [200, 200]
    (nonce,) = {s.body["nonce"] for s in creates}
    assert nonce == message_nonce(alert.alert_id) and 0 < len(nonce) <= 25
    assert all(s.body["enforce_nonce"] is True for s in creates)
    # another alert has another nonce
    assert message_nonce(followup_of(alert).alert_id) != nonce
    # past Discord's window the nonce no longer protects (what docs/discord.md describes)
    now[0] += fake.nonce_window
    assert await sink.deliver(alert, None) != ref
    assert len(fake.in_channel(channel)) == 2


async def test_a_repeated_followup_lands_once_in_the_thread(
    fake: FakeDiscord, client: PeacewatchClient
) -> None:
    channel = fake.add_channel()
    sink = DiscordSink(client, fake.token)
    first = new_alert(f"discord:{channel}")
    ref = await sink.deliver(first, None)
    reply = followup_of(first)
    assert await sink.deliver(reply, ref) == await sink.deliver(reply, ref)
    thread = int(ref.split("/")[1])
    assert len(fake.in_channel(thread)) == 1


async def test_an_interrupted_post_is_answered_with_its_message_on_redelivery(
    fake: FakeDiscord, client: PeacewatchClient, redis_client: aioredis.Redis
) -> None:
    channel = fake.add_channel()
    queue = AlertQueue(redis_client)
    sink = DiscordSink(client, fake.token)
    alert = new_alert(f"discord:{channel}")
    await queue.enqueue(alert)
    fake.hold_messages()
    task = asyncio.create_task(Dispatcher(queue, {"discord": sink}).run_once(claim=False))
    await fake.wait_for(lambda: fake.held >= 1)
    task.cancel()  # the dispatcher dies while Discord holds the answer
    with suppress(asyncio.CancelledError):
        await task
    fake.release_messages()
    (posted,) = fake.in_channel(channel)

    second = Dispatcher(queue, {"discord": sink}, "dispatcher-2", retry_idle_ms=0)
    await second.run_once(claim=True)
    assert second.stats.delivered == 1 and fake.in_channel(channel) == [posted]
    assert await redis_client.get(keys.delivered(alert.alert_id)) == f"{channel}/{posted['id']}"


async def test_the_fake_refuses_a_nonce_longer_than_25(fake: FakeDiscord) -> None:
    channel = fake.add_channel()
    url = f"{fake.api_url}/channels/{channel}/messages"
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as http:
        body = {"content": "x", "nonce": "n" * 26, "enforce_nonce": True}
        async with http.post(url, json=body, headers=headers) as response:
            assert response.status == 400 and (await response.json())["code"] == 50035


async def test_an_escalation_posts_in_the_thread_and_replies_to_the_alert_in_the_channel(
    fake: FakeDiscord, client: PeacewatchClient, redis_client: aioredis.Redis
) -> None:
    channel = fake.add_channel()
    queue = AlertQueue(redis_client)
    dispatcher = Dispatcher(queue, {"discord": DiscordSink(client, fake.token)})
    first = new_alert(f"discord:{channel}")
    await queue.enqueue(first)
    await queue.enqueue(followup_of(first))
    escalation = followup_of(first, n=3)
    await queue.enqueue(replace(escalation, extra={"broadcast": "1"}))
    await dispatcher.drain()
    assert dispatcher.stats.delivered == 3
    alert_message = next(iter(fake.messages))
    in_channel = [s for s in fake.of("POST", f"/channels/{channel}/messages") if s.status == 200]
    assert len(in_channel) == 2  # the alert, then the escalation's reply to it
    reference = in_channel[1].body["message_reference"]
    assert reference["message_id"] == str(alert_message)
    in_thread = [
        s for s in fake.of("POST", f"/channels/{alert_message}/messages") if s.status == 200
    ]
    assert len(in_thread) == 2  # the follow-up and the escalation, in the story's thread
    assert in_channel[1].body["nonce"] != in_thread[1].body["nonce"]
