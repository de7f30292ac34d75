"""Every benchmark in its quick form, one after another, and one table of their figures.

    .venv/bin/python bench/report.py [--only ingest,latency] [--budget 600] [--logs DIR]

Runs each bench of :data:`BENCHES` as a subprocess (its quick options; one at a time, so no
bench's wall-clock figures are disturbed by another), keeps its output in ``--logs`` (a new
temporary directory by default), and collects the lines it prints of the form

    FIGURE name=<figure> value=<x> baseline=<y> target=<t> met=<yes|no>

then prints one table: figure, value, baseline, target, met or MISSED. A bench that fails, runs
past its time or prints no FIGURE line gets a row saying so. The benches share ``--budget``
seconds (10 minutes by default): each gets its own limit, cut to what is left, and those that
no longer fit are listed as not run. Exit status 1 when a bench failed or a target was missed.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIGURE = re.compile(
    r"^FIGURE name=(?P<name>\S+) value=(?P<value>\S*) baseline=(?P<baseline>\S*) "
    r"target=(?P<target>\S*) met=(?P<met>yes|no)\s*$"
)


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    limit: float
    """Seconds it may run (its usual time on the 2-core machine, with room)."""


BENCHES = (
    Bench("rules", ("bench/rules.py", "--sizes", "1000,10000", "--repeats", "3"), 120),
    # 10,000 rules over 2,000 articles: over 500, the command's start was a third of its time
    Bench("match_cli", ("bench/match_cli.py", "--articles", "2000", "--regex-seconds", "5"), 90),
    Bench("clusters", ("bench/clusters.py",), 40),
    Bench("assign_throughput", ("bench/assign_throughput.py", "--runs", "1"), 60),
    Bench(
        "backtest_preview",
        ("bench/backtest_preview.py", "--articles", "20000", "--rounds", "2"),
        45,
    ),
    Bench("summit_day", ("bench/summit_day.py",), 90),
    Bench("ingest", ("bench/ingest.py", "--quick"), 210),
    Bench("latency", ("bench/latency.py", "--quick"), 270),
    Bench("stream_joins", ("bench/stream_joins.py",), 120),
    Bench("status", ("bench/status.py", "--rounds", "3"), 60),
    # last: on the slowest machines the budget may run out before it or during it, and then
    # it alone gives no figures
    Bench("rules_growth", ("bench/rules.py", "--sizes", "100,100000", "--repeats", "3"), 150),
)


@dataclass(frozen=True)
class Row:
    bench: str
    name: str
    value: str
    baseline: str
    target: str
    met: bool | None  # None: the bench gave no figure


def parse_figures(bench: str, text: str) -> list[Row]:
    """The FIGURE lines of a bench's output."""
    rows = []
    for line in text.splitlines():
        found = FIGURE.match(line.strip())
        if found:
            rows.append(Row(bench, found["name"], found["value"], found["baseline"],
                            found["target"], found["met"] == "yes"))  # fmt: skip
    return rows


def run_bench(bench: Bench, limit: float, logs: Path) -> tuple[list[Row], str]:
    """Run one bench; its figures and how it ended ("" when it ended well)."""
    log = logs / f"{bench.name}.log"
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *bench.args], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            # The bench's own process group: its bots and their Redis servers stop on SIGTERM.
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            code = None
    seconds = time.monotonic() - started
    rows = parse_figures(bench.name, log.read_text(encoding="utf-8", errors="replace"))
    if code is None:
        ended = f"stopped after {limit:.0f} s"
    elif code != 0:
        ended = f"exit {code}"
    else:
        ended = "" if rows else "no FIGURE line"
    print(f"{bench.name:18} {seconds:6.0f} s  {len(rows)} figures  {ended or 'ok'}", flush=True)
    return rows, ended


def table(rows: list[Row]) -> str:
    head = ("figure", "value", "baseline", "target", "met")
    cells = [head] + [
        (r.name, r.value, r.baseline, r.target,
         "-" if r.met is None else "met" if r.met else "MISSED")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = [" | ".join(c[i].ljust(widths[i]) for i in range(len(head))) for c in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for all of them")
    parser.add_argument("--logs", type=Path, default=None, help="where the outputs are kept")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only.split(",")]
    logs = args.logs or Path(tempfile.mkdtemp(prefix="pw-bench-"))
    logs.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    rows: list[Row] = []
    failed = False
    for bench in chosen:
        left = deadline - time.monotonic()
        if left < min(bench.limit, 30):
            rows.append(Row(bench.name, f"{bench.name}: not run (budget spent)", "", "", "", None))
            failed = True
            continue
        got, ended = run_bench(bench, min(bench.limit, left), logs)
        rows += got
        if ended:
            rows.append(Row(bench.name, f"{bench.name}: {ended}", "", "", "", None))
            failed = True
    print(f"\noutputs in {logs}\n")
    print(table(rows))
    missed = [r for r in rows if r.met is False]
    print(f"\n{sum(1 for r in rows if r.met)} met, {len(missed)} missed")
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
