"""Platform-neutral view models of the team dashboard (App Home, /peacewatch home).

``build_home`` reads the team's rules with their hits over 7 days (from the alert history),
whether each is muted, the health of the feeds the team receives, the delivery state of each of
its channels, the day's top stories, and the viewer's own follows. Each adapter renders a
``Home`` in its own format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from peacewatch.models import Alert
from peacewatch.services.replies import Caller, Reply, ReplyItem
from peacewatch.services.teamfeeds import TeamFeeds
from peacewatch.status import destinations, garbled_warning
from peacewatch.store.alert_queue import AlertQueue, Outage
from peacewatch.store.codec import alert_from_json
from peacewatch.store.feeds import FeedStore
from peacewatch.store.follows import FollowStore
from peacewatch.store.teams import TeamStore

if TYPE_CHECKING:
    import redis.asyncio as aioredis

HITS_WINDOW = timedelta(days=7)
LAST_ALERT_WINDOW = timedelta(days=30)
TOP_WINDOW = timedelta(hours=24)
MAX_ALERTS_READ = 5000
"""The most alert records one dashboard reads (the rest show as "5000+")."""
MAX_ROWS = 25
"""Rows per section: a Slack home view holds at most 100 blocks."""
TOP_STORIES = 5


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule_id: str
    query: str
    channels: tuple[str, ...]
    hits_7d: int
    last_alert: datetime | None
    muted_until: datetime | None
    digest: str = "none"


@dataclass(frozen=True, slots=True)
class FeedRow:
    feed_id: str
    name: str
    url: str
    ok: bool
    last_poll: str
    """``YYYY-MM-DDTHH:MM`` as recorded, or ``never``."""
    error: str = ""
    warning: str = ""
    """Read, but its text looks garbled (mojibake): the warning, or ""."""


@dataclass(frozen=True, slots=True)
class ChannelRow:
    destination: str
    ok: bool
    since: str
    """When it started failing (empty when ok)."""
    waiting: int
    error: str = ""


@dataclass(frozen=True, slots=True)
class StoryRow:
    headline: str
    link: str
    outlets: int
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FollowRow:
    """One of the viewer's own follows (their direct messages)."""

    follow_id: str
    query: str
    since: datetime
    failing: str = ""
    """Why its direct messages cannot be delivered (``dm_problem``), or "" when they can."""


DM_REASONS = (
    ("cannot_dm_bot", "Slack does not let the bot message this account"),
    ("user_not_found", "Slack does not know this account"),
    ("user_disabled", "Slack says this account is deactivated"),
    ("missing_scope", "the Slack app must be reinstalled (im:write) to send direct messages"),
    ("code 50007", "Discord does not let the bot message you: allow direct messages from "
     "this server's members"),
)  # fmt: skip
"""Known reasons a direct message is refused (the error text holds the code), in words."""


