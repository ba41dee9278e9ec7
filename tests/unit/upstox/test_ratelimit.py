"""The sliding-window limiter honours every window, on a fake clock with a fake sleep."""

from __future__ import annotations

import asyncio

import pytest

from quant.core.clock import NS_PER_SECOND, FakeClock
from quant.upstox.ratelimit import (
    ORDER_WINDOWS_UNREGISTERED,
    RateWindow,
    SlidingWindowLimiter,
    UpstoxRateLimits,
)


class FakeSleep:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)


def _admitted_in_any(times: list[int], seconds: float) -> int:
    """Largest number of admissions inside any half-open window of ``seconds``."""
    span = int(seconds * NS_PER_SECOND)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - span:
            j += 1
        best = max(best, i - j + 1)
    return best


async def test_order_bucket_never_exceeds_any_window() -> None:
    clock = FakeClock(1_000 * NS_PER_SECOND)
    sleep = FakeSleep(clock)
    limiter = SlidingWindowLimiter(ORDER_WINDOWS_UNREGISTERED, clock=clock, sleep=sleep)
    times = []
    for _ in range(2100):
        async with limiter.slot():
            times.append(clock.now_ns())
    assert _admitted_in_any(times, 1) == 10
    assert _admitted_in_any(times, 60) == 500
    assert _admitted_in_any(times, 1800) == 2000
    # The 2001st call had to wait for the 30-minute window to slide.
    assert times[2000] - times[0] > 1800 * NS_PER_SECOND


async def test_first_burst_is_immediate_then_waits_about_a_second() -> None:
    clock = FakeClock(0)
    sleep = FakeSleep(clock)
    limiter = SlidingWindowLimiter((RateWindow(10, 1),), clock=clock, sleep=sleep, margin_seconds=0)
    for _ in range(10):
        async with limiter.slot():
            pass
    assert sleep.slept == []
    async with limiter.slot():
        pass
    assert sleep.slept == [pytest.approx(1.0)]
    assert limiter.waits == 1


def test_try_acquire_does_not_wait() -> None:
    clock = FakeClock(0)
    limiter = SlidingWindowLimiter((RateWindow(2, 1),), clock=clock, margin_seconds=0)
    assert limiter.try_acquire() and limiter.try_acquire()
    assert not limiter.try_acquire()
    limiter.release()
    limiter.release()
    clock.advance(1.0)
    assert limiter.try_acquire()
    limiter.release()
    with pytest.raises(RuntimeError, match="released more often"):
        limiter.release()


def test_buckets_are_separate_and_registered_algos_get_50_per_second() -> None:
    limits = UpstoxRateLimits(clock=FakeClock(0))
    assert limits.orders.windows[0] == RateWindow(10, 1)
    assert limits.standard.windows[0] == RateWindow(50, 1)
    assert UpstoxRateLimits(registered_algo=True).orders.windows[0] == RateWindow(50, 1)
    for _ in range(10):
        assert limits.orders.try_acquire()
    assert not limits.orders.try_acquire()
    assert limits.standard.try_acquire()


async def test_calls_in_flight_hold_slots_and_are_stamped_at_completion() -> None:
    clock = FakeClock(0)
    sleep = FakeSleep(clock)
    limiter = SlidingWindowLimiter((RateWindow(2, 1),), clock=clock, sleep=sleep, margin_seconds=0)
    await limiter.acquire()
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()  # both slots are in flight: only a completion can free one
    clock.advance(5.0)  # a slow answer
    limiter.release()
    limiter.release()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    # The two calls are logged at t=5 s, so the third waits until t=6 s, not t=1 s.
    await waiter
    assert clock.now_ns() == 6 * NS_PER_SECOND
    assert sleep.slept == [pytest.approx(1.0)]


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateWindow(0, 1)
    with pytest.raises(ValueError, match="at least one"):
        SlidingWindowLimiter(())
