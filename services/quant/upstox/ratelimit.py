"""Client-side rate limiting for the Upstox REST API: sliding windows on an injected clock.

Upstox counts calls per user in three windows at once (per second, per minute, per 30
minutes; UPSTOX.md §3) with a separate bucket for order placement/modification/
cancellation. :class:`SlidingWindowLimiter` keeps a log of calls per window and makes a
caller wait until every window has room, so a burst never exceeds any window however
Upstox aligns its own. A call holds a slot from :meth:`~SlidingWindowLimiter.slot` entry
until it completes and is logged at its *completion* time: the server saw it somewhere
between our send and its answer, so counting from the answer is the only stamp that
cannot under-count when requests queue on the way (measured: stamping at send time
still drew 429s from the simulator under a 2x burst). The REST client
(:mod:`quant.upstox.rest`) holds one limiter per bucket (:class:`UpstoxRateLimits`);
tests drive it with a ``FakeClock`` and a fake sleep.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from quant.core.clock import NS_PER_SECOND, Clock, SystemClock

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most ``limit`` calls in any ``seconds``-long interval."""

    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if self.limit <= 0 or self.seconds <= 0:
            raise ValueError(f"rate window needs a positive limit and period, got {self}")


# UPSTOX.md §3 (official rate-limiting page).
ORDER_WINDOWS_UNREGISTERED = (RateWindow(10, 1), RateWindow(500, 60), RateWindow(2000, 1800))
ORDER_WINDOWS_REGISTERED = (RateWindow(50, 1), RateWindow(500, 60), RateWindow(2000, 1800))
STANDARD_WINDOWS = (RateWindow(50, 1), RateWindow(500, 60), RateWindow(2000, 1800))


class SlidingWindowLimiter:
    """Admit a call only when every window has room; otherwise wait on the clock.

    ``margin_seconds`` widens every window a little, so that our clock running slightly
    fast against Upstox's cannot squeeze an extra call into a window.
    """

    def __init__(
        self,
        windows: tuple[RateWindow, ...],
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        margin_seconds: float = 0.05,
        name: str = "upstox",
    ) -> None:
        if not windows:
            raise ValueError("a limiter needs at least one window")
        self.name = name
        self.windows = windows
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._periods = [int((w.seconds + margin_seconds) * NS_PER_SECOND) for w in windows]
        self._logs: list[deque[int]] = [deque() for _ in windows]
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()
        self._in_flight = 0
        self.waits = 0

    def _wait_ns(self, now: int) -> int | None:
        """Nanoseconds until every window has room (0 = now, None = wait for a completion).

        Prunes expired entries. Calls in flight occupy a slot that cannot expire yet.
        """
        wait = 0
        for window, period, log in zip(self.windows, self._periods, self._logs, strict=True):
            horizon = now - period
            while log and log[0] <= horizon:
                log.popleft()
            excess = len(log) + self._in_flight - window.limit
            if excess >= 0:
                if excess >= len(log):
                    return None  # only a call in flight completing can free a slot
                # The (excess+1)-th oldest logged call must leave the window.
                wait = max(wait, log[excess] - horizon)
        return wait

    def try_acquire(self) -> bool:
        """Take a slot now if every window has room (then call :meth:`release`)."""
        if self._wait_ns(self._clock.now_ns()) != 0:
            return False
        self._in_flight += 1
        return True

    async def acquire(self) -> None:
        """Wait until a slot is free and take it; pair with :meth:`release`."""
        async with self._lock:
            while True:
                wait = self._wait_ns(self._clock.now_ns())
                if wait == 0:
                    self._in_flight += 1
                    return
                self.waits += 1
                if wait is None:
                    self._released.clear()
                    await self._released.wait()
                else:
                    await self._sleep(wait / NS_PER_SECOND)

    def release(self) -> None:
        """The call finished (answered or failed): log it at the current time."""
        if self._in_flight <= 0:
            raise RuntimeError(f"{self.name} limiter released more often than acquired")
        self._in_flight -= 1
        now = self._clock.now_ns()
        for log in self._logs:
            log.append(now)
        self._released.set()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """``async with limiter.slot(): <one call>``."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class UpstoxRateLimits:
    """The two buckets the REST client needs: orders and standard APIs."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        registered_algo: bool = False,
        margin_seconds: float = 0.05,
        order_windows: tuple[RateWindow, ...] | None = None,
        standard_windows: tuple[RateWindow, ...] | None = None,
    ) -> None:
        if order_windows is None:
            order_windows = (
                ORDER_WINDOWS_REGISTERED if registered_algo else ORDER_WINDOWS_UNREGISTERED
            )
        self.orders = SlidingWindowLimiter(
            order_windows, clock=clock, sleep=sleep, margin_seconds=margin_seconds, name="orders"
        )
        self.standard = SlidingWindowLimiter(
            standard_windows or STANDARD_WINDOWS,
            clock=clock,
            sleep=sleep,
            margin_seconds=margin_seconds,
            name="standard",
        )
