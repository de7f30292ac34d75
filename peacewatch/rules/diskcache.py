"""A cache on disk for what is slow to compute and depends only on its inputs and this code:
inflected forms of names, and compiled rule sets.

Every entry is a file named by a hash of everything it was computed from, including
``code_version()`` (the source of the rules package, its data and the versions of the
libraries that shape a compiled rule), so a change to any of them is a new name, never a stale
hit. A file holds its own SHA-256 digest: one that is cut short or altered fails the check and
is ignored (and written again). Files are written to a temporary name and renamed, so a reader
never sees half a file, even with several processes at once.

The directory is ``PEACEWATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/peacewatch``, else
``~/.cache/peacewatch``; ``PEACEWATCH_CACHE_DIR=off`` turns the cache off. A directory that
cannot be created or written only costs speed: nothing fails for it.

Entries are pickles read only from this directory, which belongs to the user running
peacewatch; anyone who can write there can already change what that user runs.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import importlib.util
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "code_version", "digest", "read", "write"]

_MAGIC = b"PWCACHE1"
_DIGEST = 32
_MAX_FILES = 64
"""Entries of one kind kept by default; older ones are removed when a new one is written."""
_LIBRARIES = (
    *("pymorphy3", "pymorphy3_dicts_ru", "pymorphy3_dicts_uk", "dawg_python"),
    *("ahocorasick_rs", "pydantic", "yaml", "numpy"),  # numpy: the indexes are its arrays
)
_SOURCES = ("models.py", "errors.py", "yamlerrors.py")
"""Modules outside the rules package whose code shapes a compiled rule set."""


def cache_dir() -> Path | None:
    """Where entries go, or None when the cache is off."""
    given = os.environ.get("PEACEWATCH_CACHE_DIR", "").strip()
    if given.lower() in ("off", "none", "0", "false"):
        return None
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "peacewatch"


@functools.cache
def code_version() -> str:
    """A hash of the code and data that compiling depends on, and the libraries' versions."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(sys.version.encode())
    files = sorted(here.glob("*.py")) + sorted((here / "data").rglob("*"))
    files += [here.parent / name for name in _SOURCES]
    for path in files:
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in _LIBRARIES:
        try:  # found, not imported: a warm start must not pay for importing them
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        location = (spec.origin or "") if spec is not None else "missing"
        h.update(f"{name}@{_stamp(location)}".encode())
    return h.hexdigest()


def _stamp(location: str) -> str:
    """Where a library lives and when it was installed: changes when it is upgraded (its
    ``__init__`` is written anew)."""
    if not location:
        return ""
    try:
        return f"{location}:{os.stat(location).st_mtime_ns}"
    except OSError:
        return location


def digest(*parts: bytes | str) -> str:
    """A key for ``read``/``write``: a hash of ``parts`` and of ``code_version()``."""
    h = hashlib.sha256(code_version().encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:40]


def _path(kind: str, key: str) -> Path | None:
    base = cache_dir()
    return None if base is None else base / f"{kind}-{key}.pickle"


def _private(path: Path) -> bool:
    """Whether ``path`` belongs to this user and nobody else may write it: an entry is
    unpickled, so one that someone else could have planted (a shared or world-writable cache
    folder) is never read, and such a folder is never written to."""
    getuid = getattr(os, "getuid", None)
    try:
        st = path.stat()
    except OSError:
        return False
    mine = getuid is None or st.st_uid == getuid()
    return mine and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read(kind: str, key: str) -> Any | None:
    """The value stored under (``kind``, ``key``), or None if there is none or it is damaged."""
    path = _path(kind, key)
    if path is None:
        return None
    if not (_private(path.parent) and _private(path)):
        return None
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST
    payload = blob[head:]
    stored = blob[len(_MAGIC) : head]
    if blob[: len(_MAGIC)] != _MAGIC or hashlib.sha256(payload).digest() != stored:
        return None
    # no cyclic collection while unpickling: the objects made are all kept, and a compiled rule
    # set makes enough of them to start several full collections that find nothing
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(payload)  # noqa: S301 - our own file, its digest checked
    except Exception:
        return None
    finally:
        if enabled:
            gc.enable()


def write(kind: str, key: str, value: object, keep: int = _MAX_FILES) -> bool:
    """Store ``value`` under (``kind``, ``key``), keeping the newest ``keep`` entries of that
    kind; False (and nothing raised) if it cannot be stored."""
    path = _path(kind, key)
    if path is None:
        return False
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(path.parent):
            return False
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return False
    _prune(path.parent, kind, keep)
    return True


def _prune(directory: Path, kind: str, keep: int) -> None:
    """Remove all but the newest ``keep`` entries of ``kind``."""
    try:
        entries = sorted(
            directory.glob(f"{kind}-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in entries[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
