"""What every command group shares: the service's stores, limits, reply helpers and admin check."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ParamSpec

from peacewatch.configcheck import destination_problem
from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.models import Article, Match
from peacewatch.pipeline.summarise import clip, summarise
from peacewatch.rules.entities import Entity
from peacewatch.rules.rulefile import RULE_ID_PATTERN
from peacewatch.services import parsing as p
from peacewatch.services.replies import Caller, Reply, ReplyItem
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.codec import article_from_json
from peacewatch.store.feeds import FeedStore
from peacewatch.store.history import MAX_VERIFY, HistoryIndex, SearchResult
from peacewatch.store.teams import TeamStore

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from peacewatch.watchers.fetch import Fetcher
    from peacewatch.watchers.parse import FeedParserPool


PAGE = 10
ITEM_TEXT = 300
TITLE_TEXT = 200
MAX_RULES = 200
MAX_FEEDS = 50
DEFAULT_MUTE = timedelta(hours=24)
STORY_MUTE = timedelta(days=14)
COMPLETIONS = 25
TREND_VERIFY = 20_000
"""A chart counts every day, so it reads more candidates than a page of answers."""
GOOGLE_NEWS_SEARCH = "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en"
CMD = "/peacewatch"
_RULE_ID = re.compile(RULE_ID_PATTERN)
_USER = re.compile(r"^<@!?([A-Za-z0-9]{2,32})(?:\|[^>]*)?>$|^@?([A-Za-z0-9]{2,32})$")

NOT_ADMIN = "Only workspace admins and this team's peacewatch admins can change rules, feeds, "
NOT_ADMIN += "mutes, subscriptions and settings."
PLATFORM_ADMINS = {"slack": "workspace admins", "discord": "members with Manage Server"}
"""Who a platform says may change things, in its own words."""
NOT_ADMIN_HINT = f"Ask an admin to run it, or to add you with {CMD} admins add @you."

_OWN_PLATFORMS = {"slack": ("slack",), "discord": ("discord", "discordhook")}
"""Where a chat team's rules may post: its own platform's channels."""

HELP: tuple[tuple[str, str], ...] = (
    ("latest [n]", "latest 5 — the team's newest alerts"),
    ("search QUERY [--since 7d]", 'search Witkoff AND (Donbas OR "security guarantees")'),
    ("actor NAME [--since 7d]", "actor Lavrov --since 3d — what one actor did lately"),
    ("digest [24h]", "digest 24h — the period's top stories with summaries"),
    ("status", "status — feeds, queue, delivery failures, rules"),
    ("rules add ID QUERY [#channel]", "rules add witkoff-donbas Witkoff Donbas <#C0123ABCD>"),
    ("rules list | remove ID", "rules remove witkoff-donbas"),
    ("rules test QUERY [--since 7d]", "rules test Dmitriev NEAR/5 Witkoff --since 30d"),
    ("rules suggest ID", "rules suggest witkoff — a refinement learned from not-relevant alerts"),
    ("mute ID [for 2h] | unmute ID", "mute witkoff-donbas for 2h (default 24h)"),
    ("subscribe RULE #channel", "subscribe witkoff-donbas slack:C0123ABCD"),
    ("feeds add URL | --search TEXT", 'feeds add --search "Witkoff Dmitriev"'),
    ("feeds list | remove ID", "feeds remove f1a2b3c4d5e6"),
    ("trend QUERY [30d]", "trend ceasefire 30d — a chart of daily story counts"),
    ("quiet START-END [Zone] | off", "quiet 22:00-07:00 Europe/Kyiv"),
    ("timezone ZONE", "timezone Europe/Kyiv"),
    ("digest at HH:MM", "digest at 08:00 — when daily digest rules go out"),
    ("retention DAYS", "retention 30d — how far back questions look"),
    ("admins add|remove|list @user", "admins add @maria"),
    ("follow QUERY | unfollow ID | follows", "follow actor:witkoff — a DM for each new story"),
    ("follows @user | unfollow @user ID|all", "unfollow @maria all — admins: another's follows"),
)


def not_admin(platform: str) -> str:
    """The refusal of a change to someone who may not make it, in the platform's words."""
    who = PLATFORM_ADMINS.get(platform, "platform admins")
    return NOT_ADMIN.replace("workspace admins", who, 1)


