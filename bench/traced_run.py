"""`peacewatch run` with tracemalloc on, for ``bench/ingest.py --memory-by-module``.

    python bench/traced_run.py OUT.txt run --config FILE

Runs the command line as ``python -m peacewatch`` does, tracing every allocation; on SIGUSR1
it writes to OUT.txt the memory the Python heap holds now, by package or module (the traced
allocations grouped by the file that made them), and again at exit. Tracing costs CPU and
memory of its own: a run with it measures where the memory goes, never how much or how fast.
"""

from __future__ import annotations

import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parents[1]


def where(filename: str) -> str:
    """``peacewatch/stories/memory.py`` or ``aiohttp`` (a package outside the repository)."""
    path = Path(filename)
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        pass
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return "(python)" if "lib" in parts else filename


def dump(out: Path) -> None:
    snapshot = tracemalloc.take_snapshot()
    sizes: Counter[str] = Counter()
    for stat in snapshot.statistics("filename"):
        sizes[where(stat.traceback[0].filename)] += stat.size
    total = sum(sizes.values())
    lines = [f"traced Python heap {total / 2**20:,.1f} MB, by the file that allocated it:"]
    lines += [f"  {size / 2**20:8.1f} MB  {name}" for name, size in sizes.most_common(25)]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    out = Path(sys.argv[1])
    sys.argv = ["peacewatch", *sys.argv[2:]]
    tracemalloc.start()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        dump(out)

    signal.signal(signal.SIGUSR1, on_signal)
    from peacewatch.cli import main as cli

    try:
        cli()
    finally:
        dump(out)


if __name__ == "__main__":
    main()
