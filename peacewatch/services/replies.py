"""Platform-neutral answers to chat commands, which each adapter renders in its own format."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """Who runs a command, and where.

    ``platform_admin`` is what the platform says (Slack workspace admin or owner, Discord
    Manage Server); the command service also accepts members of the team's own admin list.
    """

    platform: str
    """``slack`` or ``discord`` (``cli`` for local use)."""
    team_id: str
    """Slack workspace id or Discord guild id, prefixed by platform: ``slack:T123``."""
    user_id: str
    channel: str
    """The destination the command came from, e.g. ``slack:C0123ABCD``."""
    platform_admin: bool = False
    user_name: str = ""


@dataclass(frozen=True, slots=True)
class ReplyItem:
    """One entry of a list answer: a story, a rule, a feed."""

    title: str
    link: str = ""
    text: str = ""
    meta: str = ""
    """A short line under the text: outlets, time, ids."""


@dataclass(frozen=True, slots=True)
class Reply:
    title: str
    text: str = ""
    items: tuple[ReplyItem, ...] = ()
    ephemeral: bool = False
    """Shown only to the caller (errors, admin commands)."""
    error: bool = False
    footer: str = ""
    """Paging hint or totals, e.g. "Showing 5 of 23 — /peacewatch latest 10"."""
    image: bytes | None = None
    """A PNG to upload with the answer (trend charts)."""
    image_name: str = ""

    @classmethod
    def fail(cls, message: str, hint: str = "") -> Reply:
        """An error answer that says what went wrong and what to type instead."""
        return cls(title="Sorry", text=message, footer=hint, ephemeral=True, error=True)
