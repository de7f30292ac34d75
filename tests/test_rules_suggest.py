"""``rules suggest ID``: a -word refinement from alerts marked not relevant, with its backtest."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from peacewatch.models import Article
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService, suggest
from peacewatch.services.replies import Caller
from peacewatch.store.articles import ArticleStore
from peacewatch.store.codec import alert_to_json
from peacewatch.store.teams import TeamStore
from tests.fakes.slack_api import sample_alert

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MEMBER = Caller("slack", "slack:T1", "U2", "slack:C1")
DISMISSED = (
    "Opinion: Witkoff is wrong about Donbas",
    "Witkoff's critics, an opinion column",
    "Why Witkoff fails, opinion by a pundit",
)
KEPT = (
    "Witkoff meets Umerov in Miami",
    "Witkoff and Dmitriev agree on a draft",
    "Witkoff lands in Moscow for talks",
    "Witkoff answers opinion polls on the plan",
)


async def seed(
    redis: aioredis.Redis,
    service: CommandService,
    now: datetime = NOW,
    *,
    caller: Caller = MEMBER,
    query: str = "Witkoff",
    dismissed: tuple[tuple[str, str], ...] = tuple((t, t) for t in DISMISSED),
    kept: tuple[tuple[str, str], ...] = tuple((t, t) for t in KEPT),
) -> None:
    """A rule ``witkoff`` with one alert per (title, summary) article, stored as the pipeline
    stores them; the ``dismissed`` ones marked not relevant through the real feedback path."""
    teams, team = TeamStore(redis), caller.team_id
    rule = RuleSpec(id="witkoff", query=query, channels=[caller.channel])
    await teams.put_rule(team, rule)
    for i, (title, summary) in enumerate(dismissed + kept):
        article = Article(
            id=f"art{i}", title=title, link=f"https://example.org/{i}", published=now,
            source="example.org", summary=summary,
        )  # fmt: skip
        await ArticleStore(redis).save(article)
        alert = replace(
            sample_alert(alert_id=f"al{i}", story_id=f"s{i}"),
            article_id=article.id,
            rule_id="witkoff",
            created=now - timedelta(hours=i),
        )
        await teams.record_alert(team, alert_to_json(alert), alert.created, alert.alert_id)
        if i < len(dismissed):  # the real "Not relevant" button's path
            reply = await service.feedback(caller, f"s{i}", "not_relevant", f"al{i}")
            assert not reply.error


async def test_a_refinement_is_proposed_with_its_backtest(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    await seed(redis_client, service)
    reply = await service.handle_text(MEMBER, "rules suggest witkoff")
    assert not reply.error, reply.text
    assert "`(Witkoff) -opinion`" in reply.text
    assert "removed 3 of the 3 marked not relevant and lost 1 of the 4 kept" in reply.text
    assert reply.footer == "Apply it: /peacewatch rules add witkoff (Witkoff) -opinion"
    # the suggestion only reads: the rule is as it was
    rule = await TeamStore(redis_client).rule("slack:T1", "witkoff")
    assert rule is not None and rule.query == "Witkoff"


class HeldSuggestions(ThreadPoolExecutor):
    """The loop's default executor: a suggestion's work (``suggest.propose``, as
    ``asyncio.to_thread`` hands it over) waits in its thread until ``release`` is set, and
    ``started`` tells the loop it is there; anything else runs at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(max_workers=4)
        self.started = asyncio.Event()
        self.release = threading.Event()
        self._loop = loop

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if isinstance(fn, functools.partial) and suggest.propose in fn.args:
            inner = fn

            def held() -> Any:
                self._loop.call_soon_threadsafe(self.started.set)
                assert self.release.wait(30), "the test never released the suggestion"
                return inner()

            return super().submit(held)
        return super().submit(fn, *args, **kwargs)


async def test_other_commands_are_answered_while_a_suggestion_is_worked_out(
    redis_client: aioredis.Redis,
) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    await seed(redis_client, service)
    loop = asyncio.get_running_loop()
    executor = HeldSuggestions(loop)
    loop.set_default_executor(executor)
    try:
        running = asyncio.create_task(service.handle_text(MEMBER, "rules suggest witkoff"))
        # the suggestion's matching is in a worker thread, held there: the loop is free
        await asyncio.wait_for(executor.started.wait(), 30)
        listed = await service.handle_text(MEMBER, "rules list")
        assert not listed.error and [i.title for i in listed.items] == ["witkoff"]
        again = await service.handle_text(MEMBER, "rules suggest witkoff")
        assert again.error and "being worked out" in again.text  # one at a time per team
        assert not running.done()
        executor.release.set()
        reply = await asyncio.wait_for(running, 30)
        assert not reply.error and "`(Witkoff) -opinion`" in reply.text
        # done: the team may ask again
        after = await service.handle_text(MEMBER, "rules suggest witkoff")
        assert not after.error and "`(Witkoff) -opinion`" in after.text
    finally:
        executor.release.set()


