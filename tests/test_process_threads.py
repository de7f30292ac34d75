"""Processes of the program start no threads they do not use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_COUNT = (
    "import peacewatch.rules.compiled, os; "  # the matcher's module, which imports numpy
    "print(len(os.listdir('/proc/self/task')))"
)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_importing_the_matcher_starts_no_blas_threads() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", _COUNT], env=env, capture_output=True, text=True, check=True
    )
    assert int(done.stdout) == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_a_thread_count_the_user_set_is_kept() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "2"
    code = "import peacewatch, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "2"
