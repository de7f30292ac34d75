"""Start-up check of `peacewatch run`: every destination has a sink; one line per platform."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from peacewatch.configcheck import destination_problem, unserved_message
from peacewatch.errors import ConfigError
from peacewatch.rules.engine import TeamRuleSet

log = logging.getLogger(__name__)

PLATFORM_NAMES = {
    "console": "console",
    "slack": "Slack",
    "discord": "Discord bot",
    "discordhook": "Discord webhooks",
}


def wants(rule_sets: Sequence[TeamRuleSet], platform: str) -> bool:
    """Whether any rule of any team posts to ``platform``."""
    return any(
        channel.partition(":")[0].strip().lower() == platform
        for team in rule_sets
        for rule in team.rules
        for channel in rule.channels
    )


def check_destinations(
    rule_sets: Sequence[TeamRuleSet], served: Mapping[str, str]
) -> dict[str, int]:
    """How many destinations each served platform has. Raises ConfigError naming every rule and
    destination that nothing can serve: a platform with no sink (its alerts would be dead
    letters), a destination of the wrong shape, a rule with no destination and no digest."""
    problems: list[str] = []
    count = dict.fromkeys(served, 0)
    for team in rule_sets:
        for rule in team.rules:
            where = f"team {team.team_id!r}, rule {rule.id!r}"
            if not rule.channels and rule.digest == "none":
                problems.append(f"{where}: no channels, so its alerts would go nowhere")
            for channel in dict.fromkeys(rule.channels):
                platform = channel.partition(":")[0].strip().lower()
                problem = destination_problem(channel)
                if problem is None and platform not in served:
                    problem = unserved_message(channel, platform)
                if problem is not None:
                    problems.append(f"{where}: {problem}")
                else:
                    count[platform] += 1
    if problems:
        raise ConfigError("destinations nothing can serve:\n" + "\n".join(problems))
    return count


def log_platforms(served: Mapping[str, str], destinations: Mapping[str, int]) -> None:
    """One INFO line per platform: how it is connected and how many destinations it serves."""
    for platform, how in served.items():
        count = destinations.get(platform, 0)
        log.info(
            "%s: %s; serves %d destination%s",
            PLATFORM_NAMES.get(platform, platform), how, count, "" if count == 1 else "s",
        )  # fmt: skip
