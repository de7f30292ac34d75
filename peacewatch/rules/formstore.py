"""Inflected forms of Cyrillic names kept on disk between runs (pymorphy3 takes about a
millisecond a name, and the built-in dictionary alone has hundreds), in ``diskcache``."""

from __future__ import annotations

import atexit
from collections.abc import Callable

from peacewatch.rules import diskcache

_KIND = "forms"
_MAX_NAMES = 200_000
"""Names kept at most; past that the table starts again (it only saves time)."""

_table: dict[str, frozenset[str]] | None = None
_new: dict[str, frozenset[str]] = {}


def _key() -> str:
    return diskcache.digest(_KIND)


def _loaded() -> dict[str, frozenset[str]]:
    global _table
    if _table is None:
        found = diskcache.read(_KIND, _key())
        _table = found if isinstance(found, dict) else {}
    return _table


def forms(name: str, compute: Callable[[str], frozenset[str]]) -> frozenset[str]:
    """``compute(name)``, from the table on disk when a run before this one computed it."""
    table = _loaded()
    found = table.get(name)
    if isinstance(found, frozenset):
        return found
    found = compute(name)
    table[name] = found
    if not _new:
        atexit.register(save)
    _new[name] = found
    return found


def save() -> None:
    """Write the names computed since the table was read (merged with what other processes
    wrote meanwhile). Called at exit; calling it earlier is harmless."""
    if not _new:
        return
    on_disk = diskcache.read(_KIND, _key())
    table = on_disk if isinstance(on_disk, dict) and len(on_disk) < _MAX_NAMES else {}
    table.update(_new)
    if diskcache.write(_KIND, _key(), table):
        _new.clear()
