"""The rule editor modal: opened from App Home, re-rendered as the query changes, saved by admins.

The query input dispatches an action on each change; the modal is then updated with the query's
check (the error and its column) and a backtest preview over the last 7 days. Saving runs the
service's ``save_rule``, which refuses non-admins and changes nothing for them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from peacewatch.bot.slack_adapter.blocks import clip, escape, link, reply_message
from peacewatch.bot.slack_adapter.home import ACTION_RULE_EDIT, ACTION_RULE_NEW, ACTION_RULE_SUGGEST
from peacewatch.bot.slack_adapter.homes import HomePublisher
from peacewatch.services.commands import CommandService
from peacewatch.services.replies import Caller, Reply
from peacewatch.services.views import Backtest, QueryCheck, RuleEditor, RuleForm

log = logging.getLogger(__name__)

CALLBACK_RULE_MODAL = "pw_rule_modal"
BLOCK_ID, ACTION_ID = "pw_rid", "pw_rule_id"
BLOCK_QUERY, ACTION_QUERY = "pw_query", "pw_rule_query"
BLOCK_CHECK, BLOCK_PREVIEW = "pw_check", "pw_preview"
BLOCK_CHANNELS, ACTION_CHANNELS = "pw_channels", "pw_rule_channels"
BLOCK_MIN, ACTION_MIN = "pw_min", "pw_rule_min"
BLOCK_DIGEST, ACTION_DIGEST = "pw_digest", "pw_rule_digest"
DIGEST_LABELS = {"none": "No digest: alert as stories come", "hourly": "Hourly", "daily": "Daily"}
BAR = 20

Block = dict[str, Any]
CallerOf = Callable[[AsyncWebClient, dict[str, Any]], Awaitable[Caller]]


def _text(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def _option(value: str) -> Block:
    return {"text": _text(DIGEST_LABELS[value]), "value": value}


def check_text(query: str, check: QueryCheck) -> str:
    """The query's check in mrkdwn: ok (with warnings), or the error under a caret."""
    if check.ok:
        lines = [":white_check_mark: The query parses."]
        lines += [f":warning: {escape(w)}" for w in check.warnings]
        return "\n".join(lines)
    where = f"column {check.column}: " if check.column else ""
    text = f":x: {where}{escape(check.error)}"
    if check.column and len(query) <= 200 and "\n" not in query:
        text += f"\n```{escape(query)}\n{' ' * (check.column - 1)}^```"
    return text


def preview_text(backtest: Backtest | None) -> str:
    """The backtest in mrkdwn: matches per day as bars, then three example headlines."""
    if backtest is None:
        return "_The backtest shows once the query parses._"
    count = f"{backtest.total}" if backtest.exact else f"about {backtest.total}"
    lines = [f"*Backtest: {count} matching articles over the last {len(backtest.days)} days*"]
    peak = max((n for _, n in backtest.days), default=0) or 1
    for day, n in backtest.days:
        bar = "▇" * round(BAR * n / peak) if n else "·"
        lines.append(f"`{day.strftime('%a %d %b')}` {bar} {n}")
    lines += [f"• {link(url, clip(title, 150))}" for title, url in backtest.examples]
    if not backtest.examples:
        lines.append("_No article matched: nothing would have alerted._")
    return "\n".join(lines)


def rule_modal(editor: RuleEditor) -> dict[str, Any]:
    """The modal for ``views.open`` / ``views.update``, checked against Block Kit's limits."""
    form = editor.form
    blocks: list[Block] = []
    if form.existing:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Rule* `{form.rule_id}`"}}
        )
    else:
        element: Block = {"type": "plain_text_input", "action_id": ACTION_ID, "max_length": 64}
        if form.rule_id:
            element["initial_value"] = form.rule_id
        blocks.append(
            {"type": "input", "block_id": BLOCK_ID, "label": _text("Rule id"), "element": element}
        )
    query: Block = {
        "type": "plain_text_input",
        "action_id": ACTION_QUERY,
        "multiline": False,
        "max_length": 2000,
        "placeholder": _text('Witkoff AND (Donbas OR "security guarantees")'),
        "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
    }
    if form.query:
        query["initial_value"] = form.query
    slack_channels = [c.partition(":")[2] for c in form.channels if c.startswith("slack:")]
    channels: Block = {"type": "multi_conversations_select", "action_id": ACTION_CHANNELS}
    channels["filter"] = {"include": ["public", "private"], "exclude_bot_users": True}
    if slack_channels:
        channels["initial_conversations"] = slack_channels
    blocks += [
        {
            "type": "input",
            "block_id": BLOCK_QUERY,
            "label": _text("Query"),
            "dispatch_action": True,
            "element": query,
        },
        {
            "type": "context",
            "block_id": BLOCK_CHECK,
            "elements": [{"type": "mrkdwn", "text": check_text(form.query, editor.check)}],
        },
        {
            "type": "section",
            "block_id": BLOCK_PREVIEW,
            "text": {"type": "mrkdwn", "text": clip(preview_text(editor.backtest), 3000)},
        },
        {
            "type": "input",
            "block_id": BLOCK_CHANNELS,
            "label": _text("Post to"),
            "optional": True,
            "element": channels,
        },
        {
            "type": "input",
            "block_id": BLOCK_MIN,
            "label": _text("Alert when this many outlets carry the story"),
            "element": {
                "type": "number_input",
                "action_id": ACTION_MIN,
                "is_decimal_allowed": False,
                "min_value": "1",
                "max_value": "100",
                "initial_value": str(form.min_sources),
            },
        },
        {
            "type": "input",
            "block_id": BLOCK_DIGEST,
            "label": _text("Digest"),
            "element": {
                "type": "static_select",
                "action_id": ACTION_DIGEST,
                "options": [_option(v) for v in DIGEST_LABELS],
                "initial_option": _option(form.digest if form.digest in DIGEST_LABELS else "none"),
            },
        },
    ]
    if not editor.can_save:
        note = "Only workspace admins and this team's peacewatch admins can save rules."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    view = View(
        type="modal",
        callback_id=CALLBACK_RULE_MODAL,
        title=_text("Edit rule" if form.existing else "New rule"),
        submit=_text("Save"),
        close=_text("Cancel"),
        private_metadata=json.dumps({"rule": form.rule_id if form.existing else ""}),
        blocks=blocks,
    )
    return view.to_dict()


