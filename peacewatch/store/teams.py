"""Teams in Redis: rules, own entities and feeds, admins, mutes, settings and alert history."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

import redis.asyncio as aioredis

from peacewatch.rules.engine import TeamRuleSet
from peacewatch.rules.rulefile import EntitySpec, RuleSpec
from peacewatch.store import keys
from peacewatch.store.follows import FollowStore, with_follows

NOT_RELEVANT_KEPT = 1000
"""How many "not relevant" alert ids a team keeps (the newest)."""


@dataclass(frozen=True, slots=True)
class TeamSettings:
    """Per-team settings kept in the team hash; empty strings mean "not set"."""

    timezone: str = "UTC"
    """An IANA zone name (``Europe/Kyiv``): quiet hours and daily digests use local time."""
    quiet_start: str = ""
    """``HH:MM`` local time when quiet hours begin (empty: no quiet hours)."""
    quiet_end: str = ""
    digest_time: str = "08:00"
    """``HH:MM`` local time when the daily digest goes out."""
    retention_days: int = 90
    """How far back the team's questions (search, test, trend) may look."""

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> TeamSettings:
        default = cls()
        try:
            retention = int(data.get("retention_days") or default.retention_days)
        except ValueError:
            retention = default.retention_days
        return cls(
            timezone=data.get("timezone") or default.timezone,
            quiet_start=data.get("quiet_start", ""),
            quiet_end=data.get("quiet_end", ""),
            digest_time=data.get("digest_time") or default.digest_time,
            retention_days=max(1, retention),
        )

    def to_hash(self) -> dict[str, str]:
        return {
            "timezone": self.timezone,
            "quiet_start": self.quiet_start,
            "quiet_end": self.quiet_end,
            "digest_time": self.digest_time,
            "retention_days": str(self.retention_days),
        }


class TeamStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def teams(self) -> list[str]:
        return sorted(await self._redis.smembers(keys.teams()))

    async def rules_version(self) -> int:
        return int(await self._redis.get(keys.rules_version()) or 0)

    async def put_rule(self, team_id: str, rule: RuleSpec) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.teams(), team_id)
            pipe.hset(keys.team_rules(team_id), rule.id, rule.model_dump_json())
            pipe.incr(keys.rules_version())
            await pipe.execute()

    async def remove_rule(self, team_id: str, rule_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.team_rules(team_id), rule_id)
            pipe.hdel(keys.team_mutes(team_id), rule_id)
            pipe.incr(keys.rules_version())
            removed, *_ = await pipe.execute()
        return bool(removed)

    async def rules(self, team_id: str) -> list[RuleSpec]:
        data = await self._redis.hgetall(keys.team_rules(team_id))
        return [RuleSpec.model_validate_json(data[k]) for k in sorted(data)]

    async def rule_channels(self, team_id: str) -> tuple[int, set[str]]:
        """How many rules the team has, and the channels they post to: read from the stored
        rules without validating each again (they were when stored), as health checks ask
        every few seconds."""
        texts = await self._redis.hvals(keys.team_rules(team_id))
        channels: set[str] = set()
        for text in texts:
            channels.update(json.loads(text).get("channels") or ())
        return len(texts), channels

    async def put_entity(self, team_id: str, entity: EntitySpec) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.teams(), team_id)
            pipe.hset(keys.team_entities(team_id), entity.id, entity.model_dump_json())
            pipe.incr(keys.rules_version())
            await pipe.execute()

    async def entities(self, team_id: str) -> list[EntitySpec]:
        data = await self._redis.hgetall(keys.team_entities(team_id))
        return [EntitySpec.model_validate_json(data[k]) for k in sorted(data)]

    async def replace(
        self, team_id: str, rules: list[RuleSpec], entities: list[EntitySpec]
    ) -> None:
        """Set a team's whole rule set at once (import of a rules file)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.teams(), team_id)
            pipe.delete(keys.team_rules(team_id), keys.team_entities(team_id))
            if rules:
                pipe.hset(
                    keys.team_rules(team_id), mapping={r.id: r.model_dump_json() for r in rules}
                )
            if entities:
                pipe.hset(
                    keys.team_entities(team_id),
                    mapping={e.id: e.model_dump_json() for e in entities},
                )
            pipe.incr(keys.rules_version())
            await pipe.execute()

    async def rule_sets(self) -> list[TeamRuleSet]:
        out = []
        for team_id in await self.teams():
            entities = [e.to_entity() for e in await self.entities(team_id)]
            out.append(TeamRuleSet(team_id, await self.rules(team_id), entities))
        return out

    async def match_sets(self) -> list[TeamRuleSet]:
        """What the matcher compiles: every team's rules and its users' personal follows."""
        return with_follows(await self.rule_sets(), await FollowStore(self._redis).by_team())

    async def mute(self, team_id: str, rule_id: str, until: datetime) -> None:
        await self._redis.hset(keys.team_mutes(team_id), rule_id, str(until.timestamp()))

    async def unmute(self, team_id: str, rule_id: str) -> bool:
        return bool(await self._redis.hdel(keys.team_mutes(team_id), rule_id))

    async def muted_until(self, team_id: str) -> dict[str, float]:
        data = await self._redis.hgetall(keys.team_mutes(team_id))
        return {k: float(v) for k, v in data.items()}

    async def record_alert(
        self, team_id: str, alert_json: str, at: datetime, alert_id: str, listed: bool = True
    ) -> None:
        """Keep an alert's record; ``listed`` adds it to the team's history (latest, digest,
        dashboard), which a personal follow's direct message is not part of: its record is
        kept for its buttons only, as long as a story lives (14 days), not 90."""
        async with self._redis.pipeline(transaction=False) as pipe:
            if listed:
                pipe.zadd(keys.team_alerts(team_id), {alert_id: at.timestamp()})
            ttl = 90 * 86400 if listed else 14 * 86400
            pipe.set(keys.alert_record(alert_id), alert_json, ex=ttl)
            await pipe.execute()

    async def prune_alerts(self, before: datetime) -> int:
        """Drop every team's alert history older than ``before`` (their records expire)."""
        removed = 0
        for team_id in await self.teams():
            removed += int(
                await self._redis.zremrangebyscore(
                    keys.team_alerts(team_id), "-inf", before.timestamp()
                )
            )
        return removed

    async def recent_alerts(self, team_id: str, limit: int = 10) -> list[str]:
        ids = await self._redis.zrevrange(keys.team_alerts(team_id), 0, limit - 1)
        if not ids:
            return []
        texts = await self._redis.mget([keys.alert_record(i) for i in ids])
        return [t for t in texts if t]

    async def team_info(self, team_id: str) -> dict[str, str]:
        data: dict[str, str] = await self._redis.hgetall(keys.team(team_id))
        return data

    # Admins ------------------------------------------------------------------------------------
    async def admins(self, team_id: str) -> list[str]:
        return sorted(await self._redis.smembers(keys.team_admins(team_id)))

    async def is_admin(self, team_id: str, user_id: str) -> bool:
        return bool(await self._redis.sismember(keys.team_admins(team_id), user_id))

    async def add_admin(self, team_id: str, user_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.teams(), team_id)
            pipe.sadd(keys.team_admins(team_id), user_id)
            _, added = await pipe.execute()
        return bool(added)

    async def remove_admin(self, team_id: str, user_id: str) -> bool:
        return bool(await self._redis.srem(keys.team_admins(team_id), user_id))

    # Feeds a team added --------------------------------------------------------------------------
    async def feed_ids(self, team_id: str) -> list[str]:
        return sorted(await self._redis.smembers(keys.team_feeds(team_id)))

    async def add_feed(self, team_id: str, feed_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.teams(), team_id)
            pipe.sadd(keys.team_feeds(team_id), feed_id)
            await pipe.execute()

    async def remove_feed(self, team_id: str, feed_id: str) -> bool:
        return bool(await self._redis.srem(keys.team_feeds(team_id), feed_id))

    # Rules -----------------------------------------------------------------------------------
    async def rule(self, team_id: str, rule_id: str) -> RuleSpec | None:
        text = await self._redis.hget(keys.team_rules(team_id), rule_id)
        return RuleSpec.model_validate_json(text) if text else None

    async def subscribe(self, team_id: str, rule_id: str, channel: str) -> RuleSpec | None:
        """Add ``channel`` to a rule's channels; None when the team has no such rule."""
        rule = await self.rule(team_id, rule_id)
        if rule is None:
            return None
        if channel not in rule.channels:
            rule = rule.model_copy(update={"channels": [*rule.channels, channel]})
            await self.put_rule(team_id, rule)
        return rule

    # Settings ----------------------------------------------------------------------------------
    async def settings(self, team_id: str) -> TeamSettings:
        return TeamSettings.from_hash(await self.team_info(team_id))

    async def put_settings(self, team_id: str, settings: TeamSettings) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.teams(), team_id)
            pipe.hset(keys.team(team_id), mapping=settings.to_hash())
            await pipe.execute()

    async def update_settings(self, team_id: str, **changes: str | int) -> TeamSettings:
        settings = replace(await self.settings(team_id), **changes)  # type: ignore[arg-type]
        await self.put_settings(team_id, settings)
        return settings

    # Feedback ----------------------------------------------------------------------------------
    async def record_not_relevant(self, team_id: str, alert_id: str) -> int:
        """Remember an alert the team marked not relevant; returns how many are kept."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lrem(keys.team_not_relevant(team_id), 0, alert_id)
            pipe.lpush(keys.team_not_relevant(team_id), alert_id)
            pipe.ltrim(keys.team_not_relevant(team_id), 0, NOT_RELEVANT_KEPT - 1)
            pipe.llen(keys.team_not_relevant(team_id))
            *_, length = await pipe.execute()
        return int(length)

    async def not_relevant(self, team_id: str, limit: int = 100) -> list[str]:
        return list(await self._redis.lrange(keys.team_not_relevant(team_id), 0, limit - 1))

    async def not_relevant_count(self, team_id: str) -> int:
        return int(await self._redis.llen(keys.team_not_relevant(team_id)))

    async def alerts_between(
        self, team_id: str, start: datetime, end: datetime, limit: int = 500
    ) -> list[str]:
        """JSON of the team's alerts recorded in [start, end], newest first."""
        ids = await self._redis.zrevrangebyscore(
            keys.team_alerts(team_id), end.timestamp(), start.timestamp(), start=0, num=limit
        )
        if not ids:
            return []
        texts = await self._redis.mget([keys.alert_record(i) for i in ids])
        return [t for t in texts if t]
