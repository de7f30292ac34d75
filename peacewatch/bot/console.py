"""The console sink: alerts printed as text to a stream (the demo and chat-less runs)."""

from __future__ import annotations

import sys
from typing import TextIO

from peacewatch.models import Alert, AlertKind
from peacewatch.pipeline.render import alert_text


class ConsoleSink:
    platform = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._count = 0

    async def deliver(self, alert: Alert, parent: str | None) -> str:
        stream = self._stream or sys.stdout
        self._count += 1
        ref = f"console-{self._count}"
        prefix = f"  ↳ [thread of {parent}] " if alert.kind is AlertKind.FOLLOWUP and parent else ""
        text = alert_text(alert)
        if prefix:
            text = "\n".join(
                prefix + line if i == 0 else "    " + line
                for i, line in enumerate(text.splitlines())
            )
        stream.write(f"{ref}: {text}\n\n")
        stream.flush()
        return ref
