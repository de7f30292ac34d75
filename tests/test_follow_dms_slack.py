"""A follow's Slack DM and the follower's views of their follows, through the real bolt app and
the real pipeline, dispatcher and Slack sink against the fake Slack: the DM names the follow by
its query (never an internal id), the App Home follows the follows as they change, and a
follow whose DMs Slack refuses is shown as failing, with the reason, where the user looks."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from peacewatch.bot.slack_adapter.blocks import parse_button_value
from peacewatch.bot.slack_adapter.home import ACTION_RULE_SUGGEST
from peacewatch.services.commands import CommandService
from peacewatch.store import keys
from tests import test_follows, test_rules_suggest, test_slack_commands
from tests.fakes.slack_api import Message
from tests.test_follows import Pipe, report, said
from tests.test_rules_suggest import KEPT
from tests.test_slack_commands import Env
from tests.test_slack_home import open_home, texts
from tests.test_slack_rule_editor import button, interact

env = test_slack_commands.env
slack = test_slack_commands.slack
pipe = test_follows.pipe

__all__ = ["env", "pipe", "slack"]  # the fixtures


def shown(message: Message) -> str:
    """What a reader sees of a message: its notification text and every block but the
    buttons (whose values are for the app)."""
    blocks = [b for b in message.blocks if b.get("type") != "actions"]
    text = message.text + "\n" + json.dumps(blocks, ensure_ascii=False)
    return re.sub(r"https://[^\s|>\"]+", "LINK", text)  # the article's own address aside


def story_of(message: Message) -> tuple[str, str]:
    """(story id, alert id) that the message's buttons carry."""
    (actions,) = [b for b in message.blocks if b.get("type") == "actions"]
    return parse_button_value(actions["elements"][0]["value"])


async def test_a_dm_names_the_follow_by_its_query_never_by_an_id(env: Env, pipe: Pipe) -> None:
    await env.command("follow actor:witkoff", user="UMEMBER")
    await pipe.send(report(0))
    (dm,) = env.slack.messages
    assert dm.channel == "DUMEMBER"
    story_id, alert_id = story_of(dm)
    record = json.loads(await env.redis.get(keys.alert_record(alert_id)) or "{}")
    assert record["rule_id"] == "follow:UMEMBER:1"  # the matcher's id, kept inside
    (footer,) = [b for b in dm.blocks if b.get("type") == "context"]
    assert footer["elements"][0]["text"] == "Your follow: actor:witkoff"
    seen = shown(dm)
    assert "Your follow: actor:witkoff" in dm.text  # the notification says it too
    for internal in ("follow:UMEMBER", story_id, alert_id, record["article_id"], "slack:T1"):
        assert internal not in seen, internal


async def test_follow_and_unfollow_refresh_the_callers_app_home(env: Env) -> None:
    before = texts(await open_home(env, "UMEMBER"))
    assert "You follow nothing yet" in before
    published = len(env.slack.calls_to("views.publish"))
    await env.command("follow actor:witkoff", user="UMEMBER")
    await env.slack.wait_for(lambda: len(env.slack.calls_to("views.publish")) > published)
    assert "`actor:witkoff`" in texts(env.slack.home_views["UMEMBER"])

    published = len(env.slack.calls_to("views.publish"))
    await env.command("unfollow actor:witkoff", user="UMEMBER")
    await env.slack.wait_for(lambda: len(env.slack.calls_to("views.publish")) > published)
    assert "You follow nothing yet" in texts(env.slack.home_views["UMEMBER"])
    # only the caller's own home: nobody else's is published for a personal change
    assert {c.args["user_id"] for c in env.slack.calls_to("views.publish")} == {"UMEMBER"}


async def test_a_follow_slack_cannot_dm_shows_as_failing_with_the_reason(
    env: Env, pipe: Pipe
) -> None:
    # UGONE runs commands but Slack cannot open a DM with them (user_not_found)
    await env.command("follow actor:witkoff", user="UGONE")
    await env.command("follow Kushner", user="UMEMBER")
    await pipe.send(report(0))
    assert pipe.dispatcher.stats.dead == 1
    assert [m.channel for m in env.slack.messages] == ["DUMEMBER"]

    listed = said(await env.command("follows", user="UGONE"))
    assert "actor:witkoff" in listed and "failing: not delivered since" in listed
    assert "Slack does not know this account" in listed and "user_not_found" in listed
    home = texts(await open_home(env, "UGONE"))
    assert ":x: failing: not delivered since" in home and "user_not_found" in home
    # a follower whose DMs arrive sees nothing failing
    assert "failing" not in said(await env.command("follows", user="UMEMBER"))
    assert "failing" not in texts(await open_home(env, "UMEMBER"))


async def test_suggest_opens_a_working_modal_at_once_then_puts_the_answer_in_it(
    env: Env,
) -> None:
    """Slack takes a views.open only within 3 s of the click (the trigger_id expires); a
    suggestion over many alerts takes longer. The modal is opened first, before any other
    call (even the caller's lookup), and updated with the suggestion when it is ready."""
    many = tuple(
        (f"Witkoff meets envoys, round {i}", f"Witkoff and Dmitriev talk again, round {i}")
        for i in range(300)
    )
    service = CommandService(env.redis)
    await test_rules_suggest.seed(
        env.redis, service, datetime.now(UTC), kept=tuple((t, t) for t in KEPT) + many
    )
    await interact(env, button("UMEMBER", ACTION_RULE_SUGGEST, "witkoff"))
    await env.slack.wait_for(lambda: env.slack.calls_to("views.update"), 60)

    methods = [c.method for c in env.slack.calls if c.method != "auth.test"]  # bolt's, at start
    assert methods[0] == "views.open" and methods[-1] == "views.update"
    (opened,) = env.slack.calls_to("views.open")
    assert opened.args["trigger_id"] == "1.2.3"
    assert "Working on a suggestion" in json.dumps(opened.args["view"])
    (update,) = env.slack.calls_to("views.update")
    (view_id,) = env.slack.views
    assert update.args["view_id"] == view_id  # the modal opened above, by its id
    answer = json.dumps(env.slack.views[view_id], ensure_ascii=False)
    assert "(Witkoff) -opinion" in answer and "Working on" not in answer
