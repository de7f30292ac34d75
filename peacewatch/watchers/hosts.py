"""At most k tasks at once per host name: the slots that feed polls and fetches take."""

from __future__ import annotations

import asyncio
from types import TracebackType


class HostLimiter:
    """Hands out ``per_host`` slots per host name. ``async with limiter.slot(host):`` waits
    for one; a host's state is dropped when nothing holds or waits for its slots, so a process
    that has met many hosts keeps nothing for them."""

    def __init__(self, per_host: int) -> None:
        if per_host < 1:
            raise ValueError(f"per-host limit must be at least 1, not {per_host}")
        self.per_host = per_host
        self._hosts: dict[str, _HostSlots] = {}

    def slot(self, host: str) -> _HostSlots:
        key = host.lower()
        slots = self._hosts.get(key)
        if slots is None:
            slots = self._hosts[key] = _HostSlots(self._hosts, key, self.per_host)
        return slots

    def active(self, host: str) -> int:
        """Slots of ``host`` held now (not counting those waiting for one)."""
        slots = self._hosts.get(host.lower())
        return 0 if slots is None else slots.active


class _HostSlots:
    def __init__(self, registry: dict[str, _HostSlots], host: str, limit: int) -> None:
        self._registry = registry
        self._host = host
        self._semaphore = asyncio.Semaphore(limit)
        self.active = 0
        self._users = 0  # holding or waiting for a slot

    async def __aenter__(self) -> None:
        self._users += 1
        try:
            await self._semaphore.acquire()
        except BaseException:
            self._leave()
            raise
        self.active += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def release(self) -> None:
        """Give back a slot taken with ``async with`` (or ``acquire``)."""
        self.active -= 1
        self._semaphore.release()
        self._leave()

    async def acquire(self) -> None:
        """Take a slot; give it back with :meth:`release` (for a slot that ends mid-block)."""
        await self.__aenter__()

    def _leave(self) -> None:
        self._users -= 1
        if self._users == 0 and self._registry.get(self._host) is self:
            del self._registry[self._host]
