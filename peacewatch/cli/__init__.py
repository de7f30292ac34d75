"""The command line; the only place that exits the process. Exit codes: 0 ok, 1 runtime
failure, 2 bad input or config."""

from __future__ import annotations

import signal

from peacewatch.cli import admin, rules, run  # noqa: F401  (each registers its commands)
from peacewatch.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    # A closed pipe (`peacewatch match ... | head`) ends a command quietly; `run` ignores
    # SIGPIPE again, since it must outlive a peer that goes away.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
