"""Alert gates that hold alerts back: a team's quiet hours, and rules that go out as digests.

Both keep what they hold in Redis (sorted sets per team), so a restart loses nothing, and both
are driven by an injected clock. Releasing is idempotent: a held alert is queued under its own
alert id (the dispatcher never posts an id twice) and a digest alert's id is derived from its
team, destination, period and cut-off time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from peacewatch.errors import InputError
from peacewatch.models import Alert, AlertKind, Destination, Severity
from peacewatch.pipeline.summarise import clip
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.parsing import parse_clock, parse_zone
from peacewatch.store import keys
from peacewatch.store.codec import alert_from_json, alert_to_json
from peacewatch.store.teams import TeamSettings, TeamStore

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from peacewatch.store.alert_queue import AlertQueue

__all__ = [
    "DigestGate",
    "QuietHours",
    "QuietHoursGate",
    "build_due_digests",
    "parse_quiet",
    "quiet_release_time",
]

Clock = Callable[[], datetime]
DIGEST_ITEMS = 15
"""Stories listed in one digest alert at most (the rest are counted)."""
_LOCK_SECONDS = 30


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    zone: str | None = None
    """A zone named with the quiet hours (it becomes the team's time zone)."""


def parse_quiet(spec: str) -> QuietHours:
    """``22:00-07:00`` or ``22:00-07:00 Europe/Kyiv``. Raises InputError with what to type."""
    parts = spec.split()
    if not parts or len(parts) > 2 or "-" not in parts[0]:
        raise InputError(
            "write quiet hours as START-END in 24-hour time, e.g. 22:00-07:00 Europe/Kyiv"
        )
    start_text, _, end_text = parts[0].partition("-")
    start, end = parse_clock(start_text), parse_clock(end_text)
    if start == end:
        raise InputError("quiet hours must start and end at different times")
    zone = None
    if len(parts) == 2:
        zone = parse_zone(parts[1]).key
    return QuietHours(start, end, zone)


def _zone(settings: TeamSettings) -> tzinfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ValueError, OSError):
        return UTC


def quiet_release_time(settings: TeamSettings, now: datetime) -> datetime | None:
    """When the quiet hours that hold ``now`` end (UTC), or None outside quiet hours."""
    if not settings.quiet_start or not settings.quiet_end:
        return None
    try:
        start, end = parse_clock(settings.quiet_start), parse_clock(settings.quiet_end)
    except InputError:
        return None
    local = now.astimezone(_zone(settings))
    at = local.time().replace(tzinfo=None)
    inside = start <= at < end if start < end else (at >= start or at < end)
    if not inside:
        return None
    release = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if release <= local:
        release = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=local.tzinfo)
    return release.astimezone(UTC)


class QuietHoursGate:
    """Holds a team's alerts below high severity during its quiet hours.

    Held alerts wait in a sorted set scored by the end of the quiet hours; ``release_due``
    (run every minute or so by the app) queues the ones whose time has come, together."""

    def __init__(self, redis: aioredis.Redis, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._redis = redis
        self._teams = TeamStore(redis)
        self._clock = clock

    async def admit(self, alert: Alert, rule: RuleSpec) -> bool:
        if alert.severity is Severity.HIGH:
            return True
        settings = await self._teams.settings(alert.team_id)
        release = quiet_release_time(settings, self._clock())
        if release is None:
            return True
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.quiet_held(alert.team_id), {alert_to_json(alert): release.timestamp()})
            pipe.sadd(keys.quiet_teams(), alert.team_id)
            await pipe.execute()
        return False

    async def held(self, team_id: str) -> int:
        return int(await self._redis.zcard(keys.quiet_held(team_id)))

    async def release_due(self, queue: AlertQueue) -> int:
        """Queue every held alert whose quiet hours are over; returns how many were queued."""
        now = self._clock().timestamp()
        released = 0
        for team_id in sorted(await self._redis.smembers(keys.quiet_teams())):
            lock = keys.team_release_lock(team_id, "quiet")
            if not await self._redis.set(lock, "1", nx=True, ex=_LOCK_SECONDS):
                continue  # another replica is releasing this team
            try:
                due = await self._redis.zrangebyscore(keys.quiet_held(team_id), "-inf", now)
                held = [(alert_from_json(raw), raw) for raw in due]
                # in the order they were made, so a story's first alert goes before its follow-ups
                held.sort(key=lambda pair: pair[0].created or datetime.min.replace(tzinfo=UTC))
                for alert, raw in held:
                    # Queue first, then forget: a crash in between repeats an alert id, which
                    # the dispatcher drops, instead of losing the alert.
                    await queue.enqueue(alert)
                    await self._redis.zrem(keys.quiet_held(team_id), raw)
                    released += 1
                if not await self._redis.exists(keys.quiet_held(team_id)):
                    await self._redis.srem(keys.quiet_teams(), team_id)
            finally:
                await self._redis.delete(lock)
        return released


