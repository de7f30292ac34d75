"""The run's compiled rules are kept on disk: a restart with the same rules reads them instead
of compiling, and any change to a team's rules or entities compiles anew."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peacewatch.models import Article
from peacewatch.pipeline.engines import EngineProvider
from peacewatch.rules import diskcache
from peacewatch.rules.compile import TEAMS_CACHE_KIND, compile_teams
from peacewatch.rules.engine import RuleEngine, TeamRuleSet
from peacewatch.rules.rulefile import EntitySpec, RuleSpec
from peacewatch.store.teams import TeamStore

ENVOYS = RuleSpec(id="envoys", query="Witkoff OR Dmitriev", channels=["console:desk"])
ARTICLE = Article(
    id="a1",
    title="Witkoff meets envoys in Geneva",
    link="",
    published=datetime(2026, 1, 6, tzinfo=UTC),
    source="example.org",
    outlet="Example",
    summary="Talks on the ceasefire went on in Kyiv.",
)


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"{TEAMS_CACHE_KIND}-*.pickle"))


def matched(engine: RuleEngine) -> list[str]:
    return sorted(m.rule_id for m in engine.match(ARTICLE))


async def test_a_restart_reads_the_compiled_rules_from_disk(redis_client: Any, cache: Path) -> None:
    teams = TeamStore(redis_client)
    await teams.put_rule("t1", ENVOYS)
    first = await EngineProvider(teams).engine()
    assert matched(first) == ["envoys"]
    [entry] = entries(cache)
    # the entry is what the next start gets: put another rule set in its place to see it read
    planted = RuleEngine.compile([TeamRuleSet("t1", [RuleSpec(id="kyiv", query="Kyiv")])])
    key = entry.stem.split("-", 1)[1]
    assert diskcache.write(TEAMS_CACHE_KIND, key, planted)
    restarted = await EngineProvider(teams).engine()  # a new process: nothing in memory
    assert matched(restarted) == ["kyiv"]
    # a changed rule set is another key: compiled, not answered from the old entry
    await teams.put_rule("t1", RuleSpec(id="lavrov", query="Lavrov OR Hnatov"))
    changed = await EngineProvider(teams).engine()
    assert matched(changed) == ["envoys"] and changed.rule_count == 2
    assert len(entries(cache)) == 2


async def test_a_team_entity_is_part_of_the_key(redis_client: Any, cache: Path) -> None:
    teams = TeamStore(redis_client)
    await teams.put_rule("t1", RuleSpec(id="negotiator", query="actor:negotiator OR Hnatov"))
    await teams.put_entity("t1", EntitySpec(id="negotiator", kind="actor", names=["Dmitriev"]))
    before = await EngineProvider(teams).engine()
    assert not before.errors and matched(before) == []
    await teams.put_entity("t1", EntitySpec(id="negotiator", kind="actor", names=["Witkoff"]))
    after = await EngineProvider(teams).engine()
    assert matched(after) == ["negotiator"]
    assert len(entries(cache)) == 2


def test_an_engine_read_back_matches_as_the_compiled_one(cache: Path) -> None:
    rules = [
        RuleSpec(id="envoys", query="Witkoff OR Dmitriev"),
        RuleSpec(id="near", query="ceasefire NEAR/5 Kyiv"),
        RuleSpec(id="title", query="title:geneva -Moscow"),
    ]
    teams = [TeamRuleSet("t1", rules)]
    compiled = compile_teams(teams)
    read = compile_teams(teams)
    assert read is not compiled and len(entries(cache)) == 1
    assert [(m.rule_id, m.matched, m.hits) for m in read.match(ARTICLE)] == [
        (m.rule_id, m.matched, m.hits) for m in compiled.match(ARTICLE)
    ]
    assert matched(read) == ["envoys", "near", "title"]
