"""The rule editor on Discord: opening its modal, answering a submission with the query's check
and backtest, and the Save / Edit / Fix / Apply buttons under those answers.

Every answer is ephemeral. The buttons hold no state of their own: the message they sit under
carries the form (``editor_embeds.form_embed``), so they work after a restart. Saving goes
through the command service's ``save_rule``, which refuses anyone who is not an admin and then
changes nothing.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Final, Literal

import discord

from peacewatch.bot.discord_adapter import editor_embeds as ee
from peacewatch.bot.discord_adapter.embeds import reply_embeds
from peacewatch.bot.discord_adapter.interactions import (
    GUILD_ONLY,
    NOT_READY,
    caller_of,
    send_reply,
    service_of,
)
from peacewatch.bot.discord_adapter.modals import RuleModal, is_editor_submission, submitted_form
from peacewatch.bot.replies import Caller, Reply
from peacewatch.services.commands.editor import form_problem
from peacewatch.services.views import RuleEditor, RuleForm

if TYPE_CHECKING:
    from peacewatch.services.commands import CommandService

log = logging.getLogger(__name__)

EDITOR_ID_RE: Final = re.compile(r"pw:ed:(?P<action>save|apply|edit|fix)")
Action = Literal["save", "apply", "edit", "fix"]
LABELS: Final[dict[Action, str]] = {"save": "Save", "apply": "Apply", "edit": "Edit", "fix": "Fix"}
STYLES: Final[dict[Action, discord.ButtonStyle]] = {
    "save": discord.ButtonStyle.success,
    "apply": discord.ButtonStyle.success,
    "edit": discord.ButtonStyle.secondary,
    "fix": discord.ButtonStyle.primary,
}
GONE: Final = "This message no longer holds a rule; open the editor again: /peacewatch rules edit"


class EditorButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=EDITOR_ID_RE
):
    """Save or Apply (store the form the message carries) and Edit or Fix (reopen the modal
    with it)."""

    def __init__(self, action: Action) -> None:
        super().__init__(
            discord.ui.Button(
                style=STYLES[action], label=LABELS[action], custom_id=f"pw:ed:{action}"
            )
        )
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> EditorButton:
        actions: tuple[Action, ...] = ("save", "apply", "edit", "fix")
        return cls(next((a for a in actions if a == match["action"]), "edit"))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        message = interaction.message
        form = ee.form_of(message.embeds) if message is not None else None
        if form is None:
            await send_reply(interaction, Reply.fail(GONE), private=True)
        elif self.action in ("edit", "fix"):
            await open_editor(interaction, form)
        else:
            await save(interaction, form)


def buttons(*actions: Action) -> discord.ui.View:
    """A view of editor buttons. It is never stored (it holds only dynamic items, which
    ``install`` registers), so a restart loses nothing."""
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(EditorButton(action))
    return view


def editor_buttons(editor: RuleEditor) -> discord.ui.View:
    if not editor.check.ok:
        return buttons("fix")
    return buttons("save", "edit") if editor.can_save else buttons("edit")


def _context(
    interaction: discord.Interaction[Any],
) -> tuple[Caller, CommandService] | Reply:
    caller, service = caller_of(interaction), service_of(interaction)
    if caller is None or service is None:
        return Reply.fail(GUILD_ONLY if caller is None else NOT_READY)
    return caller, service


async def with_kept_destinations(
    service: CommandService, caller: Caller, form: RuleForm
) -> RuleForm:
    """A saved rule's form with the destinations the modal and the form cannot show put back:
    webhooks, and the Discord channels past the first ``CHANNELS_MAX``."""
    if not form.existing:
        return form
    saved = await service.rule_form(caller, form.rule_id)
    channels = [c for c in saved.channels if c.startswith("discord:")]
    others = tuple(
        c for c in saved.channels
        if (not c.startswith("discord:") or c in channels[ee.CHANNELS_MAX :])
        and c not in form.channels
    )  # fmt: skip
    if not saved.existing or not others:
        return form
    return RuleForm(
        form.rule_id, form.query, form.channels + others, form.min_sources, form.digest, True
    )


async def open_editor(interaction: discord.Interaction[Any], form: RuleForm) -> None:
    """Answer with the editor modal, pre-filled with ``form``."""
    modal = RuleModal(form)
    # Stopped before it is sent, discord.py keeps no copy: ``on_interaction`` answers the
    # submission from its data, in any process, before or after a restart.
    modal.stop()
    await interaction.response.send_modal(modal)


async def on_interaction(interaction: discord.Interaction[Any]) -> None:
    """Answer a rule editor submission (other interactions are for the command tree and the
    buttons); a failure is logged and told to the user."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return
    if not is_editor_submission(interaction.data):
        return
    try:
        form = submitted_form(interaction.data)
        if form is None:  # pragma: no cover - is_editor_submission said it is ours
            return
        await submit_form(interaction, form)
    except Exception:  # a submission is a task boundary: log, answer, keep serving
        log.exception("rule editor submission failed")
        failed = Reply.fail("Something went wrong on our side; the error was logged.")
        try:
            await send_reply(interaction, failed, private=True)
        except discord.HTTPException:
            log.warning("could not tell the user about a failed rule editor submission")


