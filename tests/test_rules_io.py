"""Rules import and export round-trip a team's YAML, per team, all or nothing."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
import yaml

from peacewatch.services.rules_io import export_rules, import_rules
from peacewatch.store.teams import TeamStore

RULES = """\
entities:                    # optional, added to the built-in dictionary
  - id: hnatov
    kind: actor
    names: ["Andrii Hnatov", "Hnatov", "Гнатов"]
rules:
  - id: witkoff-donbas
    query: 'Witkoff AND (Donbas OR "security guarantees") -opinion'
    channels: ["slack:C0123ABCD", "discord:112233445566778899"]
    min_sources: 1           # alert when this many outlets carry the story
    digest: none             # none | hourly | daily
  - id: hnatov
    query: 'actor:hnatov'
    channels: ["slack:C0123ABCD"]
    min_sources: 2
    digest: daily
"""


async def test_import_then_export_round_trips(redis_client: aioredis.Redis, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    assert await import_rules(redis_client, "slack:T1", path) == []
    rules = await TeamStore(redis_client).rules("slack:T1")
    assert [r.id for r in rules] == ["hnatov", "witkoff-donbas"]
    assert rules[0].digest == "daily" and rules[0].min_sources == 2

    exported = await export_rules(redis_client, "slack:T1")
    assert yaml.safe_load(exported)["entities"][0]["names"] == ["Andrii Hnatov", "Hnatov", "Гнатов"]
    again = tmp_path / "again.yaml"
    again.write_text(exported, encoding="utf-8")
    assert await import_rules(redis_client, "discord:4455", again) == []
    assert await export_rules(redis_client, "discord:4455") == exported
    assert await TeamStore(redis_client).rules("discord:4455") == rules


async def test_a_broken_file_changes_nothing_and_says_where(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(RULES, encoding="utf-8")
    assert await import_rules(redis_client, "slack:T1", good) == []
    before = await export_rules(redis_client, "slack:T1")

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - id: broken\n    query: 'Witkoff AND (Donbas'\n    channels: [slack:C1]\n",
        encoding="utf-8",
    )
    errors = await import_rules(redis_client, "slack:T1", bad)
    assert errors == [f"{bad}:3:32: rule 'broken': expected ')' after 'Donbas'"]
    assert await export_rules(redis_client, "slack:T1") == before
    missing = await import_rules(redis_client, "slack:T1", tmp_path / "nope.yaml")
    assert missing and missing[0].startswith(f"{tmp_path / 'nope.yaml'}:1:1: cannot read")


async def test_teams_do_not_share_rules(redis_client: aioredis.Redis, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    await import_rules(redis_client, "slack:T1", path)
    assert yaml.safe_load(await export_rules(redis_client, "slack:T2")) == {"rules": []}
