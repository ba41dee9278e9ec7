"""``until_stopped``: a start-up step gives way to the stop event, or returns its result."""

from __future__ import annotations

import asyncio

import pytest

from quant.runtime.shutdown import until_stopped


async def test_returns_the_result_when_the_step_finishes_first() -> None:
    async def step() -> int:
        return 42

    assert await until_stopped(step(), asyncio.Event()) == 42


async def test_cancels_the_step_when_stop_is_set() -> None:
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def endless_download() -> int:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    asyncio.get_running_loop().call_soon(stop.set)
    assert await asyncio.wait_for(until_stopped(endless_download(), stop), timeout=5) is None
    assert cancelled.is_set()


async def test_errors_of_the_step_propagate() -> None:
    async def broken() -> int:
        raise ValueError("truncated master")

    with pytest.raises(ValueError, match="truncated master"):
        await until_stopped(broken(), asyncio.Event())
