"""Block Kit rendering: checked with slack_sdk's own Block Kit models and their limits."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.blocks.basic_components import PlainTextObject
from slack_sdk.models.blocks.blocks import HeaderBlock, SectionBlock

from peacewatch.bot.replies import Reply, ReplyItem
from peacewatch.bot.slack_adapter.blocks import (
    ACTION_MUTE_STORY,
    ACTION_NOT_RELEVANT,
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    SlackMessage,
    alert_message,
    followup_message,
    parse_button_value,
    render_alert,
    reply_message,
)
from tests.fakes.slack_api import sample_alert


def validated(message: SlackMessage) -> list[dict[str, Any]]:
    """Parse every block with the SDK's models; ``to_dict`` runs their validators."""
    assert 0 < len(message.blocks) <= MAX_BLOCKS
    assert 0 < len(message.text) <= MAX_FALLBACK_TEXT
    out = []
    for raw in message.blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        round_trip = block.to_dict()
        assert round_trip["type"] == raw["type"]
        out.append(round_trip)
    return out


def test_the_sdk_validators_do_reject_oversized_blocks() -> None:
    # The checks below rely on these validators; prove they bite.
    with pytest.raises(SlackObjectFormationError):
        HeaderBlock(text=PlainTextObject(text="x" * 151)).to_dict()
    with pytest.raises(SlackObjectFormationError):
        SectionBlock(text="x" * 3001).to_dict()


def test_alert_has_headline_summary_matches_outlets_severity_and_buttons() -> None:
    alert = sample_alert(outlets=("BBC", "Reuters"), severity="high")
    blocks = validated(alert_message(alert))
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == alert.headline
    flat = str(blocks)
    assert "US envoy Steve Witkoff met" in flat
    assert "security guarantees" in flat and "witkoff, umerov" in flat
    assert "High" in flat
    assert "Reported by 2 outlets" in flat
    assert "<https://reuters.example/s1/1|Reuters> · 01 Dec 09:10 UTC" in flat
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == [ACTION_MUTE_STORY, ACTION_NOT_RELEVANT]
    assert [a["text"]["text"] for a in actions] == ["Mute this story", "Not relevant"]
    assert parse_button_value(actions[0]["value"]) == ("s1", "a1")


def test_single_source_alert_says_source_and_fallback_is_plain_text() -> None:
    alert = sample_alert()
    message = alert_message(alert)
    validated(message)
    assert "*Source*" in str(message.blocks)
    assert message.text.startswith("• [NORMAL] Witkoff meets Umerov")
    assert "https://bbc.example/s1/0" in message.text


def test_huge_alert_stays_within_every_limit() -> None:
    many = tuple(f"Outlet {i} " + "n" * 40 for i in range(300))
    alert = sample_alert(
        headline="H" * 1000,
        summary="Word & <tag> " * 2000,
        outlets=many,
        matched=tuple(f"term{i}" for i in range(2000)),
    )
    blocks = validated(alert_message(alert))
    assert len(blocks[0]["text"]["text"]) == 150
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    # mrkdwn control characters in user text are escaped, never read as links
    assert "&lt;tag&gt;" in str(blocks) and "<tag>" not in str(blocks)
    assert len(alert_message(alert).text) <= MAX_FALLBACK_TEXT


def test_followup_is_compact_and_counts_outlets() -> None:
    alert = sample_alert(kind="followup", alert_id="a2", outlets=("BBC", "Reuters", "Meduza"))
    message = render_alert(alert, threaded=True)
    assert message == followup_message(alert)
    blocks = validated(message)
    flat = str(blocks)
    assert "Follow-up" in flat and "Meduza · 01 Dec 09:20 UTC" in flat
    assert "Reported by 3 outlets" in flat
    assert not any(b["type"] == "header" for b in blocks)
    # without a thread to go into, a follow-up is a full top-level alert
    assert render_alert(alert, threaded=False) == alert_message(alert)


def test_link_labels_cannot_break_out_of_the_link() -> None:
    alert = sample_alert(headline="A|B>C <!channel>")
    section = validated(alert_message(alert))[1]["text"]["text"]
    assert "<!channel>" not in section
    assert "|A¦B&gt;C &lt;!channel&gt;>" in section


def test_reply_with_many_items_is_cut_to_fifty_blocks() -> None:
    reply = Reply(
        title="Latest",
        text="Stories",
        items=tuple(
            ReplyItem(f"Story {i}", f"https://x.example/{i}", "text " * 800, "3 outlets")
            for i in range(80)
        ),
        footer="Showing 80",
    )
    message = reply_message(reply)
    blocks = validated(message)
    assert len(blocks) == MAX_BLOCKS
    assert "…and 33 more" in str(blocks[-2])
    assert blocks[-1]["elements"][0]["text"] == "Showing 80"
    assert len(message.text) <= MAX_FALLBACK_TEXT


def test_error_reply_is_marked() -> None:
    message = reply_message(Reply.fail("Only workspace admins can change rules", hint="ask one"))
    blocks = validated(message)
    assert blocks[0]["text"]["text"].startswith(":warning: *Sorry*")
    assert "ask one" in message.text


def test_button_value_of_someone_else_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_button_value('["not", "ours"]')
