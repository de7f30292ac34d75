"""The rule editor modal: a rule's query, channels, outlets and digest, pre-filled from a form.

This module lays the modal out and reads a submission back into a ``RuleForm``. The modal's
custom_id says which rule it edits, so a submission is answered from its own data alone (by
``components.on_interaction``), even by a process that did not open it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

import discord

from peacewatch.bot.discord_adapter.editor_embeds import CHANNELS_MAX
from peacewatch.bot.discord_adapter.embeds import clip
from peacewatch.services.views import RuleForm

TITLE_MAX: Final = 45
QUERY_MAX: Final = 2000
MODAL_ID_RE: Final = re.compile(r"pw:rm:(?P<state>[en]):(?P<rule>[A-Za-z0-9_.-]{0,64})")
"""The modal's custom_id: ``e`` and the id of the saved rule it edits, or ``n`` (a new rule)."""
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
LABEL, ACTION_ROW = 18, 1


class RuleModal(discord.ui.Modal):
    """Five inputs (four for a saved rule, whose id is fixed and in the modal's custom_id)."""

    def __init__(self, form: RuleForm) -> None:
        title = f"Edit rule {form.rule_id}" if form.existing else "New rule"
        state = f"e:{form.rule_id}" if form.existing else "n:"
        super().__init__(title=clip(title, TITLE_MAX), custom_id=f"pw:rm:{state}")
        self.form = form
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


def _inputs(components: list[Any]) -> Iterator[Mapping[str, Any]]:
    """The submitted inputs, inside their Labels (or the older action rows)."""
    for component in components:
        if not isinstance(component, Mapping):
            continue
        if component.get("type") == LABEL:
            yield from _inputs([component.get("component")])
        elif component.get("type") == ACTION_ROW:
            yield from _inputs(list(component.get("components") or ()))
        else:
            yield component


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def is_editor_submission(data: Mapping[str, Any] | None) -> bool:
    """Whether a MODAL_SUBMIT's ``data`` is the rule editor's (its custom_id names a rule)."""
    return MODAL_ID_RE.fullmatch(str((data or {}).get("custom_id", ""))) is not None


def submitted_form(data: Mapping[str, Any] | None) -> RuleForm | None:
    """The form of a rule editor submission (a MODAL_SUBMIT's ``data``), or None for any other
    modal. An outlets value that is not a number reads as 0, which the form check names; only ASCII
    digits make a number (``'²'.isdigit()`` is true, yet ``int('²')`` fails)."""
    match = MODAL_ID_RE.fullmatch(str((data or {}).get("custom_id", "")))
    if data is None or match is None:
        return None
    values = {str(c.get("custom_id")): c for c in _inputs(list(data.get("components") or ()))}

    def text(custom_id: str) -> str:
        return str(values.get(custom_id, {}).get("value") or "")

    def chosen(custom_id: str) -> list[str]:
        return [str(v) for v in values.get(custom_id, {}).get("values") or ()]

    existing = match["state"] == "e"
    minimum = text(ID_MIN).strip()
    digest = chosen(ID_DIGEST)
    return RuleForm(
        rule_id=match["rule"] if existing else text(ID_RULE).strip(),
        query=text(ID_QUERY),
        channels=tuple(f"discord:{c}" for c in chosen(ID_CHANNELS) if _number(c)),
        min_sources=int(minimum) if _number(minimum) else 0,
        digest=digest[0] if digest else "none",
        existing=existing,
    )