async def submit_form(interaction: discord.Interaction[Any], form: RuleForm) -> None:
    """A submitted modal: the form with its check and backtest (and Save for admins), or what
    is wrong with it and a Fix button; in place of the message the modal was opened from."""
    context = _context(interaction)
    if isinstance(context, Reply):
        await send_reply(interaction, context, private=True)
        return
    caller, service = context
    if interaction.message is not None:  # opened from Edit or Fix: update that message
        await interaction.response.defer()
    else:  # the backtest may take a moment: answer within Discord's 3 s, then edit
        await interaction.response.defer(ephemeral=True, thinking=True)
    form = await with_kept_destinations(service, caller, form)
    problem = form_problem(form)
    if problem is not None:
        embeds, view = ee.problem_embeds(form, problem), buttons("fix")
    else:
        editor = await service.rule_editor(caller, form)
        embeds, view = ee.editor_embeds(editor), editor_buttons(editor)
    await interaction.edit_original_response(embeds=embeds, view=view)


async def save(interaction: discord.Interaction[Any], form: RuleForm) -> None:
    """Save the carried form. Saved: the message becomes the confirmation. Refused: an
    ephemeral answer says why, and the form stays as it was to be fixed."""
    context = _context(interaction)
    if isinstance(context, Reply):
        await send_reply(interaction, context, private=True)
        return
    caller, service = context
    form = await with_kept_destinations(service, caller, form)
    reply = await service.save_rule(caller, form)
    if reply.error:
        await send_reply(interaction, reply, private=True)
        return
    await interaction.response.edit_message(embeds=reply_embeds(reply), view=None)


async def suggest(interaction: discord.Interaction[Any], rule_id: str) -> None:
    """``rules suggest``: the refinement, its backtest and, for admins, Apply (which saves the
    rule with the refined query) and Edit (the editor, pre-filled with it)."""
    context = _context(interaction)
    if isinstance(context, Reply):
        await send_reply(interaction, context, private=True)
        return
    caller, service = context
    interaction.extras["deferred_private"] = True
    await interaction.response.defer(ephemeral=True, thinking=True)
    suggestion = await service.suggestion(caller, rule_id)
    if suggestion.best is None:
        await send_reply(interaction, suggestion.reply, private=True)
        return
    form = await service.rule_form(caller, rule_id)
    form = RuleForm(
        form.rule_id, suggestion.best.query, form.channels, form.min_sources, form.digest, True
    )
    shown = ee.form_embed(form, title=f"Rule {rule_id} with the refinement")
    embeds = [*reply_embeds(suggestion.reply), shown]
    view = buttons("apply", "edit") if await service.is_admin(caller) else buttons("edit")
    await interaction.followup.send(embeds=embeds, view=view, ephemeral=True)
