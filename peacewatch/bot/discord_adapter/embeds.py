"""Alerts and replies as Discord embeds and components, always inside Discord's size limits."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import discord

from peacewatch.bot.replies import Reply
from peacewatch.models import Alert, AlertKind, Severity
from peacewatch.pipeline.headlines import NOTE_KEY
from peacewatch.pipeline.render import (
    entities_by_kind,
    is_merge_note,
    is_update,
    outlet_reports,
    outlet_total,
    outlets_line,
    own_source,
    rule_label,
    source_name,
)
from peacewatch.pipeline.severity import current_severity, level, outlet_points, text_points
from peacewatch.pipeline.wording import matched_words

# Discord's limits (developers/resources/message.mdx, §Embed Limits).
TITLE_MAX: Final = 256
DESCRIPTION_MAX: Final = 4096
FIELDS_MAX: Final = 25
FIELD_NAME_MAX: Final = 256
FIELD_VALUE_MAX: Final = 1024
FOOTER_MAX: Final = 2048
AUTHOR_MAX: Final = 256
EMBED_TOTAL_MAX: Final = 6000
CONTENT_MAX: Final = 2000
THREAD_NAME_MAX: Final = 100
CUSTOM_ID_MAX: Final = 100
LINK_URL_MAX: Final = 512

SEVERITY_COLOUR: Final = {
    Severity.LOW: discord.Colour(0x9AA0A6),
    Severity.NORMAL: discord.Colour(0x1A73E8),
    Severity.HIGH: discord.Colour(0xD93025),
}
REPLY_COLOUR: Final = discord.Colour(0x1A73E8)
ERROR_COLOUR: Final = discord.Colour(0xE8710A)

OUTLETS_FIELD: Final = "Outlets"
SEVERITY_FIELD: Final = "Severity"
OLD_SOURCES_FIELD: Final = "Sources"
"""Embeds posted by earlier versions listed the outlets in a field of their own."""
SOURCES_SHOWN: Final = 5

FeedbackKind = Literal["mute_story", "not_relevant"]
FEEDBACK_LABELS: Final[dict[FeedbackKind, str]] = {
    "mute_story": "Mute this story",
    "not_relevant": "Not relevant",
}
FEEDBACK_ID_RE: Final = re.compile(
    r"pw:fb:(?P<kind>mute_story|not_relevant):(?P<story>[A-Za-z0-9_.-]{1,40}):(?P<alert>[A-Za-z0-9_.-]{0,40})"
)
"""The custom_id of a feedback button: kind, story id and (when it fits) alert id."""


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marking the cut with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def fit(embed: discord.Embed, budget: int = EMBED_TOTAL_MAX) -> discord.Embed:
    """Shrink ``embed`` until its countable text fits ``budget``: the description first, then
    trailing fields (their number is noted in the footer)."""
    over = len(embed) - budget
    if over > 0 and embed.description:
        keep = max(len(embed.description) - over - 1, 0)
        embed.description = clip(embed.description, keep) if keep else None
    dropped = 0
    while len(embed) > budget and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
        dropped += 1
    if dropped:
        note = f"{dropped} more not shown"
        footer = embed.footer.text
        embed.set_footer(text=clip(f"{footer} · {note}" if footer else note, FOOTER_MAX))
    if len(embed) > budget and embed.footer.text:
        embed.set_footer(text=None)
    return embed


def _when(alert: Alert) -> datetime | None:
    own = own_source(alert)
    return own.published if own else alert.created


def outlets_value(alert: Alert) -> str:
    """The story's outlets: "Reported by N outlets:" (for more than one), then one line per
    outlet in the order they reported, its name linking its first report and its later
    reports following as "update" links, oldest first; the alert's own outlet is always
    listed, the rest past ``SOURCES_SHOWN`` are counted."""
    outlets = outlet_reports(alert)
    listed = outlets[:SOURCES_SHOWN]
    own = own_source(alert)
    if own is not None and len(outlets) > SOURCES_SHOWN:
        mine = next((o for o in outlets if any(r.link == own.link for r in o.reports)), None)
        if mine is not None and mine not in listed:
            listed = [*outlets[: SOURCES_SHOWN - 1], mine]
    total = outlet_total(alert)
    lines = [f"Reported by {total} outlets:"] if total > 1 else []
    budget = FIELD_VALUE_MAX - len("\nand 9999 more") - len(lines[0] if lines else "")
    shown = 0
    for outlet in listed:
        name = clip(outlet.name, 80).replace("]", ")").replace("[", "(")
        links = [
            f"[{name if i == 0 else 'update'}]({r.link})" if _linkable(r.link) else name
            for i, r in enumerate(outlet.reports)
        ]
        line = ", ".join(links) or name
        if len(line) + 1 > budget:
            line = name  # a link cut short would break: the name alone
            if len(line) + 1 > budget:
                break
        budget -= len(line) + 1
        lines.append(line)
        shown += 1
    more = total - shown
    if more > 0:
        lines.append(f"and {more} more")
    return clip("\n".join(lines), FIELD_VALUE_MAX)


def _linkable(url: str) -> bool:
    return url.startswith(("https://", "http://")) and len(url) <= LINK_URL_MAX


def _add_entities(embed: discord.Embed, alert: Alert) -> None:
    for title, names in entities_by_kind(alert).items():
        embed.add_field(name=title, value=clip(", ".join(names), FIELD_VALUE_MAX))


def alert_embed(alert: Alert) -> discord.Embed:
    """The embed of a new alert: linked headline (once), summary, what matched as the article
    wrote it, who is named, severity (also as colour), the story's outlets, its newest time."""
    severity = current_severity(alert)
    note = alert.extra.get(NOTE_KEY)  # a Ukrainian or Russian headline, translated or its language
    description = f"*{note}*\n\n{alert.summary}" if note else alert.summary
    embed = discord.Embed(
        title=clip(alert.headline or "(no headline)", TITLE_MAX),
        url=alert.link if _linkable(alert.link) else None,
        description=clip(description, DESCRIPTION_MAX) or None,
        colour=SEVERITY_COLOUR[severity],
        timestamp=_when(alert),
    )
    words = matched_words(alert)
    if words:
        embed.add_field(name="Matched", value=clip(", ".join(words), FIELD_VALUE_MAX))
    _add_entities(embed, alert)
    embed.add_field(name=SEVERITY_FIELD, value=severity.value.capitalize())
    embed.add_field(name=OUTLETS_FIELD, value=outlets_value(alert), inline=False)
    embed.set_footer(text=clip(f"peacewatch · {rule_label(alert)}", FOOTER_MAX))
    return fit(embed)


