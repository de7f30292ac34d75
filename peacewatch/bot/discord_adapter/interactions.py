"""Answering one interaction: who calls, the command service, and a Reply sent as an embed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from peacewatch.bot.discord_adapter import embeds
from peacewatch.bot.discord_adapter.client import PeacewatchClient
from peacewatch.bot.replies import Caller, Reply

if TYPE_CHECKING:
    from peacewatch.services.commands import CommandService

log = logging.getLogger(__name__)

GUILD_ONLY = "peacewatch works inside a server, not in direct messages"
NOT_READY = "peacewatch is starting; try again in a moment"
FAILED = "Something went wrong on our side; the error was logged"


def caller_of(interaction: discord.Interaction[Any]) -> Caller | None:
    """Who runs a command, or None outside a server (there is no team to act for)."""
    if interaction.guild_id is None or interaction.channel_id is None:
        return None
    user = interaction.user
    return Caller(
        platform="discord",
        team_id=f"discord:{interaction.guild_id}",
        user_id=str(user.id),
        channel=f"discord:{interaction.channel_id}",
        platform_admin=interaction.permissions.manage_guild,
        user_name=user.display_name,
    )


async def dm_caller_of(
    interaction: discord.Interaction[Any], service: CommandService
) -> Caller | None:
    """Who presses an alert button in a direct message: the user, in the team of the follow
    whose message it is (Discord names no server in a DM; the alert's record does, and it
    must be a DM to this very user). None for anything else outside a server."""
    component = discord.InteractionType.component
    if interaction.guild_id is not None or interaction.type is not component:
        return None
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = str(data.get("custom_id", ""))
    found = embeds.FEEDBACK_ID_RE.fullmatch(custom_id)
    if found is None:
        return None
    user = interaction.user
    team = await service.dm_team("discord", str(user.id), found["alert"] or "")
    if team is None:
        return None
    return Caller(
        platform="discord",
        team_id=team,
        user_id=str(user.id),
        channel=f"discord:{interaction.channel_id}" if interaction.channel_id else "",
        platform_admin=False,  # no server, no server permissions: only the reader's own mute
        user_name=user.display_name,
    )


def service_of(interaction: discord.Interaction[Any]) -> CommandService | None:
    client = interaction.client
    return client.commands if isinstance(client, PeacewatchClient) else None


async def send_reply(
    interaction: discord.Interaction[Any], reply: Reply, *, private: bool = False
) -> None:
    """Answer with ``reply`` as an embed (and its image as an attachment).

    Before the 3 s deadline this is the interaction's response; after a ``defer`` it is a
    follow-up. An ephemeral answer to a public deferral replaces the "thinking" message with
    one only the caller sees.
    """
    ephemeral = private or reply.ephemeral
    kwargs: dict[str, Any] = {"embeds": embeds.reply_embeds(reply), "ephemeral": ephemeral}
    file = embeds.reply_file(reply)
    if file is not None:
        kwargs["file"] = file
    if not interaction.response.is_done():
        await interaction.response.send_message(**kwargs)
        return
    deferred_public = not interaction.extras.get("deferred_private", False)
    if ephemeral and deferred_public:
        await interaction.delete_original_response()
    await interaction.followup.send(**kwargs)


async def defer(interaction: discord.Interaction[Any], *, private: bool) -> None:
    interaction.extras["deferred_private"] = private
    await interaction.response.defer(ephemeral=private, thinking=True)


async def run(
    interaction: discord.Interaction[Any],
    call: Callable[[CommandService, Caller], Awaitable[Reply]],
    *,
    slow: bool = False,
    private: bool = False,
) -> None:
    """Build the caller, call the service, render its reply; ``slow`` answers are deferred."""
    caller = caller_of(interaction)
    service = service_of(interaction)
    if caller is None and service is not None:
        caller = await dm_caller_of(interaction, service)  # a button on a follow's DM
    if caller is None or service is None:
        await send_reply(interaction, Reply.fail(GUILD_ONLY if caller is None else NOT_READY))
        return
    if slow:
        await defer(interaction, private=private)
    reply = await call(service, caller)
    await send_reply(interaction, reply, private=private)
