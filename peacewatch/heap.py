"""Hands the C heap's free pages back to the system (glibc's ``malloc_trim``).

A poll cycle that reads thousands of feeds allocates and frees a great deal; glibc keeps what
was freed inside its heaps for reuse, so the process's resident memory stays at its busiest
moment. ``malloc_trim(0)`` returns every whole free page (anywhere in the heaps, not only at
their top). Elsewhere than glibc (musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)  # glibc only
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_free_memory() -> bool:
    """Return the heap's free pages to the system; whether any were (False where unsupported)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
