"""Block Kit rendering of alerts and command replies, kept inside Slack's size limits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peacewatch.bot.replies import Reply, ReplyItem
from peacewatch.models import Alert, AlertKind, Severity, SourceRef
from peacewatch.pipeline.headlines import NOTE_KEY
from peacewatch.pipeline.render import (
    alert_text,
    entities_by_kind,
    is_merge_note,
    is_update,
    merge_note_text,
    outlet_reports,
    outlet_total,
    outlets_line,
    own_source,
    rule_label,
    source_name,
)
from peacewatch.pipeline.severity import current_severity
from peacewatch.pipeline.wording import matched_words

Block = dict[str, Any]

# Slack's published limits (docs.slack.dev, Block Kit reference and chat.postMessage).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 4000

ACTION_MUTE_STORY = "pw_mute_story"
ACTION_NOT_RELEVANT = "pw_not_relevant"
FEEDBACK_ACTIONS = {ACTION_MUTE_STORY: "mute_story", ACTION_NOT_RELEVANT: "not_relevant"}

SEVERITY_LABEL = {
    Severity.LOW: ":white_circle: Low",
    Severity.NORMAL: ":large_blue_circle: Normal",
    Severity.HIGH: ":red_circle: High",
}
_MAX_OUTLET_LINES = 12


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """What ``chat.postMessage`` / ``chat.update`` / ``respond`` need: fallback text and blocks."""

    text: str
    blocks: tuple[Block, ...]

    def kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)}


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when something was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def escape(text: str) -> str:
    """Text safe inside mrkdwn: Slack reads ``&``, ``<`` and ``>`` as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label loses the characters that would end the link early."""
    label = escape(label.replace("|", "¦")) or url
    if not url.startswith(("http://", "https://")):
        return label
    return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{label}>"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}


def _context(*texts: str) -> Block:
    elements = [{"type": "mrkdwn", "text": clip(t, MAX_SECTION_TEXT)} for t in texts if t][
        :MAX_CONTEXT_ELEMENTS
    ]
    return {"type": "context", "elements": elements}


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b %H:%M UTC")


def button_value(alert: Alert) -> str:
    """The buttons' value: the story and alert ids the feedback command needs."""
    return clip(json.dumps({"story": alert.story_id, "alert": alert.alert_id}), MAX_BUTTON_VALUE)


def parse_button_value(value: str) -> tuple[str, str]:
    """``(story_id, alert_id)`` from a button value; ValueError if it is not ours."""
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("story"), str):
        raise ValueError("not a peacewatch button value")
    alert_id = data.get("alert", "")
    return data["story"], alert_id if isinstance(alert_id, str) else ""


def _buttons(alert: Alert) -> Block:
    value = button_value(alert)
    return {
        "type": "actions",
        "block_id": "pw_feedback",
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_MUTE_STORY,
                "text": {"type": "plain_text", "text": "Mute this story"},
                "value": value,
            },
            {
                "type": "button",
                "action_id": ACTION_NOT_RELEVANT,
                "text": {"type": "plain_text", "text": "Not relevant"},
                "value": value,
            },
        ],
    }


def _report_links(reports: tuple[SourceRef, ...], name: str) -> str:
    """An outlet's reports, oldest first: its name links the first, "update" the later ones."""
    parts = []
    for i, report in enumerate(reports):
        label = name if i == 0 else "update"
        parts.append(f"{link(report.link, label)} · {_when(report.published)}")
    return ", ".join(parts) if parts else escape(name)


def _outlets_section(alert: Alert) -> Block:
    total = outlet_total(alert)
    outlets = outlet_reports(alert)
    lines = [f"*Reported by {total} outlets*" if total > 1 else "*Source*"]
    listed = outlets[:_MAX_OUTLET_LINES]
    own = own_source(alert)
    if own is not None and len(outlets) > _MAX_OUTLET_LINES:
        mine = next(o for o in outlets if any(r.link == own.link for r in o.reports))
        if mine not in listed:
            listed = [*outlets[: _MAX_OUTLET_LINES - 1], mine]
    budget = MAX_SECTION_TEXT - len(lines[0]) - len("\n…and 9999 more")
    shown = 0
    for outlet in listed:
        line = f"• {_report_links(outlet.reports, outlet.name)}"
        if len(line) + 1 > budget:
            line = f"• {escape(outlet.name)}"  # a link cut short would break: the name alone
            if len(line) + 1 > budget:
                break
        budget -= len(line) + 1
        lines.append(line)
        shown += 1
    if total > shown:
        lines.append(f"…and {total - shown} more")
    return _section("\n".join(lines))


def _field(title: str, values: list[str]) -> dict[str, str]:
    return {
        "type": "mrkdwn",
        "text": clip(f"*{title}*\n{escape(', '.join(values))}", MAX_FIELD_TEXT),
    }


def _matched_fields(alert: Alert) -> Block:
    fields = [{"type": "mrkdwn", "text": f"*Severity*\n{SEVERITY_LABEL[current_severity(alert)]}"}]
    words = matched_words(alert)
    if words:
        fields.append(_field("Matched", words))
    for title, names in entities_by_kind(alert).items():
        fields.append(_field(title, names))
    return {"type": "section", "fields": fields[:MAX_FIELDS]}


