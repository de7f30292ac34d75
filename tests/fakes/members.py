"""Server and workspace membership in the Discord and Slack fakes.

Discord's Get Guild Member (``GET /guilds/{guild}/members/{user}``) answers the member object
of a user in the server, 404 code 10007 Unknown Member for one who left or was removed, 404
code 10004 Unknown Guild for a server the bot is not in. In the fake every user is a member of
its one server (``fake.guild_id``) until ``fake.members.leave(user)``; ``fake.members.fail``
makes the next answers an outage (HTTP 500 or any status).

Slack's ``users.info`` answers ``deleted: true`` for a deactivated account and
``user_not_found`` for a user the workspace does not have (see ``FakeSlack.deactivate`` and
``FakeSlack.remove_user``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord

UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007


@dataclass
class DiscordMembers:
    """Who is no longer in the fake's server, and outages of the members route."""

    gone: set[str] = field(default_factory=set)
    failures: list[int] = field(default_factory=list)
    """HTTP statuses the next Get Guild Member calls answer, one each."""

    def leave(self, user_id: int | str) -> None:
        """The user leaves the server (or is removed from it)."""
        self.gone.add(str(user_id))

    def join(self, user_id: int | str) -> None:
        self.gone.discard(str(user_id))

    def fail(self, status: int = 500, times: int = 1) -> None:
        self.failures.extend([status] * times)


async def discord_member(fake: FakeDiscord, request: web.Request) -> web.Response:
    """Get Guild Member."""
    if not fake._authorised(request):
        return fake._error(401, 0, "401: Unauthorized")
    if fake.members.failures:
        status = fake.members.failures.pop(0)
        return fake._error(status, 0, f"{status}: fake outage")
    guild, user = request.match_info["guild"], request.match_info["user"]
    if guild != str(fake.guild_id):
        return fake._error(404, UNKNOWN_GUILD, "Unknown Guild")
    if user in fake.members.gone:
        return fake._error(404, UNKNOWN_MEMBER, "Unknown Member")
    return fake._ok(
        {
            "user": {"id": user, "username": f"user{user[-4:]}", "discriminator": "0"},
            "nick": None,
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
    )
