"""The App Home tab in Block Kit: a ``Home`` view model rendered and checked by slack_sdk."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from slack_sdk.models.views import View

from peacewatch.bot.slack_adapter.blocks import clip, escape, link
from peacewatch.services.parsing import show_destination
from peacewatch.services.views import Home

ACTION_RULE_NEW = "pw_rule_new"
ACTION_RULE_EDIT = "pw_rule_edit"
ACTION_RULE_SUGGEST = "pw_rule_suggest"
MAX_HOME_BLOCKS = 100
LINES_PER_SECTION = 10
SECTION_TEXT = 3000

Block = dict[str, Any]


_SLACK_CHANNEL = re.compile(r"slack:([CG][A-Z0-9]{2,30})")


def _channel(destination: str) -> str:
    """A destination as the home shows it: a Slack channel as a mention (Slack shows its name,
    never the id), anything else as text (a webhook's token masked)."""
    found = _SLACK_CHANNEL.fullmatch(destination)
    if found:
        return f"<#{found.group(1)}>"
    return escape(show_destination(destination))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %H:%M UTC") if moment else "none in 30 days"


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150)}}


def _section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}]}


def _button(text: str, action_id: str, value: str = "", primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, 75)},
        "action_id": action_id,
    }
    if value:
        button["value"] = value[:2000]
    if primary:
        button["style"] = "primary"
    return button


def _lines(lines: list[str], empty: str) -> list[Block]:
    """Lines in sections of ``LINES_PER_SECTION``; ``empty`` as a context when there are none."""
    if not lines:
        return [_context(empty)]
    return [
        _section("\n".join(lines[i : i + LINES_PER_SECTION]))
        for i in range(0, len(lines), LINES_PER_SECTION)
    ]


def _rule_blocks(home: Home) -> list[Block]:
    blocks: list[Block] = []
    for rule in home.rules:
        state = f":zzz: muted until {_when(rule.muted_until)}" if rule.muted_until else "active"
        channels = ", ".join(_channel(c) for c in rule.channels) or "no channel"
        text = (
            f"*{escape(rule.rule_id)}* · {state}\n`{escape(clip(rule.query, 500))}`\n"
            f"{rule.hits_7d} alerts in 7 days · last alert: {_when(rule.last_alert)} · {channels}"
        )
        buttons = [_button("Edit", ACTION_RULE_EDIT, rule.rule_id)] if home.can_edit else []
        buttons.append(_button("Suggest a refinement", ACTION_RULE_SUGGEST, rule.rule_id))
        blocks += [_section(text), {"type": "actions", "elements": buttons}]
    if not blocks:
        blocks.append(_context("No rules yet: /peacewatch rules add ID QUERY #channel"))
    elif home.rule_count > len(home.rules):
        blocks.append(_context(f"{home.rule_count - len(home.rules)} more: /peacewatch rules list"))
    return blocks


def _follow_blocks(home: Home) -> list[Block]:
    lines = [
        f"*{escape(f.follow_id)}* · `{escape(clip(f.query, 200))}` · since {_when(f.since)}"
        + (f"\n:x: failing: {escape(clip(f.failing, 300))}" if f.failing else "")
        for f in home.follows
    ]
    if not lines:
        return [
            _context(
                "You follow nothing yet: /peacewatch follow actor:witkoff sends you a direct "
                "message for each new story that matches."
            )
        ]
    return [*_lines(lines, ""), _context("Stop one: /peacewatch unfollow ID")]


def home_view(home: Home) -> dict[str, Any]:
    """The App Home view for ``views.publish``; raises SlackObjectFormationError if it would
    break a Block Kit limit."""
    blocks: list[Block] = [
        _header("peacewatch: your team's watch"),
        _context(
            f"Updated {home.generated.strftime('%Y-%m-%d %H:%M UTC')} · {home.rule_count} rules"
            f" · {home.feed_count} feeds"
        ),
    ]
    if home.can_edit:
        blocks.append(
            {"type": "actions", "elements": [_button("New rule", ACTION_RULE_NEW, primary=True)]}
        )
    blocks += [_header("Rules"), *_rule_blocks(home), {"type": "divider"}]
    blocks += [_header("Your follows"), *_follow_blocks(home), {"type": "divider"}]
    blocks.append(_header("Feeds"))
    feeds = [
        (
            (f":white_check_mark: {link(f.url, f.name)} · last poll {f.last_poll}")
            if f.ok
            else f":warning: {link(f.url, f.name)} · failing: {escape(clip(f.error, 200))}"
            f" · last poll {f.last_poll}"
        )
        + (f"\n:warning: {escape(clip(f.warning, 200))}" if f.warning else "")
        for f in home.feeds
    ]
    blocks += _lines(feeds, "No feeds: /peacewatch feeds add URL")
    blocks += [{"type": "divider"}, _header("Delivery")]
    channels = [
        f":white_check_mark: {_channel(c.destination)} · ok"
        + (f" · {c.waiting} waiting" if c.waiting else "")
        if c.ok
        else f":x: {_channel(c.destination)} · failing since {c.since}"
        f" · {c.waiting} waiting · {escape(clip(c.error, 200))}"
        for c in home.channels
    ]
    blocks += _lines(channels, "No channel yet: rules name the channels they post to.")
    blocks += [{"type": "divider"}, _header("Today's top stories")]
    stories = [
        f"• {link(s.link, clip(s.headline, 200))} · {s.outlets} outlets · "
        + escape(", ".join(s.rules))
        for s in home.stories
    ]
    blocks += _lines(stories, "No alerts in the last 24 hours.")
    view = View(type="home", blocks=blocks[:MAX_HOME_BLOCKS])
    view.validate_json()
    return view.to_dict()
