"""The C heap's free pages go back to the system."""

from __future__ import annotations

import sys

import pytest

from peacewatch.heap import release_free_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_memory_is_returned() -> None:
    release_free_memory()
    blocks = [bytes(2000) + n.to_bytes(4, "big") for n in range(50_000)]  # 100 MB, malloc'd
    keep = blocks[-1]
    del blocks
    assert release_free_memory()  # pages were freed, and handed back
    assert keep.endswith((49_999).to_bytes(4, "big"))
