"""The team's own admin list: admins add, remove, list (admin-only, even to read)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peacewatch.services.replies import Caller, Reply

if TYPE_CHECKING:
    pass
from peacewatch.services.commands.base import _USER, CMD, PLATFORM_ADMINS, CommandBase, _answers
from peacewatch.services.commands.registry import Command


class AdminCommands(CommandBase):
    """Commands that change who may change things."""

    @_answers
    async def admins(self, caller: Caller, action: str, user_id: str = "") -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        team = caller.team_id
        if action == "list":
            users = await self._teams.admins(team)
            return Reply(
                title=f"{len(users)} peacewatch admins",
                text=", ".join(users[:50])
                or f"None besides the {PLATFORM_ADMINS.get(caller.platform, 'platform admins')}.",
                ephemeral=True,
            )
        user = _user_id(user_id)
        if action not in ("add", "remove") or user is None:
            return Reply.fail(
                "Say who: admins add @user, admins remove @user, admins list.",
                f"{CMD} admins add @maria",
            )
        if action == "add":
            await self._teams.add_admin(team, user)
            return Reply(title=f"{user} is now a peacewatch admin of this team", ephemeral=True)
        if await self._teams.remove_admin(team, user):
            return Reply(title=f"{user} is no longer a peacewatch admin", ephemeral=True)
        return Reply.fail(f"{user} was not on the admin list.", f"{CMD} admins list")


COMMANDS = (
    Command(
        "admins",
        lambda s, c, cmd: s.admins(c, cmd.sub, cmd.arg),
        changes_state=True,
        example="admins add <@U0NEW|newcomer>",
    ),
)


def _user_id(text: str) -> str | None:
    found = _USER.match(text.strip())
    if not found:
        return None
    return found.group(1) or found.group(2)
