"""``until_stopped``: let a long start-up step (e.g. the instrument-master download) give way
to SIGINT/SIGTERM.

The services' composition roots set an ``asyncio.Event`` from their signal handlers; their
loops watch it, but a start-up ``await`` does not. Wrapping that ``await`` here cancels it
as soon as the event is set, so Ctrl-C during start-up stops the process at once. Used by
``quant ingestor`` and ``quant features``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def until_stopped(step: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """Await ``step``; return ``None`` (and cancel it) if ``stop`` is set first."""
    task = asyncio.ensure_future(step)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None
