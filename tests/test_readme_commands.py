"""Every command in the README's sh blocks runs as written (offline), or is listed here as not
runnable in a test, with the reason: a new README command fails this test until classified."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from tests.fakes.feed_server import FeedServer
from tests.helpers import REPO_ROOT, SAMPLE_ITEMS, dated, free_port, rss

SKIPPED = {
    "make test": "runs this test suite itself, with lint and type checks",
    "make format": "rewrites the working tree's files",
    "make bench": "benchmarks run for minutes",
    "peacewatch feeds check https://www.themoscowtimes.com/rss/news": "fetches a public feed",
    "peacewatch discord sync [--guild ID]": "needs a Discord application and its bot token",
}
"""README commands the test does not run, and why."""

RUN_AS = {
    "make demo": [("peacewatch demo", "== Done: ")],  # the venv exists; the demo is the same
    "peacewatch deadletters list|retry|drop [ID...|--all]": [
        ("peacewatch deadletters list", "no dead letters"),
        ("peacewatch deadletters retry --all", ""),
        ("peacewatch deadletters drop --all", ""),
    ],
}
"""README commands written as a synopsis or through make: what the test runs instead, and a
text the output holds."""

RUN = {
    "peacewatch rules check rules.yaml": "rules.yaml: 1 rules OK",
    "peacewatch config check peacewatch.example.yaml": "peacewatch.example.yaml: OK",
    "peacewatch match --rules rules.yaml --articles a.jsonl": '"rule_id": "envoys"',
    "peacewatch rules explain --rule 'Witkoff NEAR/5 Putin' --article article.json": (
        "5 words apart in the title"
    ),
    "peacewatch stories --articles a.jsonl": '"story_id": ',
    "peacewatch rules import rules.yaml --team slack:T0123": "imported rules.yaml into team",
    "peacewatch rules export - --team slack:T0123": "query: Witkoff OR Dmitriev",
    "peacewatch status": "rules: 1",
    "peacewatch sources list --kind telegram --lang uk": "zelensky-tg",
}
"""README commands the test runs as written (in a directory holding the files they name, on
an embedded Redis of its own), and a text their output holds."""

STARTED = {
    ".venv/bin/peacewatch run --config peacewatch.example.yaml": "poll cycle: 1 feeds polled, 1 ok",
}
"""Long-running commands: started (the example config's feeds swapped for a local one, as no
test reaches the internet), run until the log shows the line, then stopped with SIGTERM."""

RULES = """\
rules:
  - id: envoys
    query: 'Witkoff OR Dmitriev'
    channels: ["console:desk"]
"""


def readme_commands() -> list[str]:
    """Each command line of the README's ``sh`` blocks as written, its ``# comment`` dropped."""
    tokens = MarkdownIt().parse((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    commands = []
    for token in tokens:
        if token.type == "fence" and token.info.strip() == "sh":
            for line in token.content.splitlines():
                command = " ".join(re.sub(r"(^|\s)# .*$", "", line).split())
                if command:
                    shlex.split(command)  # quotes closed
                    commands.append(command)
    return commands


def test_every_readme_command_is_classified() -> None:
    classified = [*SKIPPED, *RUN_AS, *RUN, *STARTED]
    commands = readme_commands()
    assert len(classified) == len(set(classified))
    unclassified = [c for c in commands if c not in classified]
    assert not unclassified, f"README commands this test neither runs nor skips: {unclassified}"
    stale = [c for c in classified if c not in commands]
    assert not stale, f"commands the README no longer shows: {stale}"


def _workdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A directory with the files the README's commands name, and their environment."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "rules.yaml").write_text(RULES, encoding="utf-8")
    items = dated(SAMPLE_ITEMS, datetime(2025, 11, 25, 12, tzinfo=UTC), timedelta(minutes=5))
    lines = [
        json.dumps({"id": str(n), "title": i["title"], "link": i["link"],
                    "published": i["published"].isoformat(), "summary": i["summary"]})
        for n, i in enumerate(items)
    ]  # fmt: skip
    (work / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (work / "article.json").write_text(lines[0], encoding="utf-8")  # Witkoff ... With Putin
    shutil.copy(REPO_ROOT / "peacewatch.example.yaml", work)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "PEACEWATCH_DATA_DIR": str(tmp_path / "data"),
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
        "PEACEWATCH_HTTP_PORT": str(free_port()),
    }
    env.pop("REDIS_URL", None)
    return work, env


def _argv(command: str) -> list[str]:
    """The command's words, ``peacewatch`` being the console script of this environment."""
    words = shlex.split(command)
    script = Path(sys.executable).parent / "peacewatch"
    assert script.exists(), "the peacewatch console script is not installed"
    if words[0] in ("peacewatch", ".venv/bin/peacewatch"):
        words[0] = str(script)
    return words


def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    work, env = _workdir(tmp_path)
    readme = readme_commands()
    runs = {**RUN, **RUN_AS}
    for command in [c for c in readme if c in runs]:
        wanted = RUN_AS.get(command) or [(command, RUN[command])]
        for argv, holds in wanted:
            done = subprocess.run(
                _argv(argv), cwd=work, env=env, capture_output=True, text=True, timeout=120
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{output[-2000:]}"
            assert holds in output, f"{argv} printed no {holds!r}:\n{output[-2000:]}"


async def test_readme_run_command_starts_and_stops(tmp_path: Path) -> None:
    work, env = _workdir(tmp_path)
    ((command, started),) = STARTED.items()
    config = yaml.safe_load((work / "peacewatch.example.yaml").read_text(encoding="utf-8"))
    items = dated(SAMPLE_ITEMS, datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=5))
    async with FeedServer() as server:
        server.set_feed("/feed.xml", rss(items))
        config["feeds"] = [{"id": "local", "url": server.url("/feed.xml"), "interval": 10}]
        (work / "peacewatch.example.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env["PEACEWATCH_ALLOW_NETWORKS"] = "127.0.0.1/32"
        argv = _argv(command)
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=work, env=env, stderr=asyncio.subprocess.PIPE
        )
        assert proc.stderr is not None
        log: list[str] = []
        try:
            for _ in range(200):  # start-up and the first poll log a handful of lines
                line = await asyncio.wait_for(proc.stderr.readline(), 60)
                assert line, "".join(log)
                log.append(line.decode())
                if started in log[-1]:
                    break
            assert started in log[-1], "".join(log)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, rest = await asyncio.wait_for(proc.communicate(), 30)
            except TimeoutError:
                proc.kill()
                _, rest = await proc.communicate()
                raise AssertionError("".join(log) + rest.decode()) from None
    assert proc.returncode == 0, "".join(log) + rest.decode()
