"""Which message of a destination's history is a new alert's (the lookup a retried post makes):
the bot's own message whose feedback buttons carry the alert's id, and no other. Messages are
built with the sink's own embeds and buttons."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from peacewatch.bot.discord_adapter import embeds
from peacewatch.bot.discord_adapter.lookup import found_message, is_alert_message, post_candidates
from peacewatch.models import Alert
from tests.test_discord_sink import followup_of, new_alert

BOT = 500000000000000001
CHANNEL = "900000000000000009"


def posted(alert: Alert, message_id: int, author: int = BOT) -> dict[str, Any]:
    """The message the sink posts for a new ``alert``, as Get Channel Messages returns it."""
    return {
        "id": str(message_id),
        "channel_id": CHANNEL,
        "author": {"id": str(author), "bot": True},
        "embeds": [embeds.as_dict(embeds.alert_embed(alert))],
        "components": embeds.alert_components(alert),
    }


def as_followup(alert: Alert, message_id: int) -> dict[str, Any]:
    return {
        "id": str(message_id),
        "channel_id": CHANNEL,
        "author": {"id": str(BOT), "bot": True},
        "embeds": [embeds.as_dict(embeds.message_embed(alert))],
        "message_reference": {"message_id": "1"},
    }


def test_the_alerts_own_message_is_found_among_others() -> None:
    alert = new_alert(f"discord:{CHANNEL}")
    other = new_alert(f"discord:{CHANNEL}", n=7)  # same story, same link, another alert
    history = [
        posted(other, 30),  # newest first
        as_followup(followup_of(alert), 25),
        posted(alert, 20),
        posted(new_alert(f"discord:{CHANNEL}", story="fedcba9876543210"), 10),
    ]
    assert found_message(history, alert, BOT) == f"{CHANNEL}/20"
    assert found_message(history, other, BOT) == f"{CHANNEL}/30"


def test_another_authors_message_or_another_alerts_buttons_are_not_it() -> None:
    alert = new_alert(f"discord:{CHANNEL}")
    assert is_alert_message(posted(alert, 20), alert, BOT)
    assert not is_alert_message(posted(alert, 20, author=BOT + 1), alert, BOT)
    assert not is_alert_message(posted(new_alert(f"discord:{CHANNEL}", n=2), 21), alert, BOT)
    # an id that merely ends like this alert's is another alert
    longer = replace(alert, alert_id="9" + alert.alert_id)
    assert not is_alert_message(posted(longer, 22), alert, BOT)
    assert found_message([posted(longer, 22)], alert, BOT) is None


def test_a_message_without_buttons_is_never_taken_for_an_alert() -> None:
    alert = new_alert(f"discord:{CHANNEL}")
    followup = followup_of(alert)
    assert not is_alert_message(as_followup(followup, 25), followup, BOT)
    bare = {**posted(alert, 20), "components": []}
    assert not is_alert_message(bare, alert, BOT)


def made_at(seconds: float, n: int = 0) -> int:
    """A snowflake made at ``seconds`` (epoch), as Discord makes them."""
    return (int(seconds * 1000) - 1_420_070_400_000) << 22 | n


def post(post_id: int, name: str, forum: int = 40, owner: int = BOT) -> dict[str, Any]:
    return {"id": str(post_id), "parent_id": str(forum), "owner_id": str(owner), "name": name}


def test_forum_posts_looked_at_are_the_bots_own_in_that_forum_since_the_attempt() -> None:
    since = 1_780_000_000.0
    ours = post(made_at(since + 1), "Story")
    threads = [
        post(made_at(since + 2), "Story", forum=41),  # another forum
        post(made_at(since + 3), "Story", owner=BOT + 1),  # a user's post
        post(made_at(since - 3600), "Story"),  # made before the attempt began
        ours,
    ]
    assert post_candidates(threads, 40, BOT, "Story", since) == [ours["id"]]
    # a post Discord dates a little before our clock's start of the attempt is still taken
    early = post(made_at(since - 30), "Story")
    assert post_candidates([early], 40, BOT, "Story", since) == [early["id"]]


def test_forum_posts_named_like_the_story_come_first_then_the_oldest() -> None:
    since = 1_780_000_000.0
    later = [post(made_at(since + 10 + n), f"Other {n}") for n in range(6)]
    ours = post(made_at(since + 1), "Story")
    named = post(made_at(since + 100), "Story")
    candidates = post_candidates([*later, named, ours], 40, BOT, "Story", since)
    assert candidates[:2] == [ours["id"], named["id"]]
    assert candidates[2:] == [p["id"] for p in later[:3]]  # at most five in all, oldest first
    renamed = post_candidates([*later, {**ours, "name": "Renamed"}], 40, BOT, "Story", since)
    assert renamed[0] == ours["id"]  # not named alike, but the oldest since the attempt
