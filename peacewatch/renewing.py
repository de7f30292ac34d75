"""Keeping a lease while a piece of work runs.

A task renews the lease every so often until the work ends. Ending it by cancellation alone is
not enough: a cancellation that arrives while a Redis call is under way can be lost inside the
client (seen with redis-py on Python 3.11, on a loaded machine: the story assigner's renewals went
on after its batch, and the assigner waited for them for ever). So the loop also stops on an
event, set before the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


@contextlib.asynccontextmanager
async def renewing(
    every: float, renew: Callable[[], Awaitable[bool]], name: str
) -> AsyncIterator[None]:
    """Call ``renew`` every ``every`` seconds while the block runs; a False answer (the lease
    is lost) ends the renewals. On leaving the block the renewals stop, whatever ``renew`` does
    with a cancellation; an error of ``renew`` ends them too (and is not raised)."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await stop.wait()
            if stop.is_set() or not await renew():
                return

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
