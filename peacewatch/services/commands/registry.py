"""The registry of chat commands: which handler answers each command word, and which change state.

Every command group module lists its commands as ``COMMANDS``; the service joins them into one
``Registry``. A command that changes state (rules, feeds, mutes, subscriptions, settings, the
admin list) is admin-only, and the admin-rights test runs every one of them from here, so a new
command is checked as soon as it is registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from peacewatch.services.parsing import Parsed
from peacewatch.services.replies import Caller, Reply

if TYPE_CHECKING:
    from peacewatch.services.commands.service import CommandService

Handler = Callable[["CommandService", Caller, Parsed], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    """One command: the action ``parse_command`` names, and how the service answers it."""

    action: str
    run: Handler
    changes_state: bool = False
    """Admin-only: it changes the team's rules, feeds, mutes, settings or admins."""
    example: str = ""
    """Text that runs it as typed; for a change, one that changes something when an admin
    runs it on a team with a rule ``r1``."""


class Registry:
    """Command words to handlers; a word registered twice is an error at import."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self._commands: dict[str, Command] = {}
        for command in commands:
            if command.action in self._commands:
                raise ValueError(f"command {command.action!r} is registered twice")
            self._commands[command.action] = command

    def get(self, action: str) -> Command | None:
        return self._commands.get(action)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def changing_state(self) -> tuple[Command, ...]:
        """The admin-only commands."""
        return tuple(c for c in self if c.changes_state)
