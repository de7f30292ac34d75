"""The rule editor on Discord: ``/peacewatch rules add`` / ``rules edit`` answer with a modal
(type 9); its submission goes through discord.py's own modal dispatch to the real command
service and answers, to the caller alone, the query's error at its column with a Fix button, or
a 7-day backtest of stored history with Save and Edit; Save stores the rule for admins only."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import discord
import pytest
import redis.asyncio as aioredis

from peacewatch.bot.discord_adapter import DiscordAdapter
from peacewatch.bot.discord_adapter import editor_embeds as ee
from peacewatch.rules.rulefile import RuleSpec
from peacewatch.services.commands import CommandService
from peacewatch.services.views import RuleForm
from peacewatch.store.articles import ArticleStore
from peacewatch.store.history import HistoryIndex
from peacewatch.store.teams import TeamStore
from tests import test_discord_commands as dc
from tests.fakes import discord_ui as ui
from tests.fakes.discord_api import FakeDiscord, Seen
from tests.test_slack_rule_editor import NOW, seed_history

fake = dc.fake
ARTICLES = ("a1", "a2", "a3", "a4", "a5", "a6")
"""What ``seed_history`` stores."""


@pytest.fixture
async def adapter(fake: FakeDiscord, redis_client: aioredis.Redis) -> AsyncIterator[DiscordAdapter]:
    history = HistoryIndex(redis_client, clock=lambda: NOW)
    service = CommandService(redis_client, clock=lambda: NOW, history=history)
    bot = DiscordAdapter(dc.settings_for(fake), service)
    await bot.client.ensure_login(fake.token)
    try:
        yield bot
    finally:
        await bot.stop()
        await service.close()


def data(answer: Seen) -> dict[str, Any]:
    return dict(answer.body["data"] if "data" in answer.body else answer.body)


def shown(answer: Seen) -> str:
    return json.dumps(data(answer), ensure_ascii=False)


def opened(answer: Seen) -> dict[str, Any]:
    """The modal of a type 9 answer."""
    assert answer.path.endswith("/callback") and answer.body["type"] == ui.MODAL
    return dict(answer.body["data"])


async def open_modal(
    fake: FakeDiscord, adapter: DiscordAdapter, *path: str, **options: Any
) -> dict[str, Any]:
    [answer] = await dc.invoke(fake, adapter, dc.command(*path, **options))
    return opened(answer)


async def submit(
    fake: FakeDiscord,
    adapter: DiscordAdapter,
    modal: dict[str, Any],
    values: dict[str, str | list[str]],
    *,
    permissions: int = dc.MANAGE_GUILD,
) -> Seen:
    """Submit the modal; return the answer that shows the result (the edit after a deferral)."""
    submitted = ui.modal_submit(fake, modal, values)
    deferred, edited = await dc.invoke(
        fake, adapter, submitted, kind=ui.MODAL_SUBMIT, permissions=permissions, done=2
    )
    assert deferred.body["type"] == 5 and dc.flags(deferred) & dc.EPHEMERAL
    assert edited.method == "PATCH" and edited.path.endswith("/messages/@original")
    return edited


async def press_save(fake: FakeDiscord, adapter: DiscordAdapter, answer: Seen) -> Seen:
    """Press Save on the message ``answer`` shows, as an admin; the answer to the press."""
    message = ui.message_of(fake, answer)
    [saved] = await dc.invoke(
        fake, adapter, ui.press("Save", message), kind=ui.COMPONENT, message=message,
        permissions=dc.MANAGE_GUILD,
    )  # fmt: skip
    return saved


async def new_rule_modal(fake: FakeDiscord, adapter: DiscordAdapter) -> dict[str, Any]:
    return await open_modal(fake, adapter, "rules", "add")


async def test_rules_add_without_arguments_opens_the_editor_modal(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    modal = await new_rule_modal(fake, adapter)
    assert modal["title"] == "New rule"
    fields = ui.inputs(modal)
    assert set(fields) == {
        "pw_rule_id",
        "pw_rule_query",
        "pw_rule_channels",
        "pw_rule_min",
        "pw_rule_digest",
    }
    here = next(iter(fake.channels))
    assert ui.prefilled(fields["pw_rule_channels"]) == [str(here)]  # posts here by default
    assert ui.prefilled(fields["pw_rule_min"]) == "1"
    assert ui.prefilled(fields["pw_rule_digest"]) == ["none"]


async def test_a_bad_query_answers_its_column_and_fix_reopens_the_modal_filled_in(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    modal = await new_rule_modal(fake, adapter)
    bad = "Witkoff AND (Donbas"
    answer = await submit(fake, adapter, modal, {"pw_rule_id": "w1", "pw_rule_query": bad})
    text = shown(answer)
    assert "column 20:" in text and bad + "\\n" + " " * 19 + "^" in text
    assert "Backtest" not in text
    message = ui.message_of(fake, answer)
    assert set(ui.buttons(message)) == {"Fix"}

    [reopened] = await dc.invoke(
        fake, adapter, ui.press("Fix", message), kind=ui.COMPONENT, message=message
    )
    modal = opened(reopened)
    again = ui.inputs(modal)
    assert ui.prefilled(again["pw_rule_query"]) == bad
    assert ui.prefilled(again["pw_rule_id"]) == "w1"
    # fixed and submitted from the Fix button: the same message now shows the backtest
    fixed = ui.modal_submit(fake, modal, {"pw_rule_query": "Witkoff"})
    deferred, edited = await dc.invoke(
        fake, adapter, fixed, kind=ui.MODAL_SUBMIT, permissions=dc.MANAGE_GUILD,
        message=message, done=2,
    )  # fmt: skip
    assert deferred.body["type"] == 6  # the message the modal came from is updated
    assert "Backtest: 0 matching articles" in shown(edited)
    assert not await TeamStore(redis_client).rules(f"discord:{fake.guild_id}")


async def test_a_bad_rule_id_or_outlets_count_is_named_with_a_fix_button(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    modal = await new_rule_modal(fake, adapter)
    values: dict[str, str | list[str]] = {"pw_rule_id": "no spaces!", "pw_rule_query": "Witkoff"}
    answer = await submit(fake, adapter, modal, values)
    assert "'no spaces!' cannot be a rule id" in shown(answer)
    assert set(ui.buttons(ui.message_of(fake, answer))) == {"Fix"}
    modal = await new_rule_modal(fake, adapter)
    values = {"pw_rule_id": "w1", "pw_rule_query": "Witkoff", "pw_rule_min": "x"}
    answer = await submit(fake, adapter, modal, values)
    assert "outlets must be a whole number from 1 to 100" in shown(answer)
    assert "Backtest" not in shown(answer)


async def test_an_outlets_count_of_superscript_digits_is_answered_not_dropped(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    # '²'.isdigit() is true, yet int('²') fails: the submission must still be answered
    modal = await new_rule_modal(fake, adapter)
    values: dict[str, str | list[str]] = {
        "pw_rule_id": "w1", "pw_rule_query": "Witkoff", "pw_rule_min": "²"
    }  # fmt: skip
    answer = await submit(fake, adapter, modal, values)
    assert "outlets must be a whole number from 1 to 100" in shown(answer)
    assert set(ui.buttons(ui.message_of(fake, answer))) == {"Fix"}


async def expected_days(redis: aioredis.Redis, word: str) -> dict[str, int]:
    """Stored articles whose title has ``word``, per day over the 7 days up to NOW, read back
    from the store (not through the search under test)."""
    first = (NOW - timedelta(days=6)).date()
    days = {(first + timedelta(days=i)).strftime("%a %d %b"): 0 for i in range(7)}
    for article in await ArticleStore(redis).get_many(list(ARTICLES)):
        if word.casefold() in article.title.casefold() and article.published is not None:
            day = article.published.strftime("%a %d %b")
            if day in days:
                days[day] += 1
    return days


async def preview(
    fake: FakeDiscord, adapter: DiscordAdapter, redis: aioredis.Redis, *, permissions: int
) -> Seen:
    await seed_history(redis)
    modal = await new_rule_modal(fake, adapter)
    values: dict[str, str | list[str]] = {
        "pw_rule_id": "witkoff",
        "pw_rule_query": "Witkoff",
        "pw_rule_min": "2",
        "pw_rule_digest": ["daily"],
    }
    return await submit(fake, adapter, modal, values, permissions=permissions)


async def test_a_good_query_shows_its_backtest_per_day_and_examples(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    answer = await preview(fake, adapter, redis_client, permissions=dc.MANAGE_GUILD)
    text = data(answer)["embeds"][1]["description"]
    expected = await expected_days(redis_client, "Witkoff")
    assert sum(expected.values()) == 4  # a5 is older than 7 days, a6 does not match
    assert f"Backtest: {sum(expected.values())} matching articles over the last 7 days" in text
    bars = dict(re.findall(r"`(\w{3} \d{2} \w{3})` \S+ (\d+)", text))
    assert {day: int(n) for day, n in bars.items()} == expected
    examples = re.findall(r"^• \[(.+)\]\(https://example\.org/(a\d)\)$", text, re.M)
    assert [aid for _, aid in examples] == ["a1", "a2", "a3"]  # the newest three
    assert set(ui.buttons(ui.message_of(fake, answer))) == {"Save", "Edit"}


async def test_save_by_a_member_is_refused_and_changes_nothing(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    answer = await preview(fake, adapter, redis_client, permissions=0)
    member_view = ui.message_of(fake, answer)
    assert set(ui.buttons(member_view)) == {"Edit"}  # no Save for a member
    assert "Only members with Manage Server" in shown(answer)
    # a Save press on an admin's preview (a stale or forged one) is refused all the same
    admin = await preview(fake, adapter, redis_client, permissions=dc.MANAGE_GUILD)
    message = ui.message_of(fake, admin)
    before = {k: await redis_client.dump(k) for k in sorted(await redis_client.keys("*"))}
    [refused] = await dc.invoke(
        fake, adapter, ui.press("Save", message), kind=ui.COMPONENT, message=message
    )
    assert refused.body["type"] == 4 and dc.flags(refused) & dc.EPHEMERAL
    assert "Manage Server" in shown(refused)
    after = {k: await redis_client.dump(k) for k in sorted(await redis_client.keys("*"))}
    assert after == before
    assert await TeamStore(redis_client).rule(f"discord:{fake.guild_id}", "witkoff") is None


async def test_save_by_an_admin_stores_the_rule_as_previewed(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    answer = await preview(fake, adapter, redis_client, permissions=dc.MANAGE_GUILD)
    saved = await press_save(fake, adapter, answer)
    assert saved.body["type"] == 7  # the preview becomes the confirmation
    assert "Added rule witkoff" in shown(saved) and not data(saved)["components"]
    rule = await TeamStore(redis_client).rule(f"discord:{fake.guild_id}", "witkoff")
    here = next(iter(fake.channels))
    assert rule is not None
    assert (rule.query, rule.channels, rule.min_sources, rule.digest) == (
        "Witkoff",
        [f"discord:{here}"],
        2,
        "daily",
    )


async def test_edit_opens_a_saved_rule_and_keeps_its_webhook_on_save(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    here = next(iter(fake.channels), None) or fake.add_channel()
    hook = f"discordhook:https://discord.com/api/webhooks/112233445566778899/{'T' * 68}"
    rule = RuleSpec(id="w2", query="Witkoff AND Dmitriev", channels=[f"discord:{here}", hook])
    await TeamStore(redis_client).put_rule(team, rule)
    modal = await open_modal(fake, adapter, "rules", "edit", rule_id="w2")
    assert modal["title"] == "Edit rule w2"
    fields = ui.inputs(modal)
    assert "pw_rule_id" not in fields  # a saved rule's id is fixed
    assert ui.prefilled(fields["pw_rule_query"]) == "Witkoff AND Dmitriev"
    assert ui.prefilled(fields["pw_rule_channels"]) == [str(here)]
    answer = await submit(fake, adapter, modal, {"pw_rule_query": "Witkoff NEAR/5 Dmitriev"})
    assert "T" * 68 not in shown(answer)  # a webhook's token is never shown
    saved = await press_save(fake, adapter, answer)
    assert "Updated rule w2" in shown(saved)
    stored = await TeamStore(redis_client).rule(team, "w2")
    assert stored is not None and stored.query == "Witkoff NEAR/5 Dmitriev"
    assert stored.channels == [f"discord:{here}", hook]


async def test_saving_a_rule_with_more_channels_than_a_select_holds_keeps_the_unshown_ones(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    team = f"discord:{fake.guild_id}"
    channels = [f"discord:{fake.add_channel()}" for _ in range(ee.CHANNELS_MAX + 2)]
    hook = f"discordhook:https://discord.com/api/webhooks/112233445566778899/{'T' * 68}"
    await TeamStore(redis_client).put_rule(team, RuleSpec(id="w3", query="Witkoff",
                                                          channels=[*channels, hook]))  # fmt: skip
    modal = await open_modal(fake, adapter, "rules", "edit", rule_id="w3")
    shown_ids = ui.prefilled(ui.inputs(modal)["pw_rule_channels"])
    assert shown_ids == [c.partition(":")[2] for c in channels[: ee.CHANNELS_MAX]]
    # the user takes the first channel off and saves: only that one goes
    answer = await submit(fake, adapter, modal, {"pw_rule_channels": shown_ids[1:]})
    embeds = data(answer)["embeds"]
    assert len(embeds[0]["fields"][1]["value"]) <= 1024
    saved = await press_save(fake, adapter, answer)
    assert "Updated rule w3" in shown(saved)
    stored = await TeamStore(redis_client).rule(team, "w3")
    assert stored is not None
    assert stored.channels == [*channels[1 : ee.CHANNELS_MAX], *channels[ee.CHANNELS_MAX :], hook]


def embed_chars(embed: dict[str, Any]) -> int:
    """What Discord counts of an embed against its 6,000 characters."""
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", "")) + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
        + len(embed.get("footer", {}).get("text", ""))
        + len(embed.get("author", {}).get("name", ""))
    )  # fmt: skip


async def test_a_long_query_with_many_warnings_keeps_the_preview_within_6000_characters(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    # each lower-case "and" gets a warning: 89 of them
    query = " and ".join(f"negotiationsterm{n}" for n in range(90))[:1990]
    modal = await new_rule_modal(fake, adapter)
    values: dict[str, str | list[str]] = {"pw_rule_id": "long", "pw_rule_query": query}
    answer = await submit(fake, adapter, modal, values, permissions=dc.MANAGE_GUILD)
    embeds = data(answer)["embeds"]
    assert "⚠️" in embeds[1]["description"]
    assert sum(embed_chars(e) for e in embeds) <= 6000


async def test_editing_an_unknown_rule_names_the_known_ones(
    fake: FakeDiscord, adapter: DiscordAdapter
) -> None:
    [answer] = await dc.invoke(fake, adapter, dc.command("rules", "edit", rule_id="nope"))
    assert answer.body["type"] == 4 and dc.flags(answer) & dc.EPHEMERAL
    assert "There is no rule 'nope'" in shown(answer)


@pytest.mark.parametrize(
    "query",
    [
        'Witkoff AND (Donbas OR "security guarantees") -opinion',
        "title:```odd``` NEAR/3 «Зеленський» `x`",
        "a " * 999 + "b",
    ],
)
def test_the_form_a_message_carries_reads_back_exactly(query: str) -> None:
    form = RuleForm("w-1.x", query, ("discord:123456789012345678",), 7, "hourly", True)
    sent = [ee.form_embed(form).to_dict()]
    received = [discord.Embed.from_dict(json.loads(json.dumps(e))) for e in sent]
    assert ee.form_of(received) == form
    assert ee.form_of([discord.Embed(description="no form here")]) is None


async def test_a_modal_and_its_buttons_work_after_a_restart(
    fake: FakeDiscord, adapter: DiscordAdapter, redis_client: aioredis.Redis
) -> None:
    modal = await new_rule_modal(fake, adapter)
    await adapter.stop()  # the process that opened the modal is gone
    history = HistoryIndex(redis_client, clock=lambda: NOW)
    service = CommandService(redis_client, clock=lambda: NOW, history=history)
    restarted = DiscordAdapter(dc.settings_for(fake), service)
    await restarted.client.ensure_login(fake.token)
    try:
        values: dict[str, str | list[str]] = {"pw_rule_id": "w9", "pw_rule_query": "Witkoff"}
        answer = await submit(fake, restarted, modal, values)
        assert "Backtest: 0 matching articles" in shown(answer)
        message = ui.message_of(fake, answer)
        [saved] = await dc.invoke(
            fake, restarted, ui.press("Save", message), kind=ui.COMPONENT, message=message,
            permissions=dc.MANAGE_GUILD,
        )  # fmt: skip
        assert "Added rule w9" in shown(saved)
    finally:
        await restarted.stop()
        await service.close()
    rule = await TeamStore(redis_client).rule(f"discord:{fake.guild_id}", "w9")
    assert rule is not None and rule.query == "Witkoff"
