"""Quiet hours and digest rules hold alerts in Redis and release them on an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import redis.asyncio as aioredis

from peacewatch.models import Alert, Destination, Severity, SourceRef
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.quiet import (
    DigestGate,
    QuietHoursGate,
    build_due_digests,
    quiet_release_time,
)
from peacewatch.store.alert_queue import AlertQueue
from peacewatch.store.teams import TeamSettings, TeamStore

TEAM = "slack:T1"
RULE = RuleSpec(id="talks", query="Witkoff", channels=["slack:C1"])
# Headlines from samples/items.jsonl.
HEADLINES = [
    "Trump Envoy Arrives in Moscow Just Ahead of Ukraine Peace Deadline",
    "Russia Will Send ‘Clear’ Message to U.S. at Alaska Summit, FM Lavrov Says",
    "Trump and European Leaders Back Security Guarantees for Ukraine in White House Talks",
]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def alert(n: int, severity: Severity = Severity.NORMAL, dest: str = "slack:C1", outlets: int = 1,
          created: datetime | None = None) -> Alert:  # fmt: skip
    return Alert(
        alert_id=f"a{n}-{dest}",
        team_id=TEAM,
        rule_id="talks",
        story_id=f"s{n}",
        article_id=f"art{n}",
        destination=Destination.parse(dest),
        headline=HEADLINES[n % len(HEADLINES)],
        summary="",
        link=f"https://www.themoscowtimes.com/{n}",
        matched=("Witkoff",),
        entities=(),
        sources=(
            SourceRef(
                "The Moscow Times", "themoscowtimes.com", f"https://x/{n}", datetime.now(UTC)
            ),
        ),
        severity=severity,
        outlet_count=outlets,
        created=created,
    )


async def queued(redis: aioredis.Redis) -> list[Alert]:
    items = await AlertQueue(redis).read("test", count=100)
    return [i.alert for i in items if i.alert is not None]


async def test_quiet_hours_hold_alerts_below_high_until_they_end(
    redis_client: aioredis.Redis,
) -> None:
    teams = TeamStore(redis_client)
    await teams.put_settings(
        TEAM, TeamSettings(timezone="Europe/Kyiv", quiet_start="22:00", quiet_end="07:00")
    )
    clock = Clock(datetime(2025, 8, 20, 20, 30, tzinfo=UTC))  # 23:30 in Kyiv (UTC+3)
    gate = QuietHoursGate(redis_client, clock)
    queue = AlertQueue(redis_client)
    await queue.ensure_group()

    assert not await gate.admit(alert(1), RULE)
    assert not await gate.admit(alert(2, Severity.LOW), RULE)
    assert await gate.admit(alert(3, Severity.HIGH), RULE)  # high severity goes out at once
    assert await gate.admit(replace(alert(4), team_id="slack:T2"), RULE)  # no quiet hours there
    assert await gate.held(TEAM) == 2

    clock.now = datetime(2025, 8, 21, 3, 59, tzinfo=UTC)  # 06:59 in Kyiv
    assert await gate.release_due(queue) == 0
    assert await queued(redis_client) == []

    clock.now = datetime(2025, 8, 21, 4, 0, tzinfo=UTC)  # 07:00 in Kyiv: quiet hours end
    assert await gate.release_due(queue) == 2
    assert sorted(a.alert_id for a in await queued(redis_client)) == [
        "a1-slack:C1",
        "a2-slack:C1",
    ]
    assert await gate.release_due(queue) == 0
    assert await gate.held(TEAM) == 0
    assert await gate.admit(alert(5), RULE)  # daytime


def test_quiet_release_time_wraps_midnight_and_follows_the_zone() -> None:
    settings = TeamSettings(timezone="Europe/Kyiv", quiet_start="22:00", quiet_end="07:00")
    # Winter: Kyiv is UTC+2.
    assert quiet_release_time(settings, datetime(2025, 1, 10, 21, 0, tzinfo=UTC)) == datetime(
        2025, 1, 11, 5, 0, tzinfo=UTC
    )
    assert quiet_release_time(settings, datetime(2025, 1, 10, 3, 0, tzinfo=UTC)) == datetime(
        2025, 1, 10, 5, 0, tzinfo=UTC
    )
    assert quiet_release_time(settings, datetime(2025, 1, 10, 12, 0, tzinfo=UTC)) is None
    day = TeamSettings(quiet_start="09:00", quiet_end="17:00")
    assert quiet_release_time(day, datetime(2025, 1, 10, 16, 59, tzinfo=UTC)) == datetime(
        2025, 1, 10, 17, 0, tzinfo=UTC
    )
    assert quiet_release_time(TeamSettings(), datetime(2025, 1, 10, 23, 0, tzinfo=UTC)) is None


async def test_daily_digest_rules_become_one_alert_per_destination(
    redis_client: aioredis.Redis,
) -> None:
    teams = TeamStore(redis_client)
    await teams.put_settings(TEAM, TeamSettings(timezone="Europe/Kyiv", digest_time="08:00"))
    clock = Clock(datetime(2025, 8, 20, 9, 0, tzinfo=UTC))
    gate = DigestGate(redis_client, clock)
    daily = RULE.model_copy(update={"digest": "daily"})
    queue = AlertQueue(redis_client)
    await queue.ensure_group()

    assert await gate.admit(alert(9), RULE)  # digest: none goes out at once
    created = datetime(2025, 8, 20, 10, 0, tzinfo=UTC)
    for n, outlets in ((0, 1), (1, 4), (2, 2)):
        assert not await gate.admit(alert(n, outlets=outlets, created=created), daily)
    assert not await gate.admit(alert(0, outlets=3, created=created), daily)  # same story, later
    assert not await gate.admit(alert(7, dest="discord:998877665544", created=created), daily)

    clock.now = datetime(2025, 8, 21, 4, 59, tzinfo=UTC)  # 07:59 in Kyiv
    assert await build_due_digests(redis_client, queue, clock) == 0

    clock.now = datetime(2025, 8, 21, 5, 0, tzinfo=UTC)  # 08:00 in Kyiv
    assert await build_due_digests(redis_client, queue, clock) == 2
    digests = {str(a.destination): a for a in await queued(redis_client)}
    slack = digests["slack:C1"]
    assert slack.headline == "Daily digest: 3 stories"
    lines = slack.summary.splitlines()
    assert lines[0] == f"• {HEADLINES[1]} (4 outlets)"  # most outlets first
    assert lines[1] == f"• {HEADLINES[0]} (3 outlets)"
    assert digests["discord:998877665544"].headline == "Daily digest: 1 story"
    assert await build_due_digests(redis_client, queue, clock) == 0


async def test_hourly_digests_go_out_at_the_top_of_the_hour(redis_client: aioredis.Redis) -> None:
    clock = Clock(datetime(2025, 8, 20, 9, 10, tzinfo=UTC))
    gate = DigestGate(redis_client, clock)
    hourly = RULE.model_copy(update={"digest": "hourly"})
    queue = AlertQueue(redis_client)
    await queue.ensure_group()
    assert not await gate.admit(alert(1, created=clock.now), hourly)
    clock.now = datetime(2025, 8, 20, 9, 59, tzinfo=UTC)
    assert await build_due_digests(redis_client, queue, clock) == 0
    clock.now = datetime(2025, 8, 20, 10, 0, tzinfo=UTC)
    assert await build_due_digests(redis_client, queue, clock) == 1
    (digest,) = await queued(redis_client)
    assert digest.headline == "Hourly digest: 1 story"
    assert digest.team_id == TEAM
