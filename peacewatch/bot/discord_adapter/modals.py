"""The rule editor modal: a rule's query, channels, outlets and digest, pre-filled from a form.

What happens on submit is the caller's (``components.submit_form``); this module only lays the
modal out and reads the submitted values back into a ``RuleForm``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import discord

from peacewatch.bot.discord_adapter.embeds import clip
from peacewatch.services.views import RuleForm

log = logging.getLogger(__name__)

TITLE_MAX: Final = 45
QUERY_MAX: Final = 2000
CHANNELS_MAX: Final = 10
TIMEOUT: Final = 30 * 60.0
"""Seconds an open modal is remembered; one submitted later (or after a restart) is not
answered, and its user presses Edit again."""
ID_RULE, ID_QUERY, ID_CHANNELS, ID_MIN, ID_DIGEST = (
    "pw_rule_id",
    "pw_rule_query",
    "pw_rule_channels",
    "pw_rule_min",
    "pw_rule_digest",
)
DIGEST_LABELS: Final = {
    "none": "No digest: alert as stories come",
    "hourly": "Hourly digest",
    "daily": "Daily digest",
}
CHANNEL_TYPES: Final = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.forum,
]

Submit = Callable[[discord.Interaction[Any], RuleForm], Awaitable[None]]


class RuleModal(discord.ui.Modal):
    """Five inputs (four for a saved rule, whose id is fixed); ``submit`` gets the form."""

    def __init__(self, form: RuleForm, submit: Submit) -> None:
        title = f"Edit rule {form.rule_id}" if form.existing else "New rule"
        super().__init__(title=clip(title, TITLE_MAX), timeout=TIMEOUT)
        self.form = form
        self._submit = submit
        self.rule_id = discord.ui.TextInput[RuleModal](
            custom_id=ID_RULE,
            default=form.rule_id or None,
            placeholder="witkoff-donbas",
            min_length=1,
            max_length=64,
        )
        if not form.existing:
            self.add_item(discord.ui.Label(text="Rule id", component=self.rule_id))
        self.query = discord.ui.TextInput[RuleModal](
            custom_id=ID_QUERY,
            default=form.query or None,
            placeholder='Witkoff AND (Donbas OR "security guarantees")',
            max_length=QUERY_MAX,
        )
        self.add_item(
            discord.ui.Label(
                text="Query",
                description="Checked and backtested over the last 7 days before you save",
                component=self.query,
            )
        )
        channels = [int(c.partition(":")[2]) for c in form.channels if c.startswith("discord:")]
        self.channels = discord.ui.ChannelSelect[RuleModal](
            custom_id=ID_CHANNELS,
            channel_types=CHANNEL_TYPES,
            min_values=0,
            max_values=CHANNELS_MAX,
            required=False,
            default_values=[
                discord.SelectDefaultValue(id=c, type=discord.SelectDefaultValueType.channel)
                for c in channels[:CHANNELS_MAX]
            ],
        )
        self.add_item(discord.ui.Label(text="Post to", component=self.channels))
        self.min_sources = discord.ui.TextInput[RuleModal](
            custom_id=ID_MIN, default=str(form.min_sources), min_length=1, max_length=3
        )
        self.add_item(
            discord.ui.Label(
                text="Alert when this many outlets carry the story", component=self.min_sources
            )
        )
        digest = form.digest if form.digest in DIGEST_LABELS else "none"
        self.digest = discord.ui.Select[RuleModal](
            custom_id=ID_DIGEST,
            options=[
                discord.SelectOption(label=label, value=value, default=value == digest)
                for value, label in DIGEST_LABELS.items()
            ],
        )
        self.add_item(discord.ui.Label(text="Digest", component=self.digest))

    def submitted(self) -> RuleForm:
        """The form as the user sent it; an outlets value that is not a number reads as 0,
        which the form check then names."""
        minimum = self.min_sources.value.strip()
        chosen = [getattr(c, "id", c) for c in self.channels.values]
        return RuleForm(
            rule_id=self.form.rule_id if self.form.existing else self.rule_id.value.strip(),
            query=self.query.value,
            channels=tuple(f"discord:{c}" for c in chosen),
            min_sources=int(minimum) if minimum.isdigit() else 0,
            digest=self.digest.values[0] if self.digest.values else "none",
            existing=self.form.existing,
        )

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await self._submit(interaction, self.submitted())

    async def on_error(  # type: ignore[override]  # a modal's errors have no item
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        log.error("rule editor submission failed", exc_info=error)
        failed = "Something went wrong on our side; the error was logged."
        try:
            if interaction.response.is_done():  # deferred: replace the "thinking" answer
                await interaction.followup.send(failed, ephemeral=True)
            else:
                await interaction.response.send_message(failed, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the user about a failed rule editor submission")
