"""Discord embeds of alerts and replies: content, colours, buttons, and Discord's size limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord

from peacewatch.bot.discord_adapter import embeds
from peacewatch.bot.replies import Reply, ReplyItem
from peacewatch.models import Alert, AlertKind, Destination, Severity, SourceRef

WHEN = datetime(2025, 11, 25, 9, 30, tzinfo=UTC)


def make_alert(**changes: object) -> Alert:
    fields: dict[str, object] = {
        "alert_id": "a" * 32,
        "team_id": "discord:1",
        "rule_id": "witkoff-donbas",
        "story_id": "0123456789abcdef",
        "article_id": "art1",
        "destination": Destination("discord", "123"),
        "headline": "Trump Says Envoy Witkoff Will Meet Putin in Moscow",
        "summary": "The U.S. leader said Washington was now very close to striking a deal.",
        "link": "https://www.themoscowtimes.com/2025/11/25/witkoff-a91231",
        "matched": ("Witkoff", "Putin"),
        "entities": ("witkoff", "putin"),
        "sources": (
            SourceRef("The Moscow Times", "themoscowtimes.com", "https://mt.example/1", WHEN),
        ),
        "severity": Severity.HIGH,
        "outlets": ("The Moscow Times",),
    }
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


def test_alert_embed_has_headline_link_summary_fields_colour_and_time() -> None:
    embed = embeds.alert_embed(make_alert())
    data = embed.to_dict()
    assert data["title"] == "Trump Says Envoy Witkoff Will Meet Putin in Moscow"
    assert data["url"] == "https://www.themoscowtimes.com/2025/11/25/witkoff-a91231"
    assert "very close" in data["description"]
    assert data["color"] == 0xD93025  # high severity is red
    fields = {f["name"]: f["value"] for f in data["fields"]}
    assert fields["Actors"] == "Steve Witkoff, Vladimir Putin"  # display names, never ids
    assert fields["Matched"] == "Witkoff, Putin"
    assert fields["Severity"] == "High"
    assert fields["Outlets"] == "[The Moscow Times](https://mt.example/1)"
    assert data["title"] not in data["description"]  # the headline once
    assert data["timestamp"].startswith("2025-11-25T09:30")
    assert "witkoff-donbas" in data["footer"]["text"]


def test_severity_sets_the_colour() -> None:
    low = embeds.alert_embed(make_alert(severity=Severity.LOW)).colour
    normal = embeds.alert_embed(make_alert(severity=Severity.NORMAL)).colour
    assert len({low, normal, embeds.alert_embed(make_alert()).colour}) == 3


def test_huge_alert_stays_within_every_discord_limit() -> None:
    sources = tuple(
        SourceRef(f"Outlet {i} " + "x" * 300, f"o{i}.example", f"https://o{i}.example/a", WHEN)
        for i in range(40)
    )
    alert = make_alert(
        headline="H" * 1000,
        summary="word " * 3000,
        matched=tuple(f"term{i}" * 20 for i in range(200)),
        entities=tuple(f"actor{i}" * 20 for i in range(200)),
        sources=sources,
        outlets=tuple(s.outlet for s in sources),
        outlet_count=40,
    )
    for embed in (embeds.alert_embed(alert), embeds.followup_embed(alert)):
        assert len(embed.title or "") <= embeds.TITLE_MAX
        assert len(embed.description or "") <= embeds.DESCRIPTION_MAX
        assert len(embed.fields) <= embeds.FIELDS_MAX
        assert all(len(f.value or "") <= embeds.FIELD_VALUE_MAX for f in embed.fields)
        assert len(embed) <= embeds.EMBED_TOTAL_MAX
        assert (embed.title or "").endswith("…")


def test_buttons_carry_story_and_alert_in_their_custom_ids() -> None:
    rows = embeds.alert_components(make_alert())
    buttons = rows[0]["components"]
    ids = [b.get("custom_id") for b in buttons if b.get("custom_id")]
    assert ids == [
        "pw:fb:mute_story:0123456789abcdef:" + "a" * 32,
        "pw:fb:not_relevant:0123456789abcdef:" + "a" * 32,
    ]
    assert [b["label"] for b in buttons] == ["Mute this story", "Not relevant", "Read"]
    for custom_id in ids:
        assert len(custom_id) <= embeds.CUSTOM_ID_MAX
        found = embeds.FEEDBACK_ID_RE.fullmatch(custom_id)
        assert found and found["story"] == "0123456789abcdef" and found["alert"] == "a" * 32


def test_a_long_alert_id_is_left_out_of_the_custom_id() -> None:
    custom_id = embeds.feedback_custom_id("mute_story", "s" * 16, "b" * 90)
    assert custom_id == "pw:fb:mute_story:" + "s" * 16 + ":"
    assert embeds.FEEDBACK_ID_RE.fullmatch(custom_id)


def test_with_outlets_lists_the_outlets_and_raises_the_severity() -> None:
    posted = embeds.as_dict(embeds.alert_embed(make_alert(severity=Severity.LOW)))
    assert {f["name"]: f["value"] for f in posted["fields"]}["Severity"] == "Low"
    sources = tuple(
        SourceRef(name, f"{name.lower()}.example", f"https://{name.lower()}.example/a", WHEN)
        for name in ("BBC", "Politico", "Meduza", "Reuters")
    )
    later = make_alert(
        kind=AlertKind.FOLLOWUP,
        sources=(make_alert().sources[0], *sources),
        link=sources[-1].link,
        outlet_count=5,
        outlets=("themoscowtimes.com", *(s.source for s in sources)),
        severity=Severity.LOW,
    )
    updated = embeds.with_outlets(posted, later)
    fields = {f["name"]: f["value"] for f in updated["fields"]}
    assert fields["Outlets"].splitlines() == [
        "Reported by 5 outlets:",
        "[The Moscow Times](https://mt.example/1)",
        "[BBC](https://bbc.example/a)",
        "[Politico](https://politico.example/a)",
        "[Meduza](https://meduza.example/a)",
        "[Reuters](https://reuters.example/a)",
    ]
    # 5 outlets are worth a point: the root is shown Normal now, in Normal's colour
    assert fields["Severity"] == "Normal" and updated["color"] == 0x1A73E8
    assert updated["title"] == posted["title"]
    assert [f["name"] for f in updated["fields"]] == [f["name"] for f in posted["fields"]]
    # an embed posted with the former separate "Sources" field loses it
    old = {**posted, "fields": [*posted["fields"], {"name": "Sources", "value": "x"}]}
    assert "Sources" not in {f["name"] for f in embeds.with_outlets(old, later)["fields"]}


def test_a_followup_names_its_outlet_even_in_a_long_list() -> None:
    sources = tuple(
        SourceRef(f"Outlet {i}", f"o{i}.example", f"https://o{i}.example/a", WHEN)
        for i in range(12)
    )
    alert = make_alert(
        kind=AlertKind.FOLLOWUP,
        sources=sources,
        link=sources[-1].link,
        outlet_count=12,
        outlets=tuple(s.source for s in sources),
    )
    follow = embeds.followup_embed(alert).to_dict()
    assert follow["author"]["name"] == "Follow-up · Outlet 11"
    outlets = {f["name"]: f["value"] for f in follow["fields"]}["Outlets"]
    assert outlets.startswith("Reported by 12 outlets: Outlet 0,")
    assert outlets.endswith("Outlet 6, Outlet 11 and 4 more")
    root = {f["name"]: f["value"] for f in embeds.alert_embed(alert).to_dict()["fields"]}
    assert "[Outlet 11](https://o11.example/a)" in root["Outlets"]
    assert root["Outlets"].endswith("and 7 more")


def test_reply_items_become_fields_within_limits() -> None:
    items = tuple(
        ReplyItem(title=f"Story {i} " + "t" * 300, link=f"https://x.example/{i}", text="y" * 2000)
        for i in range(40)
    )
    reply = Reply(title="Search: witkoff", text="40 stories", items=items, footer="page 1")
    [embed] = embeds.reply_embeds(reply)
    assert len(embed) <= embeds.EMBED_TOTAL_MAX
    assert 0 < len(embed.fields) <= embeds.FIELDS_MAX
    assert all(len(f.name or "") <= embeds.FIELD_NAME_MAX for f in embed.fields)
    assert "more not shown" in (embed.footer.text or "")
    assert "https://x.example/0" in (embed.fields[0].value or "")


def test_error_reply_and_image_attachment() -> None:
    [error] = embeds.reply_embeds(Reply.fail("Only admins can change rules", hint="ask one"))
    assert error.colour == embeds.ERROR_COLOUR
    assert error.footer.text == "ask one"
    chart = Reply(title="Trend", image=b"\x89PNG fake", image_name="trend witkoff")
    [embed] = embeds.reply_embeds(chart)
    file = embeds.reply_file(chart)
    assert isinstance(file, discord.File)
    assert file.filename == "trend_witkoff.png"
    assert embed.image.url == "attachment://trend_witkoff.png"
    assert embeds.reply_file(Reply(title="no image")) is None


def test_long_links_never_leave_a_broken_link_in_the_outlets_field() -> None:
    long = "https://www.example.org/" + "a" * 480
    sources = tuple(SourceRef(f"Outlet {i}", f"o{i}.example", f"{long}{i}", WHEN) for i in range(5))
    alert = make_alert(sources=sources, outlet_count=5, outlets=tuple(s.source for s in sources))
    value = {f.name: f.value for f in embeds.alert_embed(alert).fields}["Outlets"] or ""
    assert len(value) <= embeds.FIELD_VALUE_MAX
    lines = value.splitlines()
    assert lines[0] == "Reported by 5 outlets:"
    more = int(lines[-1].split()[1]) if lines[-1].startswith("and ") else 0
    listed = lines[1:-1] if more else lines[1:]
    # every outlet is listed or counted, each line a whole link or a plain name
    assert len(listed) + more == 5
    assert all(re.fullmatch(r"\[Outlet \d\]\(https://\S+\)|Outlet \d", line) for line in listed)
    assert listed[0].startswith("[Outlet 0](")  # the links that fit are kept
