"""A team's rules and entities to and from the rules YAML (``peacewatch rules import|export``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from peacewatch.configcheck import check_config_text
from peacewatch.rules.compile import check_text
from peacewatch.rules.rulefile import RulesFile, dump_rules
from peacewatch.store.teams import TeamStore

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["export_rules", "import_rules", "import_rules_text"]


async def import_rules_text(
    redis: aioredis.Redis, team_id: str, text: str, name: str = "<rules>"
) -> list[str]:
    """Replace a team's rules and entities with those of ``text`` (rules YAML).

    All or nothing: when the file has any error (a destination nothing can serve included:
    ``slak:C0123``, ``slack:#general``, a rule with no channels and no digest), nothing changes
    and every error is returned as ``name:line:col: message``; an empty list means the import
    was done."""
    rules_file, errors = check_text(text, name)
    if not errors:  # then where each rule posts: a platform, an id, somewhere at all
        errors = [e for e in check_config_text(text, name) if not e.warning]
    if errors:
        return [str(e) for e in errors]
    await TeamStore(redis).replace(team_id, list(rules_file.rules), list(rules_file.entities))
    return []


async def import_rules(redis: aioredis.Redis, team_id: str, path: Path | str) -> list[str]:
    """``import_rules_text`` for a file; an unreadable file is one error at ``path:1:1``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}:1:1: cannot read: {exc}"]
    return await import_rules_text(redis, team_id, text, str(path))


async def export_rules(redis: aioredis.Redis, team_id: str) -> str:
    """The YAML of a team's rules and its own entities (``import_rules`` reads it back)."""
    teams = TeamStore(redis)
    rules_file = RulesFile(entities=await teams.entities(team_id), rules=await teams.rules(team_id))
    return dump_rules(rules_file)
