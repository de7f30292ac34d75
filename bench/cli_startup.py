"""How long the offline commands take on one item: ``match``, ``stories`` and ``rules check``.

    python bench/cli_startup.py [--runs 5]

Each command runs ``--runs`` times as a user runs it (``python -m peacewatch ...``, a new
process each time) on one article and a one-rule file, after one run that fills the cache
(``PEACEWATCH_CACHE_DIR``, a fresh temporary directory), with the article's language given and
not (then the language detector is loaded). Prints the median wall and CPU seconds (user and
system of the child) of each, beside the baseline measured in the same run: ``peacewatch
--help``, the cost of starting the interpreter and the command line alone. The target is
1.5 s of wall time; on a busy machine wall time is far above CPU time, so both are shown and
the target is checked on the CPU time too. Ends with one ``FIGURE`` line per command.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.5
RULES = "rules:\n  - id: talks\n    query: ceasefire AND (Zelensky OR Putin)\n"
ARTICLE = {
    "id": "a1",
    "title": "Zelensky and Putin envoys meet for ceasefire talks in Istanbul",
    "summary": "Talks in Istanbul on a ceasefire resumed on Monday. Ukraine and Russia sent "
    "delegations led by their defence ministers. A prisoner exchange was agreed.",
    "published": "2026-01-05T10:00:00Z",
    "link": "https://example.com/a",
}


def timed(args: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``peacewatch args``."""
    before = os.times()
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "peacewatch", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"peacewatch {' '.join(args)} failed: {done.stderr[-1000:]}")
    cpu = after.children_user - before.children_user
    return wall, cpu + after.children_system - before.children_system


def median_of(args: Sequence[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    timed(args, env)  # fills the cache
    walls, cpus = zip(*(timed(args, env) for _ in range(runs)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        here = Path(scratch)
        rules = here / "rules.yaml"
        rules.write_text(RULES, encoding="utf-8")
        with_lang = here / "with_lang.jsonl"
        with_lang.write_text(json.dumps({**ARTICLE, "lang": "en"}) + "\n", encoding="utf-8")
        no_lang = here / "no_lang.jsonl"
        no_lang.write_text(json.dumps(ARTICLE) + "\n", encoding="utf-8")
        env = {**os.environ, "PEACEWATCH_CACHE_DIR": str(here / "cache")}
        commands = {
            "match": ["match", "--rules", str(rules), "--articles", str(with_lang)],
            "match_detect_lang": ["match", "--rules", str(rules), "--articles", str(no_lang)],
            "stories": ["stories", "--articles", str(with_lang)],
            "stories_detect_lang": ["stories", "--articles", str(no_lang)],
            "rules_check": ["rules", "check", str(rules)],
        }
        base_wall, base_cpu = median_of(["--help"], env, args.runs)
        print(f"{'command':<22} {'wall s':>7} {'CPU s':>7}   (median of {args.runs} runs)")
        print(f"{'--help (baseline)':<22} {base_wall:>7.2f} {base_cpu:>7.2f}")
        figures = []
        for name, command in commands.items():
            wall, cpu = median_of(command, env, args.runs)
            print(f"{name:<22} {wall:>7.2f} {cpu:>7.2f}", flush=True)
            figures.append(
                f"FIGURE name=cli_{name}_one_item_s value={wall:.3g} baseline={base_wall:.3g} "
                f"target=<{TARGET_S:g}s met={'yes' if wall < TARGET_S else 'no'}"
            )
            figures.append(
                f"FIGURE name=cli_{name}_one_item_cpu_s value={cpu:.3g} baseline={base_cpu:.3g} "
                f"target=<{TARGET_S:g}s met={'yes' if cpu < TARGET_S else 'no'}"
            )
    print()
    print("\n".join(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