def fallback_text(alert: Alert) -> str:
    """The plain-text rendering shown in notifications and by clients without Block Kit."""
    return clip(alert_text(alert), MAX_FALLBACK_TEXT)


def _read_line(alert: Alert) -> str:
    own = own_source(alert)
    outlet = source_name(own) if own else ""
    label = f"Read at {outlet}" if outlet else "Read the article"
    when = f" · {_when(own.published)}" if own else ""
    return f"{link(alert.link, label)}{when}"


def alert_message(alert: Alert) -> SlackMessage:
    """The top-level message of a story: headline (once, as the header), summary and a link to
    the article, severity, what matched and who is named, the story's outlets, buttons."""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": clip(alert.headline or "News alert", MAX_HEADER_TEXT),
            },
        }
    ]
    if alert.extra.get(NOTE_KEY):  # a Ukrainian or Russian headline, translated or its language
        blocks.append(_context(escape(alert.extra[NOTE_KEY])))
    body = escape(alert.summary) + "\n" if alert.summary else ""
    blocks.append(_section(body + _read_line(alert)))
    blocks.append(_matched_fields(alert))
    blocks.append(_outlets_section(alert))
    blocks.append(_context(escape(rule_label(alert))))  # never an internal id
    blocks.append(_buttons(alert))
    return SlackMessage(fallback_text(alert), tuple(blocks[:MAX_BLOCKS]))


def followup_message(alert: Alert) -> SlackMessage:
    """A later article of the story, posted in the thread of its first alert: who reports it
    (always named), its headline linked, what it adds, the story's outlets now."""
    own = own_source(alert)
    outlet = source_name(own) if own else "Another outlet"
    label = "Update" if is_update(alert) else "Follow-up"
    body = f"*{label} from {escape(outlet)}:* *{link(alert.link, alert.headline or alert.link)}*"
    if alert.summary:
        body += "\n" + escape(alert.summary)
    if alert.extra.get("adds"):
        body += "\n*Adds:* " + escape(alert.extra["adds"])
    severity = current_severity(alert)
    notes = [SEVERITY_LABEL[severity]]
    if own is not None:
        notes.append(_when(own.published))
    notes.append(escape(outlets_line(alert)))
    words = matched_words(alert)
    if words:
        notes.append("Matched: " + escape(", ".join(words)))
    blocks = [_section(body), _context(*notes), _buttons(alert)]
    return SlackMessage(fallback_text(alert), tuple(blocks))


def permalink(ref: str) -> str:
    """A link to a posted message from its reference (``CHANNEL:TS``); empty if unknown."""
    channel, _, ts = ref.partition(":")
    if not channel or not ts:
        return ""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def merge_note_message(alert: Alert) -> SlackMessage:
    """The note left in a merged story's thread, linking the surviving alert."""
    target = permalink(alert.extra.get("merged_ref", "")) or alert.link
    headline = link(target, alert.headline) if target else escape(alert.headline)
    body = f"*Merged:* this story continues in the thread of {headline}; later coverage goes there."
    return SlackMessage(f"Merged: {merge_note_text(alert)}", (_section(body),))


def render_alert(alert: Alert, threaded: bool) -> SlackMessage:
    """The message for ``alert``: a thread reply for a follow-up with a parent, else top level."""
    if is_merge_note(alert):
        return merge_note_message(alert)
    if alert.kind is AlertKind.FOLLOWUP and threaded:
        return followup_message(alert)
    return alert_message(alert)


def _item_block(item: ReplyItem) -> Block:
    title = link(item.link, item.title) if item.link else escape(item.title)
    parts = [f"*{title}*"]
    if item.text:
        parts.append(escape(item.text))
    if item.meta:
        parts.append(f"_{escape(item.meta)}_")
    return _section("\n".join(parts))


def reply_text(reply: Reply) -> str:
    """A plain-text rendering of a command reply (fallback and notifications)."""
    lines = [reply.title]
    if reply.text:
        lines.append(reply.text)
    for item in reply.items:
        entry = f"• {item.title}"
        if item.link:
            entry += f" <{item.link}>"
        lines.append(entry)
        if item.text:
            lines.append(f"  {item.text}")
        if item.meta:
            lines.append(f"  {item.meta}")
    if reply.footer:
        lines.append(reply.footer)
    return clip("\n".join(lines), MAX_FALLBACK_TEXT)


def reply_message(reply: Reply) -> SlackMessage:
    """A command reply as blocks: title and text, one section per item, footer as context."""
    icon = ":warning: " if reply.error else ""
    head = f"{icon}*{escape(reply.title)}*"
    if reply.text:
        head += "\n" + escape(reply.text)
    blocks: list[Block] = [_section(head)]
    room = MAX_BLOCKS - 3  # the head, "…and N more" and the footer
    items = list(reply.items)
    for item in items[:room]:
        blocks.append(_item_block(item))
    if len(items) > room:
        blocks.append(_context(f"…and {len(items) - room} more"))
    if reply.footer:
        blocks.append(_context(escape(reply.footer)))
    return SlackMessage(reply_text(reply), tuple(blocks[:MAX_BLOCKS]))
