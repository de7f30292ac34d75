"""The command-line contracts of DESIGN.md §6, run as a user would run them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from peacewatch.demo.run import run_demo

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peacewatch", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip


RULES = """\
rules:
  - id: witkoff-donbas
    query: 'Witkoff AND (Donbas OR "security guarantees") -opinion'
    channels: ["slack:C0123ABCD"]
  - id: envoy
    query: 'Dmitriev OR Уиткофф'
"""
IMPORTABLE = RULES + "    digest: daily\n"
"""A team's rules must post somewhere: the rule without channels sends a daily digest."""
ARTICLES = [
    {"id": "a1", "title": "Witkoff on security guarantees", "summary": "Steve Witkoff said "
     "security guarantees were close. Talks go on.", "link": "https://x.example/1",
     "published": "2026-01-06T12:00:00Z", "source": "x.example", "lang": "en"},
    {"id": "a2", "title": "Уиткоффа ждут в Москве", "published": "2026-01-06"},
    {"id": "a3", "title": "Opinion: Witkoff and Donbas"},
]  # fmt: skip


def test_match_prints_one_line_per_match_and_reports_broken_lines(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    articles = tmp_path / "a.jsonl"
    lines = [json.dumps(a, ensure_ascii=False) for a in ARTICLES]
    articles.write_text("\n".join([lines[0], "{broken", lines[1], lines[2]]) + "\n")
    result = cli("match", "--rules", str(rules), "--articles", str(articles))
    out = [json.loads(line) for line in result.stdout.splitlines()]
    # Уиткофф names the entity witkoff, so it finds every spelling and inflection of it
    assert [(o["article_id"], o["rule_id"]) for o in out] == [
        ("a1", "witkoff-donbas"),
        ("a1", "envoy"),
        ("a2", "envoy"),
        ("a3", "envoy"),
    ]
    first = out[0]
    assert first["matched"] == ["Witkoff", "security guarantees"]
    assert first["summary"].startswith("Steve Witkoff said security guarantees")
    assert {"term", "field", "start", "end", "text"} <= set(first["hits"][0])
    assert f"{articles}:2:" in result.stderr  # the broken line, by number; the rest still ran
    assert result.returncode == 2


def test_rules_check_reports_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n"
        "  - id: ok\n"
        "    query: Witkoff\n"
        "  - id: broken\n"
        "    query: 'Witkoff AND (Donbas'\n"
        "  - id: unknown\n"
        "    query: actor:nobody\n"
        "  - id: extra\n"
        "    query: Witkoff\n"
        "    colour: red\n"
    )
    result = cli("rules", "check", str(bad))
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert lines[0] == f"{bad}:5:32: rule 'broken': expected ')' after 'Donbas'"
    assert lines[1].startswith(f"{bad}:7:12: rule 'unknown': unknown actor 'nobody'")
    assert lines[2].startswith(f"{bad}:10:5: rules[3].colour:")
    good = tmp_path / "good.yaml"
    good.write_text(RULES)
    ok = cli("rules", "check", str(good))
    assert ok.returncode == 0 and ok.stdout == ""


def test_stories_groups_articles(tmp_path: Path) -> None:
    articles = tmp_path / "a.jsonl"
    rows = [
        {"id": "1", "title": "Witkoff and Kushner Meet With Putin to Discuss Trump's Ukraine "
         "Peace Plan", "published": "2025-12-02T14:40:00Z", "source": "themoscowtimes.com"},
        {"id": "2", "title": "Witkoff and Kushner meet Putin in Moscow to discuss Trump's "
         "Ukraine peace plan", "published": "2025-12-02T16:00:00Z", "source": "bbc.com"},
        {"id": "3", "title": "Alaska earthquake shakes Anchorage", "published":
         "2025-12-02T17:00:00Z", "source": "example.org"},
    ]  # fmt: skip
    articles.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = cli("stories", "--articles", str(articles))
    assert result.returncode == 0, result.stderr
    story = {o["article_id"]: o["story_id"] for o in map(json.loads, result.stdout.splitlines())}
    assert list(story) == ["1", "2", "3"]
    assert story["1"] == story["2"] != story["3"]
    strict = cli("stories", "--articles", str(articles), "--threshold", "0.999")
    assert strict.returncode == 0, strict.stderr
    assert len({json.loads(line)["story_id"] for line in strict.stdout.splitlines()}) == 3
    bad = cli("stories", "--articles", str(articles), "--threshold", "1.5")
    assert bad.returncode == 2 and "threshold" in bad.stderr


def test_feeds_check_refuses_private_addresses() -> None:
    result = cli("feeds", "check", "http://127.0.0.1:9/feed.xml")
    assert result.returncode == 2
    assert "127.0.0.1" in result.stderr and "refused" in result.stderr.lower()


