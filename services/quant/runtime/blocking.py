"""``run_blocking``: run a blocking call in a worker thread, cancellation-safe.

``asyncio.to_thread`` returns control on cancellation while the thread keeps running;
a service that then cleans up (commits, closes a consumer, flushes a store) would race
the still-running call. ``run_blocking`` waits for the in-flight call to finish before
re-raising ``CancelledError``, so cleanup in ``finally`` never overlaps it. Services keep
their blocking calls short (poll timeouts well under a second) so shutdown stays fast.
Used by the ingestor, the feature service and the gateway feeder.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


async def run_blocking(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn(*args, **kwargs)`` in the default executor; finish it even if cancelled."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, fn, *args, **kwargs)
    future = loop.run_in_executor(None, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise
