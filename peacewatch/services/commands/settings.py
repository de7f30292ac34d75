"""Team settings commands: quiet hours, time zone, daily digest time, retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peacewatch.services import parsing as p
from peacewatch.services.quiet import parse_quiet, quiet_release_time
from peacewatch.services.replies import Caller, Reply

if TYPE_CHECKING:
    pass
from peacewatch.services.commands.base import CMD, CommandBase, _answers, _when
from peacewatch.services.commands.registry import Command


class SettingsCommands(CommandBase):
    """Commands that read and change a team's settings."""

    @_answers
    async def quiet(self, caller: Caller, spec: str) -> Reply:
        settings = await self._teams.settings(caller.team_id)
        spec = spec.strip()
        if not spec:
            state = (
                f"{settings.quiet_start}-{settings.quiet_end}" if settings.quiet_start else "off"
            )
            return Reply(
                title=f"Quiet hours: {state} ({settings.timezone})",
                footer=f"Set them: {CMD} quiet 22:00-07:00 Europe/Kyiv · end them: {CMD} quiet off",
                ephemeral=True,
            )
        if (refused := await self._refuse(caller)) is not None:
            return refused
        if spec.lower() in ("off", "none", "stop"):
            await self._teams.update_settings(caller.team_id, quiet_start="", quiet_end="")
            return Reply(
                title="Quiet hours are off", text="Alerts go out as they come.", ephemeral=True
            )
        hours = parse_quiet(spec)
        changes: dict[str, str] = {
            "quiet_start": hours.start.strftime("%H:%M"),
            "quiet_end": hours.end.strftime("%H:%M"),
        }
        if hours.zone:
            changes["timezone"] = hours.zone
        settings = await self._teams.update_settings(caller.team_id, **changes)
        release = quiet_release_time(settings, self._clock())
        now_note = f" They are on now, until {_when(release)}." if release else ""
        return Reply(
            title=f"Quiet hours {settings.quiet_start}-{settings.quiet_end} {settings.timezone}",
            text="Alerts below high severity wait and go out together when quiet hours end."
            + now_note,
            footer=f"End them: {CMD} quiet off",
            ephemeral=True,
        )

    @_answers
    async def timezone(self, caller: Caller, zone: str) -> Reply:
        if not zone.strip():
            settings = await self._teams.settings(caller.team_id)
            return Reply(
                title=f"Time zone: {settings.timezone}",
                footer=f"{CMD} timezone Europe/Kyiv",
                ephemeral=True,
            )
        if (refused := await self._refuse(caller)) is not None:
            return refused
        name = p.parse_zone(zone).key
        await self._teams.update_settings(caller.team_id, timezone=name)
        return Reply(
            title=f"Time zone set to {name}",
            text="Quiet hours and daily digests use it.",
            ephemeral=True,
        )

    @_answers
    async def digest_time(self, caller: Caller, at: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        moment = p.parse_clock(at).strftime("%H:%M")
        settings = await self._teams.update_settings(caller.team_id, digest_time=moment)
        return Reply(
            title=f"Daily digests go out at {moment} {settings.timezone}",
            text="Rules with digest: daily collect their alerts until then.",
            ephemeral=True,
        )

    @_answers
    async def retention(self, caller: Caller, span: str) -> Reply:
        if (refused := await self._refuse(caller)) is not None:
            return refused
        text = span.strip()
        days = int(text) if text.isdigit() else p.parse_duration(text).days
        if not 1 <= days <= 365:
            return Reply.fail("Retention is 1 to 365 days.", f"{CMD} retention 90d")
        await self._teams.update_settings(caller.team_id, retention_days=days)
        return Reply(title=f"Questions now look back at most {days} days", ephemeral=True)


COMMANDS = (
    Command(
        "quiet",
        lambda s, c, cmd: s.quiet(c, cmd.arg),
        changes_state=True,
        example="quiet 22:00-07:00 Europe/Kyiv",
    ),
    Command(
        "timezone",
        lambda s, c, cmd: s.timezone(c, cmd.arg),
        changes_state=True,
        example="timezone Asia/Tokyo",
    ),
    Command(
        "digest_at",
        lambda s, c, cmd: s.digest_time(c, cmd.arg),
        changes_state=True,
        example="digest at 06:30",
    ),
    Command(
        "retention",
        lambda s, c, cmd: s.retention(c, cmd.arg),
        changes_state=True,
        example="retention 30d",
    ),
)
