"""Questions about the news: latest, search, actor, digest, trend, status and help."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from peacewatch.errors import InputError, QuerySyntaxError
from peacewatch.models import Alert, AlertKind, Article, Match
from peacewatch.pipeline.summarise import clip, sentences
from peacewatch.rules.entities import builtin_dictionary
from peacewatch.services import parsing as p
from peacewatch.services.replies import Caller, Reply, ReplyItem
from peacewatch.services.teamfeeds import TeamFeeds
from peacewatch.status import garbled_warning
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json

if TYPE_CHECKING:
    pass
from peacewatch.services.commands.base import (
    CMD,
    HELP,
    ITEM_TEXT,
    PAGE,
    TREND_VERIFY,
    CommandBase,
    _answers,
    _footer,
    _item,
    _n,
    _query_error,
    _when,
)
from peacewatch.services.commands.registry import Command


class QuestionCommands(CommandBase):
    """Commands that read the team's alerts and the shared news history."""

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
            warning = garbled_warning(health)
            problems = [error and f"Last error: {error}", warning and f"Warning: {warning}"]
            items.append(
                _item(
                    f"{feed.outlet or feed.url} ({feed.id})",
                    feed.url,
                    "\n".join(p for p in problems if p),
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


COMMANDS = (
    Command("help", lambda s, c, cmd: s.help(c)),
    Command("latest", lambda s, c, cmd: s.latest(c, cmd.number or 5)),
    Command("search", lambda s, c, cmd: s.search(c, cmd.arg, cmd.since or "7d", cmd.page)),
    Command("actor", lambda s, c, cmd: s.actor(c, cmd.arg, cmd.since or "7d", cmd.page)),
    Command("digest", lambda s, c, cmd: s.digest(c, cmd.since or "24h")),
    Command("status", lambda s, c, cmd: s.status(c)),
    Command("trend", lambda s, c, cmd: s.trend(c, cmd.arg, cmd.since or "30d")),
)


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
