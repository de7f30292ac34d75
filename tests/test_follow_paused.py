"""A follower the bot can never send a direct message to (an account Slack does not know, a
deactivated one) is no delivery outage: /healthz and ``status`` stay ok, the follow is kept
and shown failing and paused with the reason, its later alerts are neither dead letters nor
new conversations.open calls, and following again once the account works resumes it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from peacewatch import status
from peacewatch.models import Article
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.articles import ArticleStore
from peacewatch.store.feeds import FeedStore
from peacewatch.store.teams import TeamStore
from tests import test_follows, test_slack_commands
from tests.fakes.slack_api import sample_alert
from tests.test_follows import NOW, Pipe, report, said
from tests.test_slack_commands import Env

env = test_slack_commands.env
slack = test_slack_commands.slack
pipe = test_follows.pipe

__all__ = ["env", "pipe", "slack"]  # the fixtures


def other_story(n: int) -> Article:
    """A Witkoff report of an event of its own (a story of its own)."""
    return Article(
        id=f"cfg-geneva-{n}",
        title=f"Witkoff opens round {n} of talks on a Black Sea grain corridor in Geneva",
        link=f"https://example.org/geneva-{n}",
        published=NOW - timedelta(minutes=30 - n),
        source="example.org",
        summary="Steve Witkoff chaired a session on shipping lanes and insurance for grain.",
        feed_id="cfg",
    )


async def health(env: Env) -> dict[str, object]:
    redis = env.redis
    found = await status.collect(
        FeedStore(redis), TeamStore(redis), AlertQueue(redis), ArticleStore(redis)
    )
    return found.health()


async def test_a_user_the_bot_cannot_dm_pauses_their_follow_not_delivery(
    env: Env, pipe: Pipe, caplog: pytest.LogCaptureFixture
) -> None:
    # UGONE runs commands, but Slack cannot open a DM with them (user_not_found)
    await env.command("follow actor:witkoff", user="UGONE")
    with caplog.at_level(logging.WARNING, logger="peacewatch.services.dispatcher"):
        await pipe.send(report(0))
        assert pipe.dispatcher.stats.dead == 1  # the alert that found it out, and no other
        assert await health(env) == {"delivery": "ok", "failing": []}
        listed = said(await env.command("follows", user="UGONE", name="paused"))
        assert "actor:witkoff" in listed and "failing: not delivered since" in listed
        assert "user_not_found" in listed and "paused until you follow a query again" in listed

        # later stories: no alert is made for the paused follow; one queued before the pause
        # is dropped, not dead-lettered, and no DM is opened for it
        await pipe.send(other_story(1))
        queued = replace(sample_alert(alert_id="queued", channel="@UGONE"), team_id="slack:T1")
        await AlertQueue(env.redis).enqueue(queued)
        await pipe.dispatcher.drain()
    assert pipe.dispatcher.stats.dead == 1 and pipe.dispatcher.stats.dropped == 1
    assert len(env.slack.calls_to("conversations.open")) == 1
    assert await AlertQueue(env.redis).depth() == {
        "stream": 2, "pending": 0, "undelivered": 0, "dead": 1
    }  # fmt: skip
    paused = [r for r in caplog.records if "cannot be delivered" in r.getMessage()]
    assert len(paused) == 1 and paused[0].levelno == logging.WARNING
    assert await health(env) == {"delivery": "ok", "failing": []}

    # the account works again and its user follows again: the next story reaches them
    env.slack.add_user("UGONE", "back")
    await env.command("follow actor:witkoff", user="UGONE", name="again")
    assert "failing" not in said(await env.command("follows", user="UGONE"))
    await pipe.send(other_story(2))
    assert [m.channel for m in env.slack.messages] == ["DUGONE"]
    assert "failing" not in said(await env.command("follows", user="UGONE", name="after"))
