"""Running an execution service in a test: start ``service.run``, wait until ready, stop.

Shared by the in-process, Kafka + PostgreSQL and simulator tests of ``quant execution``
(imported by bare module name, like the other test kits). Building the service (its
``Deps``) stays with each test: that is what they differ in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from quant.execution.service import ExecutionService


async def until(
    what: str, probe: Callable[[], Any], timeout_s: float = 10.0, interval_s: float = 0.02
) -> Any:
    """``probe()``'s first truthy value; fails the test after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not (found := probe()):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(interval_s)
    return found


@contextlib.asynccontextmanager
async def running(
    service: ExecutionService, *, ready_timeout_s: float = 10.0, stop_timeout_s: float = 10.0
) -> AsyncIterator[ExecutionService]:
    """Run ``service`` until the block ends; enter once it is ready (its failure raises)."""
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))

    def ready() -> bool:
        if task.done():
            task.result()  # raises the run's failure
        return service.ready()[0]

    await until("the execution service ready", ready, ready_timeout_s)
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, stop_timeout_s)
