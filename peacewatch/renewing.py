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
    is lost) ends the renewals. On leaving the block the renewals stop (once a renewal under
    way returns, whatever it does with the cancellation); an error of ``renew`` ends them too
    (and is not raised). A cancellation of the caller while it waits for them is raised."""
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
        # asyncio.wait, not a bare await: a cancellation of the caller itself (a stop, an
        # enclosing timeout) goes on to the caller, and the renewals end by the event anyway.
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # an error of a renewal is not the work's: read, not raised
