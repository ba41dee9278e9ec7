"""``Lane``: blocking calls on one thread of their own, in order, finished even when the
awaiting task is cancelled (as ``run_blocking``)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from quant.runtime.blocking import Lane


async def test_a_lane_runs_calls_on_its_own_thread_one_at_a_time_in_order() -> None:
    lane = Lane("test-lane")
    seen: list[tuple[int, str]] = []

    def call(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        time.sleep(0.01)
        return n * 2

    try:
        results = await asyncio.gather(*(lane.run(call, n) for n in range(4)))
    finally:
        lane.close()
    assert results == [0, 2, 4, 6]
    assert [n for n, _ in seen] == [0, 1, 2, 3]
    names = {name for _, name in seen}
    assert len(names) == 1 and names.pop().startswith("test-lane")


async def test_a_cancelled_caller_waits_for_its_call_to_finish() -> None:
    lane = Lane("test-lane")
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.1)
        finished.set()

    task = asyncio.create_task(lane.run(slow))
    await asyncio.sleep(0.02)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    lane.close()
    assert finished.is_set()  # cancellation did not cut the call off or return before it
