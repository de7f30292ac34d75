"""Failpoints: named places where the process exits hard when PEACEWATCH_FAILPOINT names them.

The fault suite (tests/faults/) sets ``PEACEWATCH_FAILPOINT=name[,name...]`` on a
``peacewatch run`` to kill it at an exact step, as a power cut or ``kill -9`` would there:
``name`` exits at the first pass through the point, ``name:N`` at the N-th. Unset (always, in
production) each :func:`failpoint` call is one set lookup and returns. The exit is
``os._exit(137)`` (the status of a SIGKILL seen by a shell): no ``finally`` block, no atexit
handler and no buffered write runs, so nothing tidies up after the point.

Points: ``ingest.after_submit`` (articles appended to the ingest stream, the poll not done),
``assigner.after_write`` (a batch's stories written, matching not started),
``pipeline.before_enqueue`` (an alert made and recorded, not yet on the alert stream),
``dispatcher.after_post`` (the platform accepted a post, the delivery not recorded).
"""

from __future__ import annotations

import os
import sys

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from peacewatch.errors import ConfigError

EXIT_STATUS = 137
POINTS = frozenset(
    {
        "ingest.after_submit",
        "assigner.after_write",
        "pipeline.before_enqueue",
        "dispatcher.after_post",
    }
)


class _FailpointSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    failpoint: str = Field(default="", alias="PEACEWATCH_FAILPOINT")


def parse(spec: str) -> dict[str, int]:
    """``"a,b:3"`` -> {"a": 1, "b": 3}: each point and the pass at which it exits. Raises
    ConfigError naming the bad part (an unknown point or a count that is not a positive
    integer)."""
    armed: dict[str, int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, count = part.partition(":")
        if name not in POINTS:
            known = ", ".join(sorted(POINTS))
            raise ConfigError(f"PEACEWATCH_FAILPOINT: unknown point {name!r} (known: {known})")
        if count and not (count.isdigit() and int(count) >= 1):
            raise ConfigError(
                f"PEACEWATCH_FAILPOINT: {part!r}: the pass count must be a whole number >= 1"
            )
        armed[name] = int(count) if count else 1
    return armed


_armed: dict[str, int] = parse(_FailpointSettings().failpoint)
"""Point -> passes left before it exits; read once, when the module is first imported."""


def failpoint(name: str) -> None:
    """Exit the process at once with status 137 if ``name`` is armed and this is the pass it
    waits for; otherwise return."""
    left = _armed.get(name)
    if left is None:
        return
    if left > 1:
        _armed[name] = left - 1
        return
    sys.stderr.write(f"failpoint {name}: exiting with status {EXIT_STATUS}\n")
    sys.stderr.flush()
    os._exit(EXIT_STATUS)
