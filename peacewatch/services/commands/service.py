"""CommandService: every command group in one object, answering typed commands via the registry."""

from __future__ import annotations

import logging
from typing import Literal

from peacewatch.errors import InputError
from peacewatch.services import parsing as p
from peacewatch.services.commands import (
    admin,
    editor,
    feeds,
    follows,
    questions,
    rules,
    settings,
    suggest,
)
from peacewatch.services.commands.base import CMD
from peacewatch.services.commands.registry import Registry
from peacewatch.services.replies import Caller, Reply
from peacewatch.services.views import Home, build_home, home_reply

log = logging.getLogger("peacewatch.services.commands")

REGISTRY = Registry(
    (
        *questions.COMMANDS,
        *rules.COMMANDS,
        *feeds.COMMANDS,
        *settings.COMMANDS,
        *admin.COMMANDS,
        *suggest.COMMANDS,
        *follows.COMMANDS,
    )
)
"""Every command the chat adapters accept, by the action ``parse_command`` names."""


class CommandService(
    questions.QuestionCommands,
    rules.RuleCommands,
    feeds.FeedCommands,
    settings.SettingsCommands,
    admin.AdminCommands,
    editor.EditorCommands,
    suggest.SuggestCommands,
    follows.FollowCommands,
):
    """Answers every chat command for one deployment (all teams, all platforms)."""

    registry = REGISTRY

    async def feedback(
        self,
        caller: Caller,
        story_id: str,
        kind: Literal["mute_story", "not_relevant"],
        alert_id: str = "",
    ) -> Reply:
        """An alert button: on a follow's direct message to the caller, "Mute this story" is
        theirs to press; everywhere else the team's rules apply (muting is for admins)."""
        personal = await self.dm_feedback(caller, story_id, kind, alert_id)
        if personal is not None:
            return personal
        return await super().feedback(caller, story_id, kind, alert_id)

    async def home(self, caller: Caller) -> Home:
        """The team dashboard as ``caller`` sees it (editing controls for admins only)."""
        return await build_home(self._redis, caller, await self.is_admin(caller), self._clock)

    async def dashboard(self, caller: Caller) -> Reply:
        """The team dashboard as a Reply shown to the caller alone (Discord /peacewatch home)."""
        return home_reply(await self.home(caller))

    def changes_state(self, text: str) -> bool:
        """Whether a command as typed is one that changes the team's state (admin-only)."""
        try:
            command = self.registry.get(p.parse_command(text).action)
        except InputError:
            return False
        return command is not None and command.changes_state

    async def handle_text(self, caller: Caller, text: str) -> Reply:
        """Answer a command as typed (``rules add ID QUERY #channel``); never raises."""
        try:
            return await self._dispatch(caller, text)
        except (InputError, ValueError) as exc:
            return Reply.fail(str(exc)[:500], hint=f"{CMD} help lists every command.")
        except Exception:  # a command is a task boundary: answer, log, and keep serving
            shown = " ".join(p.show_destination(w) for w in text[:200].split())
            log.exception("command failed", extra={"team": caller.team_id, "text": shown})
            return Reply.fail(
                "Something went wrong on our side; the error is logged.", f"{CMD} status"
            )

    async def _dispatch(self, caller: Caller, text: str) -> Reply:
        cmd = p.parse_command(text)
        command = self.registry.get(cmd.action) or self.registry.get("help")
        assert command is not None
        return await command.run(self, caller, cmd)