async def test_without_feedback_it_says_how_to_give_some(redis_client: aioredis.Redis) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    await TeamStore(redis_client).put_rule(
        "slack:T1", RuleSpec(id="witkoff", query="Witkoff", channels=["slack:C1"])
    )
    reply = await service.handle_text(MEMBER, "rules suggest witkoff")
    assert "No alert of witkoff was marked not relevant yet" in reply.title
    unknown = await service.handle_text(MEMBER, "rules suggest nope")
    assert unknown.error and "There is no rule 'nope'" in unknown.text


NEAR_KEPT = (
    ("Witkoff and Dmitriev agree on a draft", "The envoys met for five hours."),
    ("Witkoff meets Dmitriev in Miami", "Talks on the peace plan went on."),
    ("Dmitriev hosts Witkoff in St Petersburg", "A new round of talks."),
    ("Witkoff, Dmitriev and Umerov talk", "Three delegations sat together."),
)
NEAR_DISMISSED = (
    (
        "Economic forum opens",
        "Witkoff spent Tuesday at an economic forum discussing investment, energy prices, "
        "shipping routes, grain exports, insurance markets and currency swaps; separately "
        "Dmitriev",
    ),
    (
        "Sovereign fund chief interviewed",
        "Dmitriev gave a long interview about sovereign funds, Arctic projects, vaccine sales, "
        "football clubs, aviation parts plus rare metals while elsewhere Witkoff",
    ),
    (
        "Florida property tour",
        "Witkoff toured Florida real estate developments with partners, praising golf courses, "
        "hotels, marinas, condominiums, restaurants, casinos; meanwhile Russian envoy Dmitriev",
    ),
)


def word_distance(text: str, a: str, b: str) -> int | None:
    """Words from ``a`` to ``b`` (either order) in ``text``, counted by hand."""
    words = [w.strip(",;.") for w in text.split()]
    if a not in words or b not in words:
        return None
    return abs(words.index(a) - words.index(b))


async def test_terms_close_in_kept_alerts_and_far_in_dismissed_ones_give_a_near(
    redis_client: aioredis.Redis,
) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    await seed(
        redis_client,
        service,
        query="Witkoff AND Dmitriev",
        dismissed=NEAR_DISMISSED,
        kept=NEAR_KEPT,
    )
    kept = [word_distance(t, "Witkoff", "Dmitriev") for t, _ in NEAR_KEPT]
    far = [word_distance(s, "Witkoff", "Dmitriev") for _, s in NEAR_DISMISSED]
    assert None not in kept and None not in far
    k = max(d for d in kept if d is not None)
    assert min(d for d in far if d is not None) > k  # the data is what the test says
    reply = await service.handle_text(MEMBER, "rules suggest witkoff")
    assert not reply.error, reply.text
    assert f"`Witkoff NEAR/{k} Dmitriev`" in reply.text
    assert f"Dmitriev within {k} words" in reply.text
    assert "removed 3 of the 3 marked not relevant and lost 0 of the 4 kept" in reply.text
    suggestion = await service.suggestion(MEMBER, "witkoff")
    assert suggestion.best is not None and suggestion.best.query == f"Witkoff NEAR/{k} Dmitriev"
    rule = await TeamStore(redis_client).rule("slack:T1", "witkoff")
    assert rule is not None and rule.query == "Witkoff AND Dmitriev"


async def test_no_near_when_kept_and_dismissed_alerts_are_alike(
    redis_client: aioredis.Redis,
) -> None:
    service = CommandService(redis_client, clock=lambda: NOW)
    close = tuple((t, f"{s} Witkoff and Dmitriev") for t, s in NEAR_DISMISSED)
    await seed(redis_client, service, query="Witkoff AND Dmitriev", dismissed=close, kept=NEAR_KEPT)
    reply = await service.handle_text(MEMBER, "rules suggest witkoff")
    assert not reply.error, reply.text
    assert "NEAR" not in reply.text and not any("NEAR" in i.title for i in reply.items)
