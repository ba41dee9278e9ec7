"""``run_blocking``: run a blocking call in a worker thread, cancellation-safe.

``asyncio.to_thread`` returns control on cancellation while the thread keeps running;
a service that then cleans up (commits, closes a consumer, flushes a store) would race
the still-running call. ``run_blocking`` waits for the in-flight call to finish before
re-raising ``CancelledError``, so cleanup in ``finally`` never overlaps it. Services keep
their blocking calls short (poll timeouts well under a second) so shutdown stays fast.
Used by the ingestor, the feature service and the gateway feeder.

The default executor has a few workers shared by every such call: a consumer's poll holds
one for its whole timeout. A :class:`Lane` is one thread of its own for one kind of call
(a consumer's polls, a journal's writes), so a latency-bound call never queues behind
another's long poll.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


async def run_blocking(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn(*args, **kwargs)`` in the default executor; finish it even if cancelled."""
    return await _run_in(None, fn, *args, **kwargs)


async def _run_in(
    executor: concurrent.futures.Executor | None,
    fn: Callable[P, R],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, fn, *args, **kwargs)
    future = loop.run_in_executor(executor, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


class Lane:
    """One worker thread of its own: ``await lane.run(fn, ...)`` is :func:`run_blocking`
    there (calls run one at a time, in order). ``close`` lets the thread end once idle."""

    def __init__(self, name: str) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)

    async def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await _run_in(self._executor, fn, *args, **kwargs)

    def close(self) -> None:
        self._executor.shutdown(wait=False)
