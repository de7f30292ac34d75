"""Start-up check of `peacewatch run`: every destination has a sink; one line per platform."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from peacewatch.config import AppConfig
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


async def resolve_names(
    config: AppConfig, resolvers: Mapping[str, Callable[[str, str], Awaitable[str]]]
) -> AppConfig:
    """The config with each channel given by name (``slack:#news``) replaced by its id, looked
    up by the platform's resolver. Raises ConfigError naming every rule and channel that could
    not be found, and how to find the id."""
    problems: list[str] = []
    rules = []
    for rule in config.rules:
        channels = []
        for channel in rule.channels:
            platform, _, target = channel.partition(":")
            resolve = resolvers.get(platform.strip().lower())
            if resolve is None or not target.strip().startswith("#"):
                channels.append(channel)
                continue
            try:
                found = await resolve(config.team, channel)
            except ValueError as exc:
                problems.append(f"rule {rule.id!r}: {channel!r}: {exc}")
                continue
            log.info("rule %s: %s is %s", rule.id, channel, found)
            channels.append(found)
        rules.append(rule.model_copy(update={"channels": channels}))
    if problems:
        raise ConfigError("channels not found:\n" + "\n".join(problems))
    return config.model_copy(update={"rules": rules})


ChannelCheck = Callable[[str, str], Awaitable[tuple[str | None, bool]]]
"""``(channel id, team id)`` to what is wrong with posting there and whether the platform
said so (False: it could not be asked, so the alerts may still go out later)."""


async def check_team_channels(config: AppConfig, checks: Mapping[str, ChannelCheck]) -> None:
    """Each destination of the config's rules on its team's own platform (``team:
    discord:GUILD``) is a channel of that team's server. Raises ConfigError naming each rule and
    channel the platform refused; one it could not be asked about is logged and kept."""
    platform = config.team.partition(":")[0]
    check = checks.get(platform)
    if check is None:
        return
    problems: list[str] = []
    for rule in config.rules:
        for channel in dict.fromkeys(rule.channels):
            kind, _, target = channel.partition(":")
            if kind.strip().lower() != platform:
                continue
            problem, definite = await check(target.strip(), config.team)
            if problem is not None and definite:
                problems.append(f"rule {rule.id!r}: {channel!r}: {problem}")
            elif problem is not None:
                log.warning("rule %s: %s not checked: %s", rule.id, channel, problem)
    if problems:
        raise ConfigError(f"channels outside team {config.team}:\n" + "\n".join(problems))
