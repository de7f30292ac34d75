"""The rule editor's answers as embeds: the form (carried by the message), its check, backtest.

A preview or an error message holds the form it shows in its first embed: the query on the
line between two fences of the description, the rule, channels, outlets and digest in fields.
Its buttons (Save, Edit, Fix) read the form back from there, so they keep working after a
restart and on any replica; ``save_rule`` checks everything again, the caller's rights first.
"""

from __future__ import annotations

import re
from typing import Final

import discord

from peacewatch.bot.discord_adapter.embeds import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    ERROR_COLOUR,
    REPLY_COLOUR,
    TITLE_MAX,
    clip,
)
from peacewatch.services.views import Backtest, QueryCheck, RuleEditor, RuleForm

FENCE: Final = "```"
RULE_FIELD: Final = "Rule"
CHANNELS_FIELD: Final = "Post to"
CHANNELS_MAX: Final = 25
"""Discord channels a form carries (a channel select's most): a saved rule's further
destinations are kept as they are when it is saved."""
MIN_FIELD: Final = "Alert when"
DIGEST_FIELD: Final = "Digest"
SAVED, NEW = "saved rule", "new rule"
NO_CHANNEL: Final = "no channel (digest only)"
BAR: Final = 16
CARET_MAX: Final = 200
"""Longest query shown with a caret under the error (longer ones wrap, so a caret misleads)."""
OK_COLOUR: Final = discord.Colour(0x188038)

_RULE_VALUE = re.compile(rf"^`(?P<id>[^`]*)` \((?P<state>{SAVED}|{NEW})\)$")
_CHANNEL = re.compile(r"<#(\d{1,20})>")
_MIN_VALUE = re.compile(r"^(\d{1,3}) outlets?")


def one_line(query: str) -> str:
    """The query as the form carries it: whitespace (the language's only separator) as spaces."""
    return " ".join(query.split()) if "\n" in query or "\r" in query else query


def form_embed(
    form: RuleForm, *, colour: discord.Colour = REPLY_COLOUR, title: str = ""
) -> discord.Embed:
    """The form as an embed, from which ``form_of`` reads it back exactly."""
    title = title or (f"Edit rule {form.rule_id}" if form.existing else "New rule")
    embed = discord.Embed(
        title=clip(title, TITLE_MAX),
        description=f"{FENCE}\n{one_line(form.query)}\n{FENCE}",
        colour=colour,
    )
    state = SAVED if form.existing else NEW
    embed.add_field(name=RULE_FIELD, value=f"`{form.rule_id}` ({state})", inline=True)
    channels = [c.partition(":")[2] for c in form.channels if c.startswith("discord:")]
    others = len(form.channels) - len(channels[:CHANNELS_MAX])
    channels = channels[:CHANNELS_MAX]
    shown = ", ".join(f"<#{c}>" for c in channels)
    if others:
        kept = f"{others} other destination{'s' if others > 1 else ''} (kept as they are)"
        shown = f"{shown} and {kept}" if shown else kept
    shown = shown or NO_CHANNEL
    embed.add_field(name=CHANNELS_FIELD, value=shown, inline=True)
    outlets = "outlet carries" if form.min_sources == 1 else "outlets carry"
    embed.add_field(name=MIN_FIELD, value=f"{form.min_sources} {outlets} the story", inline=True)
    embed.add_field(name=DIGEST_FIELD, value=form.digest, inline=True)
    return embed


def form_of(embeds: list[discord.Embed]) -> RuleForm | None:
    """The form a preview, error or suggestion message carries (see ``form_embed``), or None
    when the message carries none. Destinations other than Discord channels are not carried:
    saving an existing rule keeps its own."""
    for embed in embeds:
        form = _form_in(embed)
        if form is not None:
            return form
    return None


def _form_in(embed: discord.Embed) -> RuleForm | None:
    lines = (embed.description or "").split("\n")
    if len(lines) != 3 or lines[0] != FENCE or lines[2] != FENCE:
        return None
    fields = {f.name: f.value or "" for f in embed.fields}
    rule = _RULE_VALUE.match(fields.get(RULE_FIELD, ""))
    minimum = _MIN_VALUE.match(fields.get(MIN_FIELD, ""))
    if rule is None or minimum is None:
        return None
    channels = tuple(f"discord:{c}" for c in _CHANNEL.findall(fields.get(CHANNELS_FIELD, "")))
    return RuleForm(
        rule_id=rule["id"],
        query=lines[1],
        channels=channels,
        min_sources=int(minimum[1]),
        digest=fields.get(DIGEST_FIELD, "none"),
        existing=rule["state"] == SAVED,
    )


def check_text(query: str, check: QueryCheck) -> str:
    """The query's check: ok (with warnings), or the error and its column under a caret."""
    if check.ok:
        return "\n".join(["✅ The query parses.", *(f"⚠️ {w}" for w in check.warnings)])
    where = f"column {check.column}: " if check.column else ""
    text = f"❌ {where}{check.error}"
    if check.column and len(query) <= CARET_MAX:
        text += f"\n{FENCE}\n{query}\n{' ' * (check.column - 1)}^\n{FENCE}"
    return text


def backtest_text(backtest: Backtest) -> str:
    """Matches per day as bars, oldest day first, then up to three example headlines."""
    count = f"{backtest.total}" if backtest.exact else f"about {backtest.total}"
    lines = [f"**Backtest: {count} matching articles over the last {len(backtest.days)} days**"]
    peak = max((n for _, n in backtest.days), default=0) or 1
    for day, n in backtest.days:
        bar = "▇" * round(BAR * n / peak) if n else "·"
        lines.append(f"`{day.strftime('%a %d %b')}` {bar} {n}")
    for title, url in backtest.examples:
        headline = clip(title, 150).replace("[", "(").replace("]", ")")
        lines.append(f"• [{headline}]({url})" if url.startswith("https://") else f"• {headline}")
    if not backtest.examples:
        lines.append("*No article matched: nothing would have alerted.*")
    return "\n".join(lines)


def editor_embeds(editor: RuleEditor) -> list[discord.Embed]:
    """A submitted form: the form, then its check and (when it parses) its backtest."""
    parts = [check_text(one_line(editor.form.query), editor.check)]
    if editor.backtest is not None:
        parts.append(backtest_text(editor.backtest))
    if editor.check.ok and not editor.can_save:
        parts.append("Only members with Manage Server and this team's peacewatch admins can save.")
    form = form_embed(editor.form)
    room = min(DESCRIPTION_MAX, EMBED_TOTAL_MAX - len(form))  # one message's embeds share 6000
    result = discord.Embed(
        description=clip("\n\n".join(parts), room),
        colour=OK_COLOUR if editor.check.ok else ERROR_COLOUR,
    )
    return [form, result]


def problem_embeds(form: RuleForm, problem: str) -> list[discord.Embed]:
    """A form with something other than its query wrong (the rule id, the outlets)."""
    return [form_embed(form), discord.Embed(description=f"❌ {problem}", colour=ERROR_COLOUR)]