def reply_modal(reply: Reply) -> dict[str, Any]:
    """A command's answer shown in a modal (App Home has no channel to answer in)."""
    view = View(
        type="modal",
        title=_text("Rule refinement"),
        close=_text("Close"),
        blocks=list(reply_message(reply).blocks),
    )
    return view.to_dict()


def working_modal(rule_id: str) -> dict[str, Any]:
    """The modal shown while a suggestion is worked out (it is then updated with the answer)."""
    text = f":hourglass_flowing_sand: Working on a suggestion for `{escape(clip(rule_id, 64))}`…"
    view = View(
        type="modal",
        title=_text("Rule refinement"),
        close=_text("Close"),
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "It backtests refinements on the rule's alerts: this can take "
                        "a few seconds. The answer replaces this text.",
                    }
                ],
            },
        ],
    )
    return view.to_dict()


def form_from_view(view: dict[str, Any]) -> RuleForm:
    """The form as the user left it in the modal (its state values and metadata)."""
    values: dict[str, dict[str, Any]] = (view.get("state") or {}).get("values") or {}

    def value(block: str, action: str) -> dict[str, Any]:
        return dict((values.get(block) or {}).get(action) or {})

    meta = json.loads(view.get("private_metadata") or "{}")
    saved = str(meta.get("rule", ""))
    rule_id = saved or str(value(BLOCK_ID, ACTION_ID).get("value") or "").strip()
    minimum = str(value(BLOCK_MIN, ACTION_MIN).get("value") or "1")
    digest = (value(BLOCK_DIGEST, ACTION_DIGEST).get("selected_option") or {}).get("value")
    return RuleForm(
        rule_id=rule_id,
        query=str(value(BLOCK_QUERY, ACTION_QUERY).get("value") or ""),
        channels=tuple(
            f"slack:{c}"
            for c in value(BLOCK_CHANNELS, ACTION_CHANNELS).get("selected_conversations") or ()
        ),
        min_sources=int(minimum) if minimum.isdigit() else 0,
        digest=str(digest or "none"),
        existing=bool(saved),
    )


class RuleEditorHandlers:
    """Bolt listeners of the rule editor: open, update as the query changes, save."""

    def __init__(self, commands: CommandService, caller_of: CallerOf, homes: HomePublisher) -> None:
        self._commands = commands
        self._caller_of = caller_of
        self._homes = homes

    def register(self, app: AsyncApp) -> None:
        app.action(ACTION_RULE_NEW)(self.on_open)
        app.action(ACTION_RULE_EDIT)(self.on_open)
        app.action(ACTION_RULE_SUGGEST)(self.on_suggest)
        app.action(ACTION_QUERY)(self.on_query)
        app.view(CALLBACK_RULE_MODAL)(self.on_submit)

    async def on_open(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        caller = await self._caller_of(client, body)
        action = (body.get("actions") or [{}])[0]
        rule_id = (
            str(action.get("value", "")) if action.get("action_id") == ACTION_RULE_EDIT else ""
        )
        form = await self._commands.rule_form(caller, rule_id)
        editor = await self._commands.rule_editor(caller, form)
        await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=rule_modal(editor))

    async def on_suggest(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Open a "working" modal at once (a trigger_id expires 3 s after the click, and a
        suggestion over many alerts takes longer), then put the suggestion in it."""
        await ack()
        rule_id = str((body.get("actions") or [{}])[0].get("value", ""))
        opened = await client.views_open(
            trigger_id=str(body.get("trigger_id", "")), view=working_modal(rule_id)
        )
        view_id = str((opened.get("view") or {}).get("id", ""))
        try:
            caller = await self._caller_of(client, body)
            reply = await self._commands.rules_suggest(caller, rule_id)
        except Exception:  # the open modal must not keep saying "working" for ever
            log.exception("rules suggest from App Home failed")
            reply = Reply.fail("Something went wrong on our side; the error is logged.")
        await client.views_update(view_id=view_id, view=reply_modal(reply))

    async def on_query(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body.get("view") or {}
        caller = await self._caller_of(client, body)
        editor = await self._commands.rule_editor(caller, form_from_view(view))
        try:
            await client.views_update(
                view_id=str(view.get("id", "")), hash=view.get("hash"), view=rule_modal(editor)
            )
        except SlackApiError as exc:  # a newer keystroke's update won (hash_conflict): fine
            log.info("rule editor update skipped: %s", exc.response.get("error"))

    async def on_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form = form_from_view(view)
        caller = await self._caller_of(client, body)
        reply = await self._commands.save_rule(caller, form)
        if reply.error:
            block = BLOCK_QUERY if "query" in reply.text.lower() or "admin" in reply.text else None
            if block is None:
                block = BLOCK_ID if "rule id" in reply.text else BLOCK_CHANNELS
            if "outlets" in reply.text or "min_sources" in reply.text:
                block = BLOCK_MIN
            await ack(response_action="errors", errors={block: clip(reply.text, 300)})
            return
        await ack()
        self._homes.refresh(client, caller.team_id)