def followup_embed(alert: Alert) -> discord.Embed:
    """The embed of a follow-up posted in the story's thread: which outlet (always named), its
    headline, what it adds, the story's outlets now."""
    own = own_source(alert)
    outlet = source_name(own) if own else ""
    severity = current_severity(alert)
    embed = discord.Embed(
        title=clip(alert.headline or "(no headline)", TITLE_MAX),
        url=alert.link if _linkable(alert.link) else None,
        description=clip(alert.summary, DESCRIPTION_MAX) or None,
        colour=SEVERITY_COLOUR[severity],
        timestamp=_when(alert),
    )
    label = "Update" if is_update(alert) else "Follow-up"
    embed.set_author(name=clip(f"{label} · {outlet}" if outlet else label, AUTHOR_MAX))
    if alert.extra.get("adds"):
        embed.add_field(name="Adds", value=clip(alert.extra["adds"], FIELD_VALUE_MAX), inline=False)
    words = matched_words(alert)
    if words:
        embed.add_field(name="Matched", value=clip(", ".join(words), FIELD_VALUE_MAX))
    embed.add_field(name=SEVERITY_FIELD, value=severity.value.capitalize())
    embed.add_field(
        name=OUTLETS_FIELD, value=clip(outlets_line(alert), FIELD_VALUE_MAX), inline=False
    )
    return fit(embed)


def message_link(team_id: str, ref: str) -> str:
    """A link to a posted message from its reference (``CHANNEL/MESSAGE``); empty if unknown."""
    guild = team_id.removeprefix("discord:")
    channel, _, message = ref.partition("/")
    if not (guild.isdigit() and channel.isdigit() and message.isdigit()):
        return ""
    return f"https://discord.com/channels/{guild}/{channel}/{message}"


def merge_note_embed(alert: Alert) -> discord.Embed:
    """The note left in a merged story's thread, linking the surviving alert."""
    target = message_link(alert.team_id, alert.extra.get("merged_ref", "")) or alert.link
    return discord.Embed(
        title=clip(f"Merged into: {alert.headline}", TITLE_MAX),
        url=target if _linkable(target) else None,
        description="This story continues in that thread; later coverage goes there.",
    )


def message_embed(alert: Alert, parent_missing: bool = False) -> discord.Embed:
    """The embed for ``alert`` as posted: a follow-up without a thread to go to is shown whole."""
    if is_merge_note(alert):
        return merge_note_embed(alert)
    if alert.kind is AlertKind.FOLLOWUP and not parent_missing:
        return followup_embed(alert)
    return alert_embed(alert)


