"""The platform-neutral command service: questions, rule and feed admin, answered as Replies.

Slack and Discord adapters call these methods (or ``handle_text`` with the text a user typed)
and render the Reply. No method raises for a user's mistake: it answers ``Reply.fail`` with
what to type instead. Every answer stays within the common limits of both platforms: at most
``PAGE`` items, each text at most ``ITEM_TEXT`` characters, and a footer that says how to get
more.

Team data is keyed by ``caller.team_id`` (already prefixed by platform), so one team never reads
or changes another's rules, feeds, mutes, admins or settings. The news history is shared.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal, ParamSpec
from urllib.parse import quote_plus

from peacewatch.bot.replies import Caller, Reply, ReplyItem
from peacewatch.configcheck import destination_problem
from peacewatch.errors import FeedError, InputError, ParseError, QuerySyntaxError, UrlRefused
from peacewatch.models import Alert, AlertKind, Article, Match
from peacewatch.pipeline.summarise import clip, sentences, summarise
from peacewatch.rules.engine import validate_query
from peacewatch.rules.entities import Entity, builtin_dictionary
from peacewatch.rules.query import query_warnings
from peacewatch.rules.rulefile import RULE_ID_PATTERN, RuleSpec
from peacewatch.services import parsing as p
from peacewatch.services.quiet import parse_quiet, quiet_release_time
from peacewatch.services.teamfeeds import TeamFeeds, chat_feed_id, from_config
from peacewatch.store import keys
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.codec import alert_from_json, article_from_json
from peacewatch.store.feeds import FeedSpec, FeedStore
from peacewatch.store.history import MAX_VERIFY, HistoryIndex, SearchResult
from peacewatch.store.teams import TeamStore
from peacewatch.watchers.parse import HtmlPageError, linked_feeds
from peacewatch.watchers.sourceconfig import ChatSource, chat_source
from peacewatch.watchers.sources import parse_kind

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from peacewatch.watchers.fetch import Fetcher

__all__ = ["GOOGLE_NEWS_SEARCH", "CommandService"]

log = logging.getLogger(__name__)

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


class CommandService:
    """Answers every chat command for one deployment (all teams, all platforms)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        fetcher: Fetcher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_feeds_changed: Callable[[], Awaitable[None]] | None = None,
        history: HistoryIndex | None = None,
        news_search_url: str = GOOGLE_NEWS_SEARCH,
    ) -> None:
        self._redis = redis
        self._fetcher = fetcher
        self._owns_fetcher = fetcher is None
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

    # Questions ---------------------------------------------------------------------------------
    @_answers
    async def latest(self, caller: Caller, n: int = 5) -> Reply:
        n = max(1, min(int(n), PAGE))
        alerts = [alert_from_json(t) for t in await self._teams.recent_alerts(caller.team_id, n)]
        if not alerts:
            return Reply(
                title="No alerts yet",
                text="This team has had no alerts. Add a rule to start: "
                f"{CMD} rules add witkoff Witkoff <#C0123ABCD>",
            )
        items = [self._alert_item(a) for a in alerts]
        total = int(await self._redis.zcard(keys.team_alerts(caller.team_id)))
        footer = f"Showing the newest {len(items)} of {total} alerts."
        if n < PAGE and total > n:
            footer += f" More: {CMD} latest {PAGE}; older ones: {CMD} search QUERY --since 30d"
        return Reply(title=f"Latest {len(items)} alerts", items=tuple(items), footer=footer)

    @staticmethod
    def _alert_item(alert: Alert) -> ReplyItem:
        meta = [alert.rule_id]
        if alert.outlet_count > 1:
            meta.append(f"{alert.outlet_count} outlets")
        if alert.created:
            meta.append(_when(alert.created))
        if alert.matched:
            meta.append("matched: " + ", ".join(alert.matched[:6]))
        return _item(alert.headline, alert.link, alert.summary, " · ".join(meta))

    @_answers
    async def search(self, caller: Caller, query: str, since: str = "7d", page: int = 1) -> Reply:
        example = f'{CMD} search Witkoff AND (Donbas OR "security guarantees") --since 7d'
        query = query.strip()
        if not query:
            return Reply.fail("Search for what?", hint=f"Type a query, e.g. {example}")
        try:
            items, stories, articles, exact, note = await self._story_page(
                caller, query, since, page, self._story_item
            )
        except QuerySyntaxError as exc:
            return _query_error(exc, query, example)
        if stories == 0:
            return Reply(
                title=f"Nothing matched in the last {since}{note}",
                text=f"No stored article matches `{clip(query, 200)}`.",
                footer=f"Look further back: {CMD} search {clip(query, 150)} --since 30d",
            )
        more = f"{CMD} search {clip(query, 150)} --since {since}"
        return Reply(
            title=f"{_n(stories, 'story')} ({_n(articles, 'article')}) in the last {since}{note}",
            items=tuple(items),
            footer=_footer(len(items), stories, page, more, exact),
        )

    @_answers
    async def actor(self, caller: Caller, name: str, since: str = "7d", page: int = 1) -> Reply:
        name = p.unquote(name)
        if not name:
            return Reply.fail("Which actor?", hint=f"Name one, e.g. {CMD} actor Lavrov --since 3d")
        dictionary = builtin_dictionary().extended(await self._entities(caller.team_id))
        entity = dictionary.get(name) or dictionary.lookup(name)
        if entity is not None:
            query = f"{entity.kind}:{entity.id}"
            label = entity.names[0] if entity.names else entity.id
        else:
            query = '"' + name.replace('"', " ") + '"'
            label = name

        def describe(article: Article, match: Match | None, size: int) -> ReplyItem:
            base = self._story_item(article, match, size)
            sentence = _naming_sentence(article, match)
            return ReplyItem(base.title, base.link, clip(sentence, ITEM_TEXT), base.meta)

        try:
            items, stories, _, exact, note = await self._story_page(
                caller, query, since, page, describe
            )
        except (QuerySyntaxError, InputError) as exc:
            return Reply.fail(f"Cannot look up {name[:60]!r}: {exc}", hint=f"{CMD} actor Lavrov")
        if stories == 0:
            return Reply(
                title=f"No stories naming {clip(label, 80)} in the last {since}{note}",
                footer=f"Look further back: {CMD} actor {clip(name, 80)} --since 30d",
            )
        more = f"{CMD} actor {clip(name, 80)} --since {since}"
        return Reply(
            title=f"{clip(label, 80)}: {_n(stories, 'story')} in the last {since}{note}",
            items=tuple(items),
            footer=_footer(len(items), stories, page, more, exact),
        )

    @_answers
    async def digest(self, caller: Caller, period: str = "24h") -> Reply:
        span = p.parse_duration(period)
        now = self._clock()
        alerts = [
            alert_from_json(t)
            for t in await self._teams.alerts_between(caller.team_id, now - span, now, 2000)
        ]
        if not alerts:
            return Reply(
                title=f"No alerts in the last {period}",
                footer=f"Look further back: {CMD} digest 7d",
            )
        best: dict[str, Alert] = {}
        rules: dict[str, set[str]] = {}
        summaries: dict[str, str] = {}  # the story's own summary, from its first alert
        for alert in alerts:
            if alert.kind is AlertKind.NEW and alert.summary:
                summaries.setdefault(alert.story_id, alert.summary)
            named = {alert.rule_id, *filter(None, alert.extra.get("rules", "").split(","))}
            rules.setdefault(alert.story_id, set()).update(named)
            kept = best.get(alert.story_id)
            if kept is None or alert.outlet_count > kept.outlet_count:
                best[alert.story_id] = alert
        ranked = sorted(
            best.values(),
            key=lambda a: (
                -a.outlet_count,
                -len(rules[a.story_id]),
                -(a.created or now).timestamp(),
            ),
        )
        items = []
        for alert in ranked[:PAGE]:
            meta = (
                f"{alert.outlet_count} outlets · rules: {', '.join(sorted(rules[alert.story_id]))}"
            )
            text = summaries.get(alert.story_id) or alert.summary or alert.extra.get("adds", "")
            items.append(_item(alert.headline, alert.link, text, meta))
        footer = f"Top {len(items)} of {len(ranked)} stories, ranked by outlets and rules."
        return Reply(
            title=f"Digest of the last {period}: {_n(len(ranked), 'story')}",
            items=tuple(items),
            footer=footer,
        )

    @_answers
    async def status(self, caller: Caller) -> Reply:
        team = caller.team_id
        received = await TeamFeeds(self._redis).of(team)
        feeds = [f.spec for f in received]
        own = {f.spec.id for f in received if f.origin != "config"}
        label = {f.spec.id: f.label for f in received}
        items = []
        failing = 0
        for feed in feeds[:PAGE]:
            health = await self._feeds.health(feed.id)
            error = health.get("last_error", "")
            if error and health.get("last_error_at", "") < health.get("last_ok", ""):
                error = ""
            failing += bool(error)
            meta = (
                f"last poll {health.get('last_poll', 'never')[:16]} · "
                f"items seen {health.get('items_seen', '0')}" + f" · {label[feed.id]}"
            )
            items.append(
                _item(
                    f"{feed.outlet or feed.url} ({feed.id})",
                    feed.url,
                    error and f"Last error: {error}",
                    meta,
                )
            )
        rules = await self._teams.rules(team)
        channels = {c for r in rules for c in r.channels}
        outages = {d: o for d, o in (await self._queue.outages()).items() if d in channels}
        waiting = await self._queue.waiting_by_destination() if outages else {}
        dead = sum(1 for x in await self._queue.dead_letters() if x.destination in channels)
        depth = await self._queue.depth()
        mutes = await self._teams.muted_until(team)
        muted = sum(1 for until in mutes.values() if until > self._clock().timestamp())
        settings = await self._teams.settings(team)
        lines = [
            f"Rules: {len(rules)} ({muted} muted) · feeds: {len(feeds)} ({len(own)} added by this "
            f"team)",
            f"Queue: {depth.get('undelivered', 0)} waiting, {depth.get('pending', 0)} in delivery, "
            f"{depth.get('dead', 0)} dead letters",
            f"Channels failing: {len(outages)} · dead letters for this team's channels: {dead}"
            + (" (an operator can list and retry them: peacewatch deadletters)" if dead else ""),
            f"Alerts marked not relevant: {await self._teams.not_relevant_count(team)}",
            f"Time zone: {settings.timezone} · quiet hours: "
            + (f"{settings.quiet_start}-{settings.quiet_end}" if settings.quiet_start else "off"),
        ]
        for destination, outage in sorted(outages.items())[:3]:
            since = datetime.fromtimestamp(outage.since, UTC).strftime("%Y-%m-%d %H:%M UTC")
            since = since if outage.since else "unknown"
            lines.append(
                f"• {destination}: failing since {since} · {waiting.get(destination, 0)} alerts "
                f"waiting · last error: {clip(outage.error, 120)}"
            )
        footer = f"{len(feeds)} feeds, {failing} failing among those shown."
        if len(feeds) > PAGE:
            footer += f" All feeds: {CMD} feeds list"
        return Reply(
            title="peacewatch status", text="\n".join(lines), items=tuple(items), footer=footer
        )

    @_answers
    async def help(self, caller: Caller) -> Reply:
        lines = [f"• {CMD} {usage} — e.g. {CMD} {example}" for usage, example in HELP]
        return Reply(
            title="peacewatch commands",
            text="\n".join(lines),
            ephemeral=True,
            footer='Queries: words, "exact phrases", prefix*, AND/OR/NOT/-term, a NEAR/5 b, '
            "title:, source:, lang:, actor:ID. Changing rules, feeds and settings needs an admin.",
        )

    # Rules -------------------------------------------------------------------------------------
    @_answers
    async def rules_add(
        self, caller: Caller, rule_id: str, query: str, channel: str | None = None
    ) -> Reply:
        example = f'{CMD} rules add witkoff-donbas Witkoff AND (Donbas OR "security guarantees")'
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if not _RULE_ID.match(rule_id or ""):
            return Reply.fail(
                f"{rule_id[:64]!r} cannot be a rule id: use letters, digits, '-', '_' or '.', "
                "up to 64 characters, starting with a letter or digit.",
                hint=example,
            )
        query = query.strip()
        if not query:
            return Reply.fail("The rule needs a query.", hint=example)
        destination = await self._destination(channel, caller) if channel else caller.channel
        if (invalid := await self._check_destination(destination, caller)) is not None:
            return Reply.fail(invalid, hint=example)
        entities = await self._entities(caller.team_id)
        try:
            validate_query(query, builtin_dictionary().extended(entities))
        except QuerySyntaxError as exc:
            return _query_error(exc, query, example)
        existing = await self._teams.rule(caller.team_id, rule_id)
        if existing is None and len(await self._teams.rules(caller.team_id)) >= MAX_RULES:
            return Reply.fail(f"This team already has {MAX_RULES} rules.", f"{CMD} rules remove ID")
        channels = list(existing.channels) if existing else []
        if destination not in channels:
            channels.append(destination)
        try:
            if existing is not None:
                rule = existing.model_copy(update={"query": query, "channels": channels})
                RuleSpec.model_validate(rule.model_dump())
            else:
                rule = RuleSpec(id=rule_id, query=query, channels=channels)
        except ValueError as exc:
            return Reply.fail(f"The rule is not valid: {exc}", hint=example)
        await self._teams.put_rule(caller.team_id, rule)
        verb = "Updated" if existing else "Added"
        notes = "".join(f"\nWarning, column {w.column}: {w.message}" for w in query_warnings(query))
        return Reply(
            title=f"{verb} rule {rule.id}",
            text=f"`{rule.query}` → {', '.join(map(p.show_destination, rule.channels))}{notes}",
            footer=f"See what it would have caught: {CMD} rules test {clip(query, 120)}",
            ephemeral=True,
        )

    @_answers
    async def rules_list(self, caller: Caller, page: int = 1) -> Reply:
        rules = await self._teams.rules(caller.team_id)
        if not rules:
            return Reply(
                title="No rules yet",
                text=f"Add one: {CMD} rules add witkoff Witkoff AND Dmitriev <#C0123ABCD>",
            )
        mutes = await self._teams.muted_until(caller.team_id)
        now = self._clock().timestamp()
        chosen = rules[(page - 1) * PAGE : page * PAGE]
        items = []
        for rule in chosen:
            meta = ["channels: " + (", ".join(map(p.show_destination, rule.channels)) or "none")]
            until = mutes.get(rule.id, 0.0)
            if until > now:
                meta.append("muted until " + _when(datetime.fromtimestamp(until, UTC)))
            if rule.digest != "none":
                meta.append(f"{rule.digest} digest")
            if rule.min_sources > 1:
                meta.append(f"needs {rule.min_sources} outlets")
            items.append(_item(rule.id, text=rule.query, meta=" · ".join(meta)))
        return Reply(
            title=f"{len(rules)} rules",
            items=tuple(items),
            footer=_footer(len(items), len(rules), page, f"{CMD} rules list"),
        )

    @_answers
    async def rules_remove(self, caller: Caller, rule_id: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if await self._teams.remove_rule(caller.team_id, rule_id):
            return Reply(title=f"Removed rule {rule_id}", ephemeral=True)
        return await self._no_rule(caller, rule_id)

    async def _no_rule(self, caller: Caller, rule_id: str) -> Reply:
        ids = [r.id for r in await self._teams.rules(caller.team_id)]
        known = ", ".join(ids[:10]) if ids else "none yet"
        return Reply.fail(
            f"There is no rule {rule_id[:64]!r}. Rules: {known}.", f"{CMD} rules list"
        )

    @_answers
    async def rules_test(
        self, caller: Caller, query: str, since: str = "7d", page: int = 1
    ) -> Reply:
        example = f"{CMD} rules test Witkoff AND Dmitriev --since 30d"
        query = query.strip()
        if not query:
            return Reply.fail("Test which query?", hint=example)
        try:
            items, stories, articles, exact, note = await self._story_page(
                caller, query, since, page, self._story_item
            )
        except QuerySyntaxError as exc:
            return _query_error(exc, query, example)
        count = f"{articles}" if exact else f"about {articles}"
        more = f"{CMD} rules test {clip(query, 150)} --since {since}"
        return Reply(
            title=f"Backtest: {count} articles in {_n(stories, 'story')} "
            f"over the last {since}{note}",
            text=f"`{clip(query, 250)}` would have caught these (newest first).",
            items=tuple(items),
            ephemeral=True,
            footer=_footer(len(items), stories, page, more, exact)
            or f"Nothing would have alerted. Try a wider query or --since 30d: {more}",
        )

    @_answers
    async def rules_mute(self, caller: Caller, rule_id: str, duration: str | None = None) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        span = p.parse_duration(duration) if duration else DEFAULT_MUTE
        if await self._teams.rule(caller.team_id, rule_id) is None:
            return await self._no_rule(caller, rule_id)
        until = self._clock() + span
        await self._teams.mute(caller.team_id, rule_id, until)
        return Reply(
            title=f"Muted {rule_id} for {p.format_duration(span)}",
            text=f"No alerts from it until {_when(until)}.",
            footer=f"Undo: {CMD} unmute {rule_id}",
            ephemeral=True,
        )

    @_answers
    async def rules_unmute(self, caller: Caller, rule_id: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if await self._teams.unmute(caller.team_id, rule_id):
            return Reply(title=f"Unmuted {rule_id}", ephemeral=True)
        if await self._teams.rule(caller.team_id, rule_id) is None:
            return await self._no_rule(caller, rule_id)
        return Reply(title=f"{rule_id} was not muted", ephemeral=True)

    @_answers
    async def subscribe(self, caller: Caller, rule_id: str, channel: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        destination = await self._destination(channel, caller)
        if (invalid := await self._check_destination(destination, caller)) is not None:
            return Reply.fail(invalid, hint=f"{CMD} subscribe {rule_id} <#C0123ABCD>")
        rule = await self._teams.subscribe(caller.team_id, rule_id, destination)
        if rule is None:
            return await self._no_rule(caller, rule_id)
        return Reply(
            title=f"{rule_id} now also posts to {p.show_destination(destination)}",
            text="Channels: " + ", ".join(map(p.show_destination, rule.channels)),
            ephemeral=True,
        )

    # Feeds -------------------------------------------------------------------------------------
    def _news_search(self, text: str) -> str:
        return self._news_search_url.replace("{query}", quote_plus(text))

    async def _get_fetcher(self) -> Fetcher:
        if self._fetcher is None:
            from peacewatch.watchers.fetch import Fetcher
            from peacewatch.watchers.guard import GuardPolicy

            self._fetcher = Fetcher(GuardPolicy())
        return self._fetcher

    @_answers
    async def feeds_add(
        self, caller: Caller, url: str | None = None, search: str | None = None, page: str = ""
    ) -> Reply:
        """Add a feed for the team (``page``: the web page whose link led to ``url``)."""
        hint = (
            f"{CMD} feeds add https://www.themoscowtimes.com/rss/news, "
            f'{CMD} feeds add --search "Witkoff Dmitriev", {CMD} feeds add tg:MID_Russia or '
            f"{CMD} feeds add --catalogue mid-ru (peacewatch sources list)"
        )
        if (refused := await self._refuse(caller)) is not None:
            return refused
        search_template = (
            None if self._news_search_url == GOOGLE_NEWS_SEARCH else self._news_search_url
        )
        source = ChatSource("")
        if search is not None and p.unquote(search):
            text = p.unquote(search)
            url = self._news_search(text)
            label = f"News search: {clip(text, 100)}"
        elif url:
            try:  # tg:NAME, --catalogue NAME, or a URL (Slack sends <https://x|x>)
                source = chat_source(url, search_template)
            except InputError as exc:
                return Reply.fail(str(exc), hint=hint)
            url, label = source.url, source.outlet
        else:
            return Reply.fail("Add which feed?", hint=hint)
        if (watched := await TeamFeeds(self._redis).watched(url)) is not None:
            return await self._subscribe_feed(caller, watched)
        feed_id = chat_feed_id(caller.team_id, url)
        own = await self._teams.feed_ids(caller.team_id)
        if feed_id in own:
            return Reply(title=f"This team already watches that feed ({feed_id})", ephemeral=True)
        if len(own) >= MAX_FEEDS:
            return Reply.fail(f"This team already has {MAX_FEEDS} feeds.", f"{CMD} feeds remove ID")
        try:
            fetched = await (await self._get_fetcher()).fetch(url)
            parsed = await asyncio.to_thread(
                parse_kind, source.kind, source.selectors, fetched.body, fetched.content_type,
                fetched.url,
            )  # fmt: skip
        except UrlRefused as exc:
            return Reply.fail(
                f"That address is not allowed: {exc}", hint="Use a public http(s) feed URL."
            )
        except HtmlPageError as exc:
            links = [u for u in linked_feeds(exc, fetched.url) if not page and u != url]
            if links:
                added = await self.feeds_add(caller, links[0], page=url)
                note = f"{clip(url, 150)} is a web page; it links the feed {clip(links[0], 200)}"
                return replace(added, text=f"{note}.\n{added.text}".strip())
            return Reply.fail(
                f"{exc} ({clip(url, 150)}), and the page links no feed.",
                hint="Look for the site's RSS link (often /rss, /feed or /rss.xml). " + hint,
            )
        except ParseError as exc:
            if source.kind != "rss":
                return Reply.fail(f"Could not read {url}: {clip(str(exc), 200)}", hint=hint)
            return Reply.fail(
                "That address answered, but it is not an RSS or Atom feed "
                f"({clip(str(exc), 150)}).",
                hint="Look for the site's RSS link (often /rss, /feed or /rss.xml). " + hint,
            )
        except FeedError as exc:
            return Reply.fail(f"Could not fetch that feed: {clip(str(exc), 200)}", hint=hint)
        outlet = label or parsed.title or url
        await self._feeds.put(
            FeedSpec(
                id=feed_id,
                url=url,
                outlet=outlet,
                team_id=caller.team_id,
                kind=source.kind,
                interval=source.interval,
                selectors=source.selectors,
            )
        )
        await self._teams.add_feed(caller.team_id, feed_id)
        if self._on_feeds_changed is not None:
            await self._on_feeds_changed()
        newest = max(parsed.entries, key=lambda e: e.published or 0.0, default=None)
        return Reply(
            title=f"Added feed {feed_id}: {clip(outlet, 120)}",
            text=f"{len(parsed.entries)} items now"
            + (f"; newest: {clip(newest.title, 150)}" if newest and newest.title else ""),
            footer=f"Remove it with {CMD} feeds remove {feed_id}",
            ephemeral=True,
        )

    async def _subscribe_feed(self, caller: Caller, feed: FeedSpec) -> Reply:
        """The team receives an already watched feed; it is not polled a second time."""
        shown = f"{clip(feed.outlet or feed.url, 120)} ({feed.id})"
        if feed.id in await self._teams.feed_ids(caller.team_id):
            return Reply(title=f"This team already receives {shown}", ephemeral=True)
        if from_config(feed):
            return Reply(
                title=f"This team already receives {shown}",
                text="It is a config feed: every team receives it.",
                ephemeral=True,
            )
        await self._teams.add_feed(caller.team_id, feed.id)
        return Reply(
            title=f"Subscribed to {shown}",
            text="That feed is already watched, so this team now receives it too; it is polled "
            "once for every team.",
            footer=f"Stop receiving it with {CMD} feeds remove {feed.id}",
            ephemeral=True,
        )

    @_answers
    async def feeds_list(self, caller: Caller, page: int = 1) -> Reply:
        received = await TeamFeeds(self._redis).of(caller.team_id)
        feeds = [f.spec for f in received]
        own = {f.spec.id for f in received if f.origin != "config"}
        label = {f.spec.id: f.label for f in received}
        if not feeds:
            return Reply(title="No feeds yet", text=f"Add one: {CMD} feeds add URL")
        chosen = feeds[(page - 1) * PAGE : page * PAGE]
        items = [
            _item(
                f"{f.outlet or f.url}",
                f.url,
                "",
                f"{f.id} · {label[f.id]}",
            )
            for f in chosen
        ]
        return Reply(
            title=f"{len(feeds)} feeds ({len(feeds) - len(own)} from the config, {len(own)}"
            " added by this team)",
            items=tuple(items),
            footer=_footer(len(items), len(feeds), page, f"{CMD} feeds list"),
        )

    @_answers
    async def feeds_remove(self, caller: Caller, feed_id: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        removed = await TeamFeeds(self._redis).leave(caller.team_id, feed_id)
        if removed is None:
            return Reply.fail(
                f"This team did not add a feed {feed_id[:40]!r} (config feeds are the operator's).",
                hint=f"{CMD} feeds list shows the ids",
            )
        if not removed:
            return Reply(
                title=f"This team no longer receives feed {feed_id}",
                text="Others still receive it, so it keeps being polled for them.",
                ephemeral=True,
            )
        if self._on_feeds_changed is not None:
            await self._on_feeds_changed()
        return Reply(title=f"Removed feed {feed_id}", ephemeral=True)

    # Trend -------------------------------------------------------------------------------------
    @_answers
    async def trend(self, caller: Caller, query: str, period: str = "30d") -> Reply:
        example = f"{CMD} trend ceasefire 30d"
        query = query.strip()
        if not query:
            return Reply.fail("Chart which query?", hint=example)
        try:
            start, note = await self._window(caller, period)
            entities = await self._entities(caller.team_id)
            result = await self._history.search(
                query, start, keep=0, entities=entities, max_verify=TREND_VERIFY
            )
        except QuerySyntaxError as exc:
            return _query_error(exc, query, example)
        groups = await self._story_groups(result)
        times = dict(result.hits)
        now = self._clock()
        days = [(start + timedelta(days=i)).date() for i in range((now - start).days + 1)]
        counts = dict.fromkeys(days, 0)
        for _, members in groups:
            day = datetime.fromtimestamp(times[members[-1]], UTC).date()
            if day in counts:
                counts[day] += 1
        png = await asyncio.to_thread(_chart, query, list(counts.items()))
        peak = max(counts.items(), key=lambda kv: kv[1])
        return Reply(
            title=f"Daily stories for {clip(query, 80)} over {period}{note}",
            text=f"{_n(len(groups), 'story')}; busiest day {peak[0].isoformat()} with {peak[1]}.",
            image=png,
            image_name="trend.png",
        )

    # Feedback, autocomplete, admins, settings ------------------------------------------------
    @_answers
    async def feedback(
        self,
        caller: Caller,
        story_id: str,
        kind: Literal["mute_story", "not_relevant"],
        alert_id: str = "",
    ) -> Reply:
        if not story_id or len(story_id) > 80:
            return Reply.fail("That button belongs to an unknown story.")
        if kind == "mute_story":
            await self._redis.set(
                keys.story_muted(caller.team_id, caller.channel, story_id),
                caller.user_id or "1",
                ex=int(STORY_MUTE.total_seconds()),
            )
            return Reply(
                title="Story muted here for 14 days",
                text="No more follow-ups of this story in this channel.",
                ephemeral=True,
            )
        if kind == "not_relevant":
            await self._teams.record_not_relevant(caller.team_id, alert_id or story_id)
            return Reply(
                title="Thanks, noted as not relevant",
                text="Admins see the count in /peacewatch status; a rule can be narrowed with "
                f"-term, e.g. {CMD} rules add ID QUERY -opinion",
                ephemeral=True,
            )
        return Reply.fail(f"Unknown feedback {str(kind)[:30]!r}.")

    async def complete(
        self, caller: Caller, what: Literal["rule", "feed", "entity"], prefix: str
    ) -> list[str]:
        low = prefix.strip().lower()
        if what == "rule":
            options = [r.id for r in await self._teams.rules(caller.team_id)]
        elif what == "feed":
            options = await self._teams.feed_ids(caller.team_id)
        elif what == "entity":
            dictionary = builtin_dictionary().extended(await self._entities(caller.team_id))
            options = sorted(e.id for e in dictionary.entities())
        else:
            return []
        return [o for o in options if o.lower().startswith(low)][:COMPLETIONS]

    @_answers
    async def admins(self, caller: Caller, action: str, user_id: str = "") -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        team = caller.team_id
        if action == "list":
            users = await self._teams.admins(team)
            return Reply(
                title=f"{len(users)} peacewatch admins",
                text=", ".join(users[:50])
                or f"None besides the {PLATFORM_ADMINS.get(caller.platform, 'platform admins')}.",
                ephemeral=True,
            )
        user = _user_id(user_id)
        if action not in ("add", "remove") or user is None:
            return Reply.fail(
                "Say who: admins add @user, admins remove @user, admins list.",
                f"{CMD} admins add @maria",
            )
        if action == "add":
            await self._teams.add_admin(team, user)
            return Reply(title=f"{user} is now a peacewatch admin of this team", ephemeral=True)
        if await self._teams.remove_admin(team, user):
            return Reply(title=f"{user} is no longer a peacewatch admin", ephemeral=True)
        return Reply.fail(f"{user} was not on the admin list.", f"{CMD} admins list")

    @_answers
    async def quiet(self, caller: Caller, spec: str) -> Reply:
        settings = await self._teams.settings(caller.team_id)
        spec = spec.strip()
        if not spec:
            state = (
                f"{settings.quiet_start}-{settings.quiet_end}" if settings.quiet_start else "off"
            )
            return Reply(
                title=f"Quiet hours: {state} ({settings.timezone})",
                footer=f"Set them: {CMD} quiet 22:00-07:00 Europe/Kyiv · end them: {CMD} quiet off",
                ephemeral=True,
            )
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if spec.lower() in ("off", "none", "stop"):
            await self._teams.update_settings(caller.team_id, quiet_start="", quiet_end="")
            return Reply(
                title="Quiet hours are off", text="Alerts go out as they come.", ephemeral=True
            )
        hours = parse_quiet(spec)
        changes: dict[str, str] = {
            "quiet_start": hours.start.strftime("%H:%M"),
            "quiet_end": hours.end.strftime("%H:%M"),
        }
        if hours.zone:
            changes["timezone"] = hours.zone
        settings = await self._teams.update_settings(caller.team_id, **changes)
        release = quiet_release_time(settings, self._clock())
        now_note = f" They are on now, until {_when(release)}." if release else ""
        return Reply(
            title=f"Quiet hours {settings.quiet_start}-{settings.quiet_end} {settings.timezone}",
            text="Alerts below high severity wait and go out together when quiet hours end."
            + now_note,
            footer=f"End them: {CMD} quiet off",
            ephemeral=True,
        )

    @_answers
    async def timezone(self, caller: Caller, zone: str) -> Reply:
        if not zone.strip():
            settings = await self._teams.settings(caller.team_id)
            return Reply(
                title=f"Time zone: {settings.timezone}",
                footer=f"{CMD} timezone Europe/Kyiv",
                ephemeral=True,
            )
        if (refused := await self._refuse(caller)) is not None:
            return refused
        name = p.parse_zone(zone).key
        await self._teams.update_settings(caller.team_id, timezone=name)
        return Reply(
            title=f"Time zone set to {name}",
            text="Quiet hours and daily digests use it.",
            ephemeral=True,
        )

    @_answers
    async def digest_time(self, caller: Caller, at: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        moment = p.parse_clock(at).strftime("%H:%M")
        settings = await self._teams.update_settings(caller.team_id, digest_time=moment)
        return Reply(
            title=f"Daily digests go out at {moment} {settings.timezone}",
            text="Rules with digest: daily collect their alerts until then.",
            ephemeral=True,
        )

    @_answers
    async def retention(self, caller: Caller, span: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        text = span.strip()
        days = int(text) if text.isdigit() else p.parse_duration(text).days
        if not 1 <= days <= 365:
            return Reply.fail("Retention is 1 to 365 days.", f"{CMD} retention 90d")
        await self._teams.update_settings(caller.team_id, retention_days=days)
        return Reply(title=f"Questions now look back at most {days} days", ephemeral=True)

    # Text commands -----------------------------------------------------------------------------
    async def handle_text(self, caller: Caller, text: str) -> Reply:
        """Answer a command as typed (``rules add ID QUERY #channel``); never raises."""
        try:
            return await self._dispatch(caller, text)
        except (InputError, ValueError) as exc:
            return Reply.fail(str(exc)[:500], hint=f"{CMD} help lists every command.")
        except Exception:  # a command is a task boundary: answer, log, and keep serving
            shown = " ".join(p.show_destination(w) for w in text[:200].split())
            log.exception("command failed", extra={"team": caller.team_id, "text": shown})
            return Reply.fail(
                "Something went wrong on our side; the error is logged.", f"{CMD} status"
            )

    async def _dispatch(self, caller: Caller, text: str) -> Reply:
        cmd = p.parse_command(text)
        a = cmd.action
        if a == "help":
            return await self.help(caller)
        if a == "latest":
            return await self.latest(caller, cmd.number or 5)
        if a == "search":
            return await self.search(caller, cmd.arg, cmd.since or "7d", cmd.page)
        if a == "actor":
            return await self.actor(caller, cmd.arg, cmd.since or "7d", cmd.page)
        if a == "digest":
            return await self.digest(caller, cmd.since or "24h")
        if a == "digest_at":
            return await self.digest_time(caller, cmd.arg)
        if a == "status":
            return await self.status(caller)
        if a == "trend":
            return await self.trend(caller, cmd.arg, cmd.since or "30d")
        if a == "rules_add":
            return await self.rules_add(caller, cmd.rule_id, cmd.arg, cmd.channel)
        if a == "rules_list":
            return await self.rules_list(caller, cmd.page)
        if a == "rules_remove":
            return await self.rules_remove(caller, cmd.rule_id)
        if a == "rules_test":
            return await self.rules_test(caller, cmd.arg, cmd.since or "7d", cmd.page)
        if a == "rules_mute":
            return await self.rules_mute(caller, cmd.rule_id, cmd.since)
        if a == "rules_unmute":
            return await self.rules_unmute(caller, cmd.rule_id)
        if a == "subscribe":
            return await self.subscribe(caller, cmd.rule_id, cmd.channel or "")
        if a == "feeds_add":
            return await self.feeds_add(caller, cmd.arg or None, cmd.search)
        if a == "feeds_list":
            return await self.feeds_list(caller, cmd.page)
        if a == "feeds_remove":
            return await self.feeds_remove(caller, cmd.arg)
        if a == "quiet":
            return await self.quiet(caller, cmd.arg)
        if a == "timezone":
            return await self.timezone(caller, cmd.arg)
        if a == "retention":
            return await self.retention(caller, cmd.arg)
        if a == "admins":
            return await self.admins(caller, cmd.sub, cmd.arg)
        return await self.help(caller)


def _user_id(text: str) -> str | None:
    found = _USER.match(text.strip())
    if not found:
        return None
    return found.group(1) or found.group(2)


def _naming_sentence(article: Article, match: Match | None) -> str:
    if match is None:
        return article.summary
    body_hits = [h for h in match.hits if h.field == "body"]
    if not body_hits:
        return article.title
    first = min(body_hits, key=lambda h: h.start)
    # split only around the hit: sentence splitting a long body would stall the event loop
    window_start = max(0, first.start - 2000)
    for sentence in sentences(article.body[window_start : first.start + 2000], article.lang):
        sentence = replace(
            sentence, start=sentence.start + window_start, end=sentence.end + window_start
        )
        if sentence.start <= first.start < sentence.end:
            return sentence.text
    return article.body[max(0, first.start - 100) : first.end + 150]


def _chart(query: str, counts: list[tuple[date, int]]) -> bytes:
    """A PNG bar chart of daily counts (matplotlib's Agg canvas, no GUI, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(counts)))
    axes.bar(positions, [c for _, c in counts], color="#3b6ea8")
    step = max(1, len(counts) // 8)
    axes.set_xticks(positions[::step], [d.isoformat() for d, _ in counts][::step])
    axes.set_title(clip(query, 80), fontsize=10)
    axes.set_ylabel("stories per day")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
