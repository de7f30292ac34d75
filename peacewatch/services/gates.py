"""What may hold an alert back before it is queued (quiet hours, digest rules)."""

from __future__ import annotations

from typing import Protocol

from peacewatch.models import Alert
from peacewatch.rules.rulefile import RuleSpec


class AlertGate(Protocol):
    """Decides, for an alert about to be queued, whether it goes out now.

    ``admit`` returns True to queue the alert now; False when the gate kept it (to release it
    later itself, e.g. at the end of quiet hours or in a digest)."""

    async def admit(self, alert: Alert, rule: RuleSpec) -> bool: ...
