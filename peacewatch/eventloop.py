"""The event loop the long-running commands run on: uvloop where it is installed.

uvloop (libuv) runs the same asyncio programs with a fraction of the standard loop's cost per
callback, socket read and write: the bot's loop turns over thousands of times a second at
1,000 feeds (a poll is an HTTP exchange and a few Redis round trips), and on the standard loop
that overhead was about a quarter of its CPU between new stories. ``PEACEWATCH_EVENT_LOOP=
asyncio`` keeps the standard loop (for a debugger that needs it); uvloop is not made for
Windows, where the standard loop runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


def loop_factory(kind: Literal["uvloop", "asyncio"]) -> Callable[[], asyncio.AbstractEventLoop]:
    """A new-loop function for ``kind``; the standard loop's when uvloop is not installed."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.info("uvloop is not installed here: the standard asyncio event loop runs")
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T], kind: Literal["uvloop", "asyncio"]) -> T:
    """``asyncio.run(main)`` on a loop of ``kind``."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)


def loop_name() -> str:
    """The running loop's kind, for the start-up log line: ``uvloop`` or ``asyncio``."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]
