"""What a destination must do to receive alerts (console, Slack, Discord, webhook)."""

from __future__ import annotations

from typing import Protocol

from peacewatch.models import Alert


class Sink(Protocol):
    """Delivers alerts of one platform.

    ``deliver`` posts the alert and returns a reference to the posted message (used as the
    thread parent of the story's follow-ups). ``parent`` is that reference for a follow-up whose
    story was already posted to the destination, else None. It raises RetryLater for transient
    failures (429, outage) and PermanentDelivery when the destination is gone or forbidden.
    """

    platform: str

    async def deliver(self, alert: Alert, parent: str | None) -> str: ...