def dm_problem(outage: Outage) -> str:
    """Why a user's direct messages fail, e.g. "not delivered since 2026-01-06 12:00 UTC:
    Slack does not let the bot message this account (slack conversations.open:
    cannot_dm_bot)"."""
    since = (
        datetime.fromtimestamp(outage.since, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if outage.since
        else "a while"
    )
    detail = " ".join(outage.error.split())[:160]
    reason = next((text for code, text in DM_REASONS if code in outage.error), "")
    return f"not delivered since {since}: " + (f"{reason} ({detail})" if reason else detail)


@dataclass(frozen=True, slots=True)
class Home:
    """One user's view of their team."""

    team_id: str
    user_id: str
    can_edit: bool
    """The user may change rules (admin); editing controls are shown only then."""
    rules: tuple[RuleRow, ...]
    feeds: tuple[FeedRow, ...]
    channels: tuple[ChannelRow, ...]
    stories: tuple[StoryRow, ...]
    rule_count: int
    feed_count: int
    generated: datetime
    follows: tuple[FollowRow, ...] = ()
    """The viewer's own follows in this team."""


def _rules_of(alert: Alert) -> set[str]:
    return {alert.rule_id, *filter(None, alert.extra.get("rules", "").split(","))}


async def build_home(
    redis: aioredis.Redis, caller: Caller, can_edit: bool, clock: Callable[[], datetime]
) -> Home:
    """The dashboard of ``caller``'s team as of ``clock()``."""
    team, now = caller.team_id, clock()
    teams, feeds = TeamStore(redis), FeedStore(redis)
    rules = await teams.rules(team)
    alerts = [
        alert_from_json(t)
        for t in await teams.alerts_between(team, now - LAST_ALERT_WINDOW, now, MAX_ALERTS_READ)
    ]
    hits: dict[str, int] = {}
    last: dict[str, datetime] = {}
    for alert in alerts:
        created = alert.created or now
        for rule_id in _rules_of(alert):
            if created >= now - HITS_WINDOW:
                hits[rule_id] = hits.get(rule_id, 0) + 1
            if rule_id not in last or created > last[rule_id]:
                last[rule_id] = created
    mutes = await teams.muted_until(team)
    rule_rows = []
    for rule in rules[:MAX_ROWS]:
        until = mutes.get(rule.id, 0.0)
        rule_rows.append(
            RuleRow(
                rule_id=rule.id,
                query=rule.query,
                channels=tuple(rule.channels),
                hits_7d=hits.get(rule.id, 0),
                last_alert=last.get(rule.id),
                muted_until=datetime.fromtimestamp(until, UTC) if until > now.timestamp() else None,
                digest=rule.digest,
            )
        )
    received = await TeamFeeds(redis).of(team)
    feed_rows = []
    for feed in received[:MAX_ROWS]:
        health = await feeds.health(feed.spec.id)
        error = health.get("last_error", "")
        if error and health.get("last_error_at", "") < health.get("last_ok", ""):
            error = ""
        feed_rows.append(
            FeedRow(
                feed_id=feed.spec.id,
                name=feed.spec.outlet or feed.spec.url,
                url=feed.spec.url,
                ok=not error,
                last_poll=health.get("last_poll", "never")[:16],
                error=error,
                warning=garbled_warning(health),
            )
        )
    known = {c for r in rules for c in r.channels}
    channel_rows = tuple(
        ChannelRow(
            destination=d.destination,
            ok=not d.failing,
            since=d.since_text() if d.failing else "",
            waiting=d.waiting,
            error=d.last_error,
        )
        for d in await destinations(AlertQueue(redis), known)
        if d.destination in known
    )[:MAX_ROWS]
    follows = await FollowStore(redis).of_user(team, caller.user_id) if caller.user_id else []
    outages = await AlertQueue(redis).outages() if follows else {}
    return Home(
        team_id=team,
        user_id=caller.user_id,
        can_edit=can_edit,
        rules=tuple(rule_rows),
        feeds=tuple(feed_rows),
        channels=channel_rows,
        stories=_top_stories([a for a in alerts if (a.created or now) >= now - TOP_WINDOW]),
        rule_count=len(rules),
        feed_count=len(received),
        generated=now,
        follows=tuple(
            FollowRow(
                f.follow_id,
                f.query,
                datetime.fromtimestamp(f.created, UTC),
                dm_problem(outages[f.destination]) if f.destination in outages else "",
            )
            for f in follows
        ),
    )


def _top_stories(alerts: list[Alert]) -> tuple[StoryRow, ...]:
    """The day's stories ranked as the digest ranks them: by outlets, then by rules."""
    best: dict[str, Alert] = {}
    rules: dict[str, set[str]] = {}
    for alert in alerts:
        rules.setdefault(alert.story_id, set()).update(_rules_of(alert))
        kept = best.get(alert.story_id)
        if kept is None or alert.outlet_count > kept.outlet_count:
            best[alert.story_id] = alert
    ranked = sorted(best.values(), key=lambda a: (-a.outlet_count, -len(rules[a.story_id])))
    return tuple(
        StoryRow(a.headline, a.link, a.outlet_count, tuple(sorted(rules[a.story_id])))
        for a in ranked[:TOP_STORIES]
    )


# The rule editor (a modal on Slack) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleForm:
    """What the rule editor holds: a rule being written, before it is saved."""

    rule_id: str = ""
    query: str = ""
    channels: tuple[str, ...] = ()
    min_sources: int = 1
    digest: str = "none"
    existing: bool = False
    """Editing a saved rule (its id is fixed) rather than writing a new one."""


@dataclass(frozen=True, slots=True)
class QueryCheck:
    """Whether a query parses: the error and its 1-based column, or warnings of look-alikes."""

    ok: bool
    error: str = ""
    column: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Backtest:
    """What a query would have matched: articles per day, oldest day first, and examples."""

    days: tuple[tuple[date, int], ...]
    total: int
    exact: bool
    examples: tuple[tuple[str, str], ...]
    """(headline, link) of the newest matches, at most three."""


@dataclass(frozen=True, slots=True)
class RuleEditor:
    form: RuleForm
    check: QueryCheck
    backtest: Backtest | None
    """None when the query is empty or does not parse."""
    can_save: bool


def home_reply(home: Home) -> Reply:
    """The dashboard as a Reply, for adapters without a home tab (Discord's /peacewatch home):
    one item per rule, then feed, delivery and top-story lines; shown to the caller alone."""
    items = []
    for rule in home.rules[:10]:
        state = f"muted until {rule.muted_until:%d %b %H:%M} UTC" if rule.muted_until else "active"
        last = f"{rule.last_alert:%d %b %H:%M} UTC" if rule.last_alert else "none in 30 days"
        items.append(
            ReplyItem(
                title=f"{rule.rule_id} ({state})",
                text=rule.query[:300],
                meta=f"{rule.hits_7d} alerts in 7 days · last alert: {last}",
            )
        )
    failing = [f for f in home.feeds if not f.ok]
    garbled = [f for f in home.feeds if f.warning]
    lines = [
        f"Feeds: {home.feed_count}, {len(failing)} failing"
        + "".join(f"\n• {f.name[:80]}: {f.error[:120]}" for f in failing[:5])
        + "".join(f"\n• {f.name[:80]}: warning, {f.warning}" for f in garbled[:5]),
        "Delivery: "
        + (
            ", ".join(
                f"{c.destination} ok" if c.ok else f"{c.destination} failing since {c.since}"
                for c in home.channels[:8]
            )
            or "no channel yet"
        ),
        "Today's top stories:"
        + (
            "".join(f"\n• {s.headline[:150]} ({s.outlets} outlets)" for s in home.stories)
            or " none yet"
        ),
        "Your follows (direct messages):"
        + (
            "".join(
                f"\n• {f.follow_id}: {f.query[:100]}"
                + (f" (failing: {f.failing})" if f.failing else "")
                for f in home.follows
            )
            or " none; /peacewatch follow QUERY"
        ),
    ]
    more = home.rule_count - len(items)
    return Reply(
        title=f"Your team's dashboard: {home.rule_count} rules",
        text="\n".join(lines),
        items=tuple(items),
        footer=f"{more} more rules: /peacewatch rules list" if more > 0 else "",
        ephemeral=True,
    )
