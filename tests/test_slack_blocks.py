"""Block Kit rendering: checked with slack_sdk's own Block Kit models and their limits."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.blocks.basic_components import PlainTextObject
from slack_sdk.models.blocks.blocks import HeaderBlock, SectionBlock

from peacewatch.bot.replies import Reply, ReplyItem
from peacewatch.bot.slack_adapter import ChannelPacer, SlackSink, SlackTokens
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
from peacewatch.models import AlertKind
from peacewatch.services.dispatcher import Dispatcher
from peacewatch.store.alert_queue import AlertQueue
from tests.fakes.slack_api import FakeSlack, sample_alert


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
    assert flat.count(alert.headline) == 1  # the header only
    assert "US envoy Steve Witkoff met" in flat
    assert "<https://reuters.example/s1/1|Read at Reuters> · 01 Dec 09:10 UTC" in flat
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[2]["fields"]}
    # matched words as the text wrote them, actors by display name, never ids
    assert fields["*Matched*"] == "Witkoff, security guarantees"
    assert fields["*Actors*"] == "Steve Witkoff, Rustem Umerov"
    assert fields["*Severity*"] == ":red_circle: High"
    assert "Reported by 2 outlets" in flat
    assert "<https://reuters.example/s1/1|Reuters> · 01 Dec 09:10 UTC" in flat
    shown = re.sub(r"<[^|>]+\|", "<", flat)  # what the reader sees: link labels, not targets
    assert "Also:" not in shown and ".example" not in shown  # outlets by name, not domain
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == [ACTION_MUTE_STORY, ACTION_NOT_RELEVANT]
    assert [a["text"]["text"] for a in actions] == ["Mute this story", "Not relevant"]
    assert parse_button_value(actions[0]["value"]) == ("s1", "a1")


def test_a_story_of_many_outlets_lists_them_once_with_and_n_more() -> None:
    outlets = tuple(f"Outlet {i}" for i in range(15))
    alert = sample_alert(outlets=outlets, kind="followup")
    blocks = validated(alert_message(alert))
    section = blocks[3]["text"]["text"]
    assert section.startswith("*Reported by 15 outlets*")
    assert section.count("• ") == 12 and section.endswith("…and 3 more")
    assert "|Outlet 14>" in section  # the newest outlet, whose follow-up this is, is listed
    reply = validated(followup_message(alert))
    assert "*Follow-up from Outlet 14:*" in reply[0]["text"]["text"]
    assert "and 7 more" in str(reply[1]) and "Outlet 14" in str(reply[1])


def test_followup_shows_its_severity_at_the_present_outlet_count() -> None:
    five = tuple(f"Outlet {i}" for i in range(5))
    alert = sample_alert(kind="followup", severity="low", outlets=five, summary="Talks went on.")
    context = validated(followup_message(alert))[1]["elements"]
    assert context[0]["text"] == ":large_blue_circle: Normal"  # +1 from 3 outlets
    root = validated(alert_message(sample_alert(severity="low", summary="Talks went on.")))
    assert ":white_circle: Low" in str(root[2])


async def test_the_edited_root_shows_the_outlet_count_and_the_severity_it_brings(
    redis_client: aioredis.Redis,
) -> None:
    async with FakeSlack() as slack:
        sink = SlackSink(SlackTokens("xoxb-one", None), redis_client, base_url=slack.base_url,
                         pacer=ChannelPacer(0.0, lambda: 0.0, _no_sleep))  # fmt: skip
        queue = AlertQueue(redis_client)
        await queue.ensure_group()
        dispatcher = Dispatcher(queue, {"slack": sink}, retry_idle_ms=0)
        calm = "Talks went on."
        await queue.enqueue(sample_alert(alert_id="a1", severity="low", summary=calm))
        five = ("BBC", *(f"Outlet {i}" for i in range(1, 5)))
        await queue.enqueue(
            sample_alert(alert_id="a2", kind="followup", severity="low", outlets=five, summary=calm)
        )
        await dispatcher.drain()
        assert await sink.edits.flush()
        await sink.close()
        root = slack.messages[0]
        assert ":white_circle: Low" in str(root.blocks)
        edited = root.edits[-1]["blocks"]
        assert "Reported by 5 outlets" in str(edited)
        assert ":large_blue_circle: Normal" in str(edited) and "Low" not in str(edited)


async def _no_sleep(seconds: float) -> None:
    return None


def test_single_source_alert_says_source_and_fallback_is_plain_text() -> None:
    alert = sample_alert()
    message = alert_message(alert)
    validated(message)
    assert "*Source*" in str(message.blocks)
    assert message.text.startswith("• [NORMAL] Witkoff meets Umerov")
    assert message.text.count("Witkoff meets Umerov") == 1
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
    assert blocks[0]["text"]["text"].startswith(
        "*Follow-up from Meduza:* *<https://meduza.example/s1/2|"
    )
    assert "01 Dec 09:20 UTC" in flat
    assert "Reported by 3 outlets: BBC, Reuters and Meduza" in flat
    assert not any(b["type"] == "header" for b in blocks)
    # without a thread to go into, a follow-up is a full top-level alert
    assert render_alert(alert, threaded=False) == alert_message(alert)


def test_link_labels_cannot_break_out_of_the_link() -> None:
    alert = sample_alert(headline="A|B>C <!channel>", kind="followup")
    section = validated(followup_message(alert))[0]["text"]["text"]
    assert "<!channel>" not in section
    assert "|A¦B&gt;C &lt;!channel&gt;>" in section
    header = validated(alert_message(alert))[0]["text"]["text"]
    assert header == "A|B>C <!channel>"  # plain_text: Slack shows it as it is, never as markup


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


def test_a_second_report_from_an_outlet_is_an_update_not_a_new_outlet() -> None:
    first = sample_alert(outlets=("BBC", "Reuters"))
    again = dataclasses.replace(
        first.sources[0],
        link="https://bbc.example/s1/later",
        published=first.sources[1].published + timedelta(hours=2),
    )
    alert = dataclasses.replace(
        first, kind=AlertKind.FOLLOWUP, sources=(*first.sources, again), link=again.link
    )
    blocks = validated(followup_message(alert))
    assert blocks[0]["text"]["text"].startswith("*Update from BBC:*")
    outlets = validated(alert_message(alert))[3]["text"]["text"]
    # the outlet's reports stay on its line, oldest first
    assert (
        "|BBC> · 01 Dec 09:00 UTC, <https://bbc.example/s1/later|update> · 01 Dec 11:10" in outlets
    )


def test_long_links_never_leave_a_broken_link_in_the_outlets_section() -> None:
    alert = sample_alert(outlets=tuple(f"Outlet {i}" for i in range(12)))
    long = "https://www.example.org/" + "a" * 400
    sources = tuple(dataclasses.replace(s, link=f"{long}{i}") for i, s in enumerate(alert.sources))
    text = validated(alert_message(dataclasses.replace(alert, sources=sources)))[3]["text"]["text"]
    lines = text.splitlines()[1:]
    more = int(lines[-1].split()[1]) if lines[-1].startswith("…and") else 0
    listed = lines[:-1] if more else lines
    assert len(listed) + more == 12
    for line in listed:  # a whole link with its time, or the name alone
        assert re.fullmatch(
            r"• <https://\S+\|Outlet \d+> · 01 Dec \d\d:\d\d UTC|• Outlet \d+", line
        )
    assert listed[0].startswith("• <https://")
