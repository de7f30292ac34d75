"""`peacewatch config check` and the warnings of `rules check`: every problem at file:line:col."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from peacewatch.configcheck import check_config, destination_problem, served_platforms

ROOT = Path(__file__).resolve().parents[1]

BAD = """\
team: default
backfill_hours: -1
colour: blue
feeds:
  - {id: a, url: "https://example.org/feed"}
  - {id: a, url: "ftp://example.org/other"}
  - {id: b, url: "https://example.org/feed"}
rules:
  - id: one
    query: 'Witkoff AND (Donbas'
    channels: ["slak:C0123"]
  - id: two
    query: "Putin NEAR5 Trump or Zelensky"
    channels: ["slack:#general", "discord:#news", "slack:C0123ABCD"]
  - id: three
    query: 'actor:witkof'
  - id: digest-only
    query: 'Lavrov'
    digest: daily
  - id: two
    query: 'x'
    channels: ["console:x"]
  - id: five
    query: |
      (Donbas OR Crimea) NEAR/10
      (talks plan)
    channels: ["console:x", "nochannel"]
  - id: silent
    query: 'Umerov'
"""


CHAT_CREDENTIALS = ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "DISCORD_TOKEN")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The command run in an environment with no chat credentials."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in CHAT_CREDENTIALS}
    return subprocess.run(
        [sys.executable, "-m", "peacewatch", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip


def test_every_problem_of_a_config_is_listed_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    found = [(f.line, f.column, f.warning, f.message) for f in check_config(path)]
    assert found == [
        (2, 17, False, "backfill_hours: Input should be greater than or equal to 0"),
        (3, 1, False, "colour: Extra inputs are not permitted"),
        (6, 10, False, "feed id 'a' is used by feeds[0]"),
        (6, 18, False, "feeds[1].url: a feed URL starts with http:// or https://"),
        (7, 18, False, "feeds[0] has the same URL"),
        (10, 32, False, "rule 'one': expected ')' after 'Donbas'"),
        (
            11,
            16,
            False,
            "unknown platform 'slak' in 'slak:C0123': did you mean 'slack'? a destination"
            " starts with one of console, discord, discordhook, slack",
        ),
        (13, 19, True, "rule 'two': did you mean NEAR/5? 'NEAR5' is searched as a word"),
        (13, 31, True, "rule 'two': did you mean OR? lower-case 'or' is searched as a word"),
        (
            14,
            16,
            False,
            "'slack:#general' names a channel, but alerts need its id: use a Slack channel id"
            " such as slack:C0123ABCD (in Slack: the channel's name, then About, then Channel"
            " ID at the bottom)",
        ),
        (
            14,
            34,
            False,
            "'discord:#news' names a channel, but alerts need its id: use a Discord channel id"
            " such as discord:112233445566778899 (in Discord, with developer mode on:"
            " right-click the channel, Copy Channel ID)",
        ),
        (
            15,
            5,
            False,
            "rule 'three' has no channels, so its alerts would go nowhere: add channels"
            ' (e.g. channels: ["slack:C0123ABCD"]) or a digest (digest: daily)',
        ),
        (16, 13, False, "rule 'three': unknown actor 'witkof'; did you mean 'witkoff'?"),
        (20, 9, False, "rule id 'two' is used by rules[1]"),
        (
            26,
            14,
            False,
            "rule 'five': a NEAR group holds alternatives joined by OR; AND cannot be used inside"
            " one (write (a NEAR/5 c) AND (b NEAR/5 c))",
        ),
        (
            27,
            15,
            False,
            "rules[5].channels: destination 'nochannel' must look like platform:channel",
        ),
        (
            28,
            5,
            False,
            "rule 'silent' has no channels, so its alerts would go nowhere: add channels"
            ' (e.g. channels: ["slack:C0123ABCD"]) or a digest (digest: daily)',
        ),
    ]


def test_destinations_every_sink_can_serve_pass() -> None:
    for text in (
        "console:alerts",
        "slack:C0123ABCD",
        "discord:112233445566778899",
        "discordhook:https://discord.com/api/webhooks/112233/" + "a" * 40,
    ):
        assert destination_problem(text) is None, text
    assert "not a Slack channel id" in (destination_problem("slack:general") or "")
    assert "not a Discord channel id" in (destination_problem("discord:news") or "")
    assert "not a Discord webhook URL" in (destination_problem("discordhook:https://x.org/") or "")
    assert "unknown platform 'teams'" in (destination_problem("teams:abc") or "")


def test_yaml_that_does_not_parse_is_located(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("rules:\n  - id: a\n    query: 'unclosed\n")
    (problem,) = check_config(path)
    # at the quote that is never closed, not at the end of the file where the parser gave up
    assert (problem.line, problem.column) == (3, 12) and "invalid YAML" in problem.message
    assert "quote opened here is never closed" in problem.message
    (missing,) = check_config(tmp_path / "missing.yaml")
    assert str(missing).startswith(f"{tmp_path / 'missing.yaml'}:1:1: cannot read:")


def test_config_check_exits_2_on_errors_and_0_on_warnings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    result = cli("config", "check", str(bad))
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 18
    assert f"{bad}:13:19: warning: rule 'two': did you mean NEAR/5?" in result.stdout
    assert (
        f"{bad}:14:51: warning: nothing in this environment can post to 'slack:C0123ABCD':"
        " peacewatch run needs SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET),"
        " or it refuses to start"
    ) in lines
    assert f"{bad}:11:16: unknown platform 'slak'" in result.stdout
    warned = tmp_path / "warned.yaml"
    warned.write_text("rules:\n  - id: w\n    query: peace and talks\n    channels: [console:x]\n")
    ok = cli("config", "check", str(warned))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout == (
        f"{warned}:3:18: warning: rule 'w': did you mean AND? lower-case 'and' is searched"
        " as a word\n"
    )
    assert f"{warned}: OK (1 warning)" in ok.stderr


def test_rules_check_prints_warnings_and_still_passes(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: w\n"
        "    query: 'Putin near/5 Trump'\n"
        "  - id: x\n"
        "    query: >-\n"
        "      Witkoff\n"
        "      NEAR10 Dmitriev\n"
    )
    result = cli("rules", "check", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{rules}:3:19: warning: rule 'w': did you mean NEAR/5? lower-case 'near/5' is searched"
        " as the words 'near' and '5'",
        f"{rules}:7:7: warning: rule 'x': did you mean NEAR/10? 'NEAR10' is searched as a word",
    ]


CHANNELS = """\
rules:
  - id: r
    query: Witkoff
    channels:
      - console:alerts
      - slack:C0123ABCD
      - discord:112233445566778899
      - discordhook:https://discord.com/api/webhooks/112233/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
"""


def test_destinations_no_configured_platform_serves_get_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CHANNELS)
    console_only = check_config(path, frozenset({"console"}))
    assert [(p.line, p.warning) for p in console_only] == [(6, True), (7, True), (8, True)]
    assert "needs DISCORD_TOKEN" in console_only[1].message
    assert check_config(path, frozenset({"console", "slack", "discord", "discordhook"})) == []
    slack_only = check_config(path, frozenset({"console", "slack"}))
    assert [p.line for p in slack_only] == [7, 8]


def test_served_platforms_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CHAT_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    # a Discord webhook URL is its own credential
    assert served_platforms() == {"console", "discordhook"}
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    assert served_platforms() == {"console", "slack", "discordhook"}
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    assert served_platforms() == {"console", "slack", "discord", "discordhook"}