def test_bad_config_exits_2_with_the_field(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("feeds:\n  - url: ftp://x\n")
    env = {"PATH": "/usr/bin:/bin", "PEACEWATCH_DATA_DIR": str(tmp_path / "data")}
    result = cli("run", "--config", str(config), env=env)
    assert result.returncode == 2
    # the same file:line:col messages as peacewatch config check
    assert f"{config}:2:10: feeds[0].url: " in result.stderr
    config.write_text("rules:\n  - {id: r1, query: 'Witkoff AND (Donbas'}\n")
    result = cli("run", "--config", str(config), env=env)
    assert result.returncode == 2
    assert f"{config}:2:41: rule 'r1': expected ')' after 'Donbas'" in result.stderr
    config.write_text("story_threshold: 1.5\n")
    result = cli("run", "--config", str(config), env=env)
    assert result.returncode == 2
    assert "story_threshold" in result.stderr and "less than 1" in result.stderr


async def test_demo_shows_alerts_and_followups_from_real_samples(tmp_path: Path) -> None:
    out = io.StringIO()
    summary = await run_demo(tmp_path, out)
    text = out.getvalue()
    assert summary.feeds >= 3 and summary.items >= 40
    assert summary.alerts >= 5 and summary.followups >= 1
    assert summary.widest_story >= 3  # one story's reports from three outlets in its threads
    assert summary.not_modified == summary.feeds  # the third poll was answered 304
    assert "Witkoff" in text and "Follow-up" in text
    # a second run starts clean and shows the same alerts again
    again = await run_demo(tmp_path, io.StringIO())
    assert again.alerts == summary.alerts


def test_rules_import_export_round_trip(tmp_path: Path) -> None:
    import os

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        'entities:\n  - id: bevz\n    kind: actor\n    names: ["Oleksandr Bevz", "Бевз"]\n'
        + IMPORTABLE
    )
    env = {**os.environ, "PEACEWATCH_DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)
    imported = cli("rules", "import", str(rules), "--team", "slack:T1", env=env)
    assert imported.returncode == 0, imported.stderr
    exported = cli("rules", "export", "-", "--team", "slack:T1", env=env)
    out = tmp_path / "out.yaml"
    out.write_text(exported.stdout)
    again = cli("rules", "import", str(out), "--team", "slack:T2", env=env)
    assert again.returncode == 0, again.stderr
    second = cli("rules", "export", "-", "--team", "slack:T2", env=env)
    assert second.stdout == exported.stdout
    assert "witkoff-donbas" in exported.stdout and "Бевз" in exported.stdout
    other = cli("rules", "export", "-", "--team", "slack:T9", env=env)
    assert "witkoff" not in other.stdout  # another team sees nothing of it
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - id: x\n    query: 'a AND ('\n")
    refused = cli("rules", "import", str(broken), "--team", "slack:T1", env=env)
    assert refused.returncode == 2 and ":3:" in refused.stderr
    still = cli("rules", "export", "-", "--team", "slack:T1", env=env)
    assert still.stdout == exported.stdout  # a bad file changes nothing


def test_discord_sync_needs_a_token(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PEACEWATCH_DATA_DIR": str(tmp_path)}
    result = cli("discord", "sync", env=env)
    assert result.returncode == 2 and "DISCORD_TOKEN" in result.stderr


def test_rules_check_columns_count_yaml_escapes_and_block_scalars(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: a\n"
        "    query: 'Putin''s AND (Donbas'\n"
        "  - id: b\n"
        '    query: "\\"Witkoff\\" AND (Donbas"\n'
        "  - id: c\n"
        "    query: >-\n"
        "      Witkoff AND (Donbas\n"
    )
    result = cli("rules", "check", str(rules))
    lines = result.stdout.splitlines()
    source = rules.read_text().splitlines()
    for text in lines:
        _path, line, col, _message = text.split(":", 3)
        row = source[int(line) - 1]
        assert row[int(col) - 2 : int(col) - 1] == "s", (text, row)  # just after 'Donbas'
    assert [t.split(":")[1] for t in lines] == ["3", "5", "8"]


def test_status_reports_the_deployment(tmp_path: Path) -> None:
    import os

    rules = tmp_path / "rules.yaml"
    rules.write_text(IMPORTABLE)
    env = {**os.environ, "PEACEWATCH_DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)
    assert cli("rules", "import", str(rules), "--team", "slack:T1", env=env).returncode == 0
    result = cli("status", env=env)
    assert result.returncode == 0, result.stderr
    assert "teams: 1   rules: 2" in result.stdout
    assert "queue: stream=0" in result.stdout and "feeds: 0" in result.stdout
