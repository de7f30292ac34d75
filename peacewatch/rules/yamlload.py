"""YAML of rules and config files, parsed once: by libyaml when PyYAML was built with it (the
pure-Python parser otherwise), keeping every node for errors located at file:line:col.

PyYAML is imported when a text is first parsed: a command that reads its rules from the disk
cache (``diskcache``) parses none."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

    Loader = type[yaml.SafeLoader] | type[yaml.CSafeLoader]


@functools.cache
def safe_loader() -> Loader:
    """The safe loader in use: libyaml's ``CSafeLoader`` where available (about ten times
    faster), else PyYAML's ``SafeLoader``."""
    import yaml

    return yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


def __getattr__(name: str) -> Any:
    if name == "LOADER":  # ``safe_loader()``, for callers that name the loader in use
        return safe_loader()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def compose_load(text: str, loader: Loader | None = None) -> tuple[yaml.Node | None, Any]:
    """The root node of ``text`` (its marks hold each value's line, column and character index)
    and the plain data built from that node, from a single parse. Raises ``yaml.YAMLError``.

    libyaml's marks carry no copy of the text (``mark.buffer`` is None): callers that need the
    source of a scalar slice ``text`` with ``mark.index``, a character offset either way."""
    parser = (loader or safe_loader())(text)
    try:
        root = parser.get_single_node()
        data = parser.construct_document(root) if root is not None else None
    finally:
        parser.dispose()
    return root, data


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` through the fastest safe loader there is."""
    import yaml

    return yaml.load(text, Loader=safe_loader())  # noqa: S506 - the loader is a SafeLoader