def _item(title: str, link: str = "", text: str = "", meta: str = "") -> ReplyItem:
    return ReplyItem(clip(title, TITLE_TEXT), link, clip(text, ITEM_TEXT), clip(meta, ITEM_TEXT))


def _n(count: int, noun: str) -> str:
    """``1 story``, ``2 stories``, ``3 articles``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _footer(shown: int, total: int, page: int, more: str, exact: bool = True) -> str:
    if total == 0:
        return ""
    first = (page - 1) * PAGE + 1
    counted = f"{total}" if exact else f"about {total}"
    if first + shown - 1 >= total:
        return f"Showing {first}–{first + shown - 1} of {counted}."
    return f"Showing {first}–{first + shown - 1} of {counted} — more: {more} --page {page + 1}"


def _query_error(exc: QuerySyntaxError, query: str, example: str) -> Reply:
    pointer = ""
    if exc.line == 1 and 1 <= exc.column <= len(query) + 1 and len(query) <= 200:
        pointer = f"\n`{query}`\n`{' ' * (exc.column - 1)}^`"
    return Reply.fail(
        f"The query does not parse: {exc}{pointer}",
        hint=f"Check quotes, parentheses and AND/OR/NOT/NEAR around that column, e.g. {example}",
    )


P = ParamSpec("P")


def _answers(method: Callable[P, Awaitable[Reply]]) -> Callable[P, Awaitable[Reply]]:
    """A user's bad input (a duration, a channel, a zone) becomes a Reply, never an exception."""

    @functools.wraps(method)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> Reply:
        try:
            return await method(*args, **kwargs)
        except (InputError, ValueError) as exc:
            return Reply.fail(str(exc)[:500], hint=f"{CMD} help lists every command.")

    return answer


