"""Pacing of posts per Discord channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from peacewatch.errors import RetryLater


@dataclass(slots=True)
class ChannelPacer:
    """A token bucket per channel (Discord allows about 5 messages per 5 s in one channel).

    ``wait_for`` takes a token and says how long to wait before using it; a wait longer than
    ``max_wait`` takes nothing and raises RetryLater, so one busy channel never holds up the
    dispatcher's other destinations.
    """

    rate: float = 1.0
    burst: float = 5.0
    max_wait: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def wait_for(self, channel: str) -> float:
        now = self.clock()
        tokens, last = self._state.get(channel, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
        if wait > self.max_wait:
            raise RetryLater(f"pacing channel {channel}", retry_after=wait, counts=False)
        self._state[channel] = (tokens - 1.0, now)
        return wait
