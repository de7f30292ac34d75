"""Teams in Redis: their rules, their own entities, mutes and match history."""

from __future__ import annotations

import json
from datetime import datetime

import redis.asyncio as aioredis

from peacewatch.rules.engine import TeamRuleSet
from peacewatch.rules.rulefile import EntitySpec, RuleSpec
from peacewatch.store import keys


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

    async def mute(self, team_id: str, rule_id: str, until: datetime) -> None:
        await self._redis.hset(keys.team_mutes(team_id), rule_id, str(until.timestamp()))

    async def unmute(self, team_id: str, rule_id: str) -> bool:
        return bool(await self._redis.hdel(keys.team_mutes(team_id), rule_id))

    async def muted_until(self, team_id: str) -> dict[str, float]:
        data = await self._redis.hgetall(keys.team_mutes(team_id))
        return {k: float(v) for k, v in data.items()}

    async def record_alert(
        self, team_id: str, alert_json: str, at: datetime, alert_id: str
    ) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.team_alerts(team_id), {alert_id: at.timestamp()})
            pipe.set(keys.alert_record(alert_id), alert_json, ex=90 * 86400)
            await pipe.execute()

    async def recent_alerts(self, team_id: str, limit: int = 10) -> list[str]:
        ids = await self._redis.zrevrange(keys.team_alerts(team_id), 0, limit - 1)
        if not ids:
            return []
        texts = await self._redis.mget([keys.alert_record(i) for i in ids])
        return [t for t in texts if t]

    async def team_info(self, team_id: str) -> dict[str, str]:
        data: dict[str, str] = await self._redis.hgetall(keys.team(team_id))
        return data

    @staticmethod
    def rule_json(rule: RuleSpec) -> str:
        return json.dumps(rule.model_dump(mode="json"))