class CommandBase:
    """The stores and helpers that every command group uses (one instance per deployment)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        fetcher: Fetcher | None = None,
        parser: FeedParserPool | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_feeds_changed: Callable[[], Awaitable[None]] | None = None,
        history: HistoryIndex | None = None,
        news_search_url: str = GOOGLE_NEWS_SEARCH,
    ) -> None:
        self._redis = redis
        self._fetcher = fetcher
        self._owns_fetcher = fetcher is None
        self._parser = parser
        """The watchers' parse worker: a feed added in chat is read there, as its polls will be
        (without one, in a thread of this process)."""
        self._clock = clock
        self._on_feeds_changed = on_feeds_changed
        self._teams = TeamStore(redis)
        self._feeds = FeedStore(redis)
        self._queue = AlertQueue(redis)
        self._history = history or HistoryIndex(redis, clock=clock)
        self._news_search_url = news_search_url
        self.destination_checks: dict[str, Callable[[str, Caller], Awaitable[str | None]]] = {}
        """Per platform, a check of a new destination (the Discord adapter checks webhooks)."""
        self.channel_resolvers: dict[str, Callable[[str, str], Awaitable[str]]] = {}
        """Per platform, ``(team_id, "slack:#name")`` to ``"slack:ID"``; raises ValueError
        saying how to find the id (the Slack adapter asks conversations.list)."""

    async def _destination(self, channel: str, caller: Caller) -> str:
        """A channel as typed to a destination: ``<#C123|name>``, ``slack:C123``, a webhook URL;
        a ``#name`` is looked up when the caller's platform can. Raises InputError saying what
        to type instead (an unknown platform gets the closest known one)."""
        text = channel.strip()
        name = text.partition(":")[2] if text.lower().startswith(f"{caller.platform}:#") else text
        resolve = self.channel_resolvers.get(caller.platform)
        if resolve is not None and name.startswith("#"):
            try:
                return await resolve(caller.team_id, f"{caller.platform}:{name}")
            except ValueError as exc:
                raise InputError(str(exc)) from exc
        try:
            return p.parse_channel(text, caller.platform)
        except InputError as exc:
            problem = destination_problem(text) if ":" in text else None
            if problem is not None and "unknown platform" in problem:
                raise InputError(problem) from exc
            raise

    async def _check_destination(self, destination: str, caller: Caller) -> str | None:
        """What is wrong with a destination for this caller's team, or None: a team posts to
        its own platform only, and the platform's check (a Discord channel must be in the
        caller's server; a webhook must exist) has the last word."""
        platform, _, target = destination.partition(":")
        allowed = _OWN_PLATFORMS.get(caller.platform)
        if allowed is not None and platform not in allowed:
            return f"A {caller.platform} team's rules can post to {' or '.join(allowed)} only."
        check = self.destination_checks.get(platform)
        return await check(target, caller) if check is not None else None

    async def close(self) -> None:
        """Close the fetcher if this service made it."""
        if self._owns_fetcher and self._fetcher is not None:
            await self._fetcher.close()
            self._fetcher = None

    # Helpers -----------------------------------------------------------------------------------
    async def is_admin(self, caller: Caller) -> bool:
        """The platform says so (workspace admin, Manage Server), or the team's admin list does."""
        if caller.platform_admin:
            return True
        return await self._teams.is_admin(caller.team_id, caller.user_id)

    async def _refuse(self, caller: Caller) -> Reply | None:
        if await self.is_admin(caller):
            return None
        return Reply.fail(not_admin(caller.platform), hint=NOT_ADMIN_HINT)

    async def _entities(self, team_id: str) -> tuple[Entity, ...]:
        return tuple(e.to_entity() for e in await self._teams.entities(team_id))

    async def _window(self, caller: Caller, since: str) -> tuple[datetime, str]:
        """The start of a question's time range, capped at the team's retention."""
        span = p.parse_duration(since)
        retention = timedelta(days=(await self._teams.settings(caller.team_id)).retention_days)
        note = ""
        if span > retention:
            span = retention
            note = f" (capped at this team's retention of {retention.days}d)"
        return self._clock() - span, note

    async def _story_groups(self, result: SearchResult) -> list[tuple[str, list[str]]]:
        """(story id, article ids newest first) of the result, newest story first."""
        ids = [a for a, _ in result.hits]
        stories: dict[str, list[str]] = {}
        for start in range(0, len(ids), 1000):
            batch = ids[start : start + 1000]
            found = await self._redis.mget([keys.article_story(a) for a in batch])
            for article_id, value in zip(batch, found, strict=True):
                story = str(value).partition(" ")[0] if value else "a:" + article_id
                stories.setdefault(story, []).append(article_id)
        return list(stories.items())

    async def _articles(self, ids: Sequence[str]) -> dict[str, Article]:
        if not ids:
            return {}
        texts = await self._redis.mget([keys.article(a) for a in ids])
        return {a: article_from_json(t) for a, t in zip(ids, texts, strict=True) if t}

    async def _story_page(
        self,
        caller: Caller,
        query: str,
        since: str,
        page: int,
        describe: Callable[[Article, Match | None, int], ReplyItem],
    ) -> tuple[list[ReplyItem], int, int, bool, str]:
        """One page of stories matching ``query``: (items, stories, articles, exact, note)."""
        start, note = await self._window(caller, since)
        entities = await self._entities(caller.team_id)
        result = await self._history.search(
            query, start, keep=0, entities=entities, max_verify=MAX_VERIFY * min(page, 20)
        )
        groups = await self._story_groups(result)
        chosen = groups[(page - 1) * PAGE : page * PAGE]
        articles = await self._articles([members[0] for _, members in chosen])
        engine = await self._history.engine_for(query, entities)
        items = []
        for _, members in chosen:
            article = articles.get(members[0])
            if article is None:
                continue
            matches = engine.match(article)
            items.append(describe(article, matches[0] if matches else None, len(members)))
        stories = len(groups)
        if not result.exact and result.hits:  # scaled like the estimated article count
            stories = max(stories, round(stories * result.total / len(result.hits)))
        return items, stories, result.total, result.exact, note

    @staticmethod
    def _story_item(article: Article, match: Match | None, size: int) -> ReplyItem:
        hits = match.hits if match else ()
        meta = [article.outlet or article.source, _when(article.published)]
        if match and match.matched:
            meta.append("matched: " + ", ".join(match.matched[:6]))
        if size > 1:
            meta.append(f"{size} articles in this story")
        title = article.title or article.summary
        return _item(title, article.link, summarise(article, hits, 2, ITEM_TEXT), " · ".join(meta))

    async def _no_rule(self, caller: Caller, rule_id: str) -> Reply:
        ids = [r.id for r in await self._teams.rules(caller.team_id)]
        known = ", ".join(ids[:10]) if ids else "none yet"
        return Reply.fail(
            f"There is no rule {rule_id[:64]!r}. Rules: {known}.", f"{CMD} rules list"
        )
