"""The compiled rule engine of every team's rules, kept current as teams change their rules."""

from __future__ import annotations

import asyncio
import logging

from peacewatch.rules.compile import compile_teams
from peacewatch.rules.engine import RuleEngine
from peacewatch.store.teams import TeamStore

log = logging.getLogger(__name__)


class EngineProvider:
    """The current compiled engine; recompiled in a worker thread when a team's rules change
    (the event loop keeps serving commands meanwhile; ingests wait for it, so a change applies
    from the next article on). Rules compiled before, by this process or an earlier one, are
    read from the compiled-rule disk cache (``compile_teams``): a restart starts warm."""

    def __init__(self, teams: TeamStore) -> None:
        self._teams = teams
        self._engine: RuleEngine | None = None
        self._version = -1
        self._lock = asyncio.Lock()

    async def engine(self) -> RuleEngine:
        version = await self._teams.rules_version()
        if self._engine is not None and version == self._version:
            return self._engine
        async with self._lock:
            if self._engine is None or version != self._version:
                rule_sets = await self._teams.match_sets()
                # from the disk cache when these rules were compiled before (a restart)
                engine = await asyncio.to_thread(compile_teams, rule_sets)
                for error in engine.errors:
                    log.warning(
                        "rule %s/%s skipped: %s", error.team_id, error.rule_id, error.message
                    )
                self._engine, self._version = engine, version
        assert self._engine is not None
        return self._engine