class DigestGate:
    """Holds every alert of a rule with ``digest: hourly`` or ``daily`` for its digest."""

    def __init__(self, redis: aioredis.Redis, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._redis = redis
        self._clock = clock

    async def admit(self, alert: Alert, rule: RuleSpec) -> bool:
        if rule.digest not in ("hourly", "daily"):
            return True
        created = (alert.created or self._clock()).timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.digest_held(alert.team_id, rule.digest), {alert_to_json(alert): created})
            pipe.sadd(keys.digest_teams(), f"{alert.team_id} {rule.digest}")
            await pipe.execute()
        return False


def digest_cutoff(period: str, settings: TeamSettings, now: datetime) -> datetime:
    """The latest digest time at or before ``now``: the top of the local hour (hourly), or the
    team's ``digest_time`` today or yesterday (daily). Alerts created before it are due."""
    local = now.astimezone(_zone(settings))
    if period == "hourly":
        cut = local.replace(minute=0, second=0, microsecond=0)
    else:
        try:
            at = parse_clock(settings.digest_time)
        except InputError:
            at = time(8, 0)
        cut = datetime.combine(local.date(), at, tzinfo=local.tzinfo)
        if cut > local:
            cut = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=local.tzinfo)
    return cut.astimezone(UTC)


def digest_alert(
    team_id: str, destination: Destination, period: str, cutoff: datetime, alerts: list[Alert]
) -> Alert:
    """One alert that lists the stories of ``alerts``, most-reported first."""
    stories: dict[str, Alert] = {}
    for alert in alerts:
        best = stories.get(alert.story_id)
        if best is None or alert.outlet_count > best.outlet_count:
            stories[alert.story_id] = alert
    ranked = sorted(stories.values(), key=lambda a: (-a.outlet_count, a.headline))
    lines = []
    for alert in ranked[:DIGEST_ITEMS]:
        outlets = f" ({alert.outlet_count} outlets)" if alert.outlet_count > 1 else ""
        lines.append(f"• {clip(alert.headline, 160)}{outlets}")
    if len(ranked) > DIGEST_ITEMS:
        lines.append(f"…and {len(ranked) - DIGEST_ITEMS} more stories")
    name = "Hourly" if period == "hourly" else "Daily"
    count = len(ranked)
    # The same held alerts always give the same id (a repeated release is dropped by the
    # dispatcher); a late straggler for the same cut-off gets a digest of its own.
    members = ",".join(sorted(a.alert_id for a in alerts))
    basis = f"digest\x00{team_id}\x00{destination}\x00{period}\x00{cutoff.isoformat()}\x00{members}"
    top = ranked[0]
    return Alert(
        alert_id=hashlib.sha256(basis.encode()).hexdigest()[:32],
        team_id=team_id,
        rule_id=",".join(sorted({a.rule_id for a in alerts})),
        story_id=f"digest-{period}-{int(cutoff.timestamp())}",
        article_id=top.article_id,
        destination=destination,
        headline=f"{name} digest: {count} {'story' if count == 1 else 'stories'}",
        summary="\n".join(lines),
        link=top.link,
        matched=tuple(dict.fromkeys(t for a in ranked for t in a.matched)),
        entities=tuple(dict.fromkeys(e for a in ranked for e in a.entities)),
        sources=tuple(a.sources[0] for a in ranked[:DIGEST_ITEMS] if a.sources),
        severity=max((a.severity for a in ranked), key=lambda s: s.rank),
        kind=AlertKind.NEW,
        outlet_count=max(a.outlet_count for a in ranked),
        outlets=tuple(dict.fromkeys(o for a in ranked for o in a.outlets)),
        created=cutoff,
        extra={"digest": period, "stories": str(count)},
    )


async def build_due_digests(
    redis: aioredis.Redis, queue: AlertQueue, clock: Clock = lambda: datetime.now(UTC)
) -> int:
    """Turn held digest alerts that are due into one digest alert per team, period and
    destination, and queue them. Returns how many digest alerts were queued."""
    teams = TeamStore(redis)
    now = clock()
    queued = 0
    for entry in sorted(await redis.smembers(keys.digest_teams())):
        team_id, _, period = str(entry).rpartition(" ")
        if period not in ("hourly", "daily") or not team_id:
            await redis.srem(keys.digest_teams(), entry)
            continue
        lock = keys.team_release_lock(team_id, "digest-" + period)
        if not await redis.set(lock, "1", nx=True, ex=_LOCK_SECONDS):
            continue
        try:
            cutoff = digest_cutoff(period, await teams.settings(team_id), now)
            held = keys.digest_held(team_id, period)
            due = await redis.zrangebyscore(held, "-inf", f"({cutoff.timestamp()}")
            by_destination: dict[Destination, list[tuple[str, Alert]]] = {}
            for raw in due:
                alert = alert_from_json(raw)
                by_destination.setdefault(alert.destination, []).append((raw, alert))
            for destination, items in sorted(by_destination.items(), key=lambda d: str(d[0])):
                alerts = [a for _, a in items]
                await queue.enqueue(digest_alert(team_id, destination, period, cutoff, alerts))
                await redis.zrem(held, *[raw for raw, _ in items])
                queued += 1
            if not await redis.exists(held):
                await redis.srem(keys.digest_teams(), entry)
        finally:
            await redis.delete(lock)
    return queued