def with_outlets(embed: dict[str, Any], alert: Alert) -> dict[str, Any]:
    """A copy of a posted alert embed (as Discord returned it) listing the outlets that carry
    the story now (``alert`` is the story's latest alert, which holds them all), and at what
    severity: the posted story's own points (its headline, summary and domain) with the
    points of the new outlet count, never below what it showed."""
    updated = dict(embed)
    value = outlets_value(alert)
    fields = [dict(f) for f in updated.get("fields", []) if f.get("name") != OLD_SOURCES_FIELD]
    shown = next((f.get("value", "") for f in fields if f.get("name") == SEVERITY_FIELD), "")
    floor = Severity(shown.lower()) if shown.lower() in Severity._value2member_map_ else None
    url = str(updated.get("url") or "")
    points = text_points(
        str(updated.get("title") or ""), str(updated.get("description") or ""), _domain(url)
    )
    severity = level(points + outlet_points(outlet_total(alert)), floor)
    for field in fields:
        if field.get("name") == SEVERITY_FIELD:
            field["value"] = severity.value.capitalize()
    for field in fields:
        if field.get("name") == OUTLETS_FIELD:
            field["value"] = value
            break
    else:
        fields.append({"name": OUTLETS_FIELD, "value": value, "inline": False})
    updated["fields"] = fields[:FIELDS_MAX]
    updated["color"] = SEVERITY_COLOUR[severity].value
    # The edited embed must pass the same total limit as a new one.
    return as_dict(fit(discord.Embed.from_dict(updated)))


def _domain(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def as_dict(embed: discord.Embed) -> dict[str, Any]:
    """The embed as the JSON object Discord takes."""
    return dict(embed.to_dict())


def thread_name(alert: Alert) -> str:
    """A story thread's name: the headline of the story's first article."""
    first = alert.sources[0].title if alert.sources else ""
    return clip(first or alert.headline or "News story", THREAD_NAME_MAX)


def feedback_custom_id(kind: FeedbackKind, story_id: str, alert_id: str) -> str:
    """The custom_id of a feedback button; the alert id is left out when it would not fit."""
    custom_id = f"pw:fb:{kind}:{story_id}:{alert_id}"
    if len(custom_id) > CUSTOM_ID_MAX or not FEEDBACK_ID_RE.fullmatch(custom_id):
        custom_id = f"pw:fb:{kind}:{story_id}:"
    return custom_id


def alert_components(alert: Alert) -> list[dict[str, Any]]:
    """One row of buttons: "Mute this story", "Not relevant", and a link to the article."""
    buttons: list[discord.ui.Button[Any]] = [
        discord.ui.Button(
            style=discord.ButtonStyle.secondary,
            label=label,
            custom_id=feedback_custom_id(kind, alert.story_id, alert.alert_id),
        )
        for kind, label in FEEDBACK_LABELS.items()
    ]
    if _linkable(alert.link):
        buttons.append(
            discord.ui.Button(style=discord.ButtonStyle.link, label="Read", url=alert.link)
        )
    return [{"type": 1, "components": [b.to_component_dict() for b in buttons]}]


def _item_value(text: str, meta: str, link: str) -> str:
    lines = [clip(text, 700)] if text else []
    if meta:
        lines.append(f"*{clip(meta, 200)}*")
    if _linkable(link):
        lines.append(link)
    return clip("\n".join(lines), FIELD_VALUE_MAX) or "\u200b"


def reply_embeds(reply: Reply) -> list[discord.Embed]:
    """A command's answer as one embed: its items as fields (at most 25, within 6000 chars)."""
    embed = discord.Embed(
        title=clip(reply.title, TITLE_MAX) or None,
        description=clip(reply.text, DESCRIPTION_MAX) or None,
        colour=ERROR_COLOUR if reply.error else REPLY_COLOUR,
    )
    for item in reply.items[:FIELDS_MAX]:
        embed.add_field(
            name=clip(item.title, FIELD_NAME_MAX) or "\u200b",
            value=_item_value(item.text, item.meta, item.link),
            inline=False,
        )
    footer = reply.footer
    hidden = len(reply.items) - FIELDS_MAX
    if hidden > 0:
        footer = f"{footer} · {hidden} more not shown" if footer else f"{hidden} more not shown"
    if footer:
        embed.set_footer(text=clip(footer, FOOTER_MAX))
    if reply.image is not None:
        embed.set_image(url=f"attachment://{image_name(reply)}")
    return [fit(embed)]


def image_name(reply: Reply) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", reply.image_name or "chart.png")
    return name if name.lower().endswith(".png") else f"{name}.png"


def reply_file(reply: Reply) -> discord.File | None:
    """The reply's image (a trend chart) as an attachment, or None."""
    if reply.image is None:
        return None
    return discord.File(io.BytesIO(reply.image), filename=image_name(reply))
