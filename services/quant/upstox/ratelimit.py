"""Client-side rate limiting for the Upstox REST API: sliding windows on an injected clock.

Upstox counts calls per user in three windows at once (per second, per minute, per 30
minutes; UPSTOX.md §3) with a separate bucket for order placement/modification/
cancellation. :class:`SlidingWindowLimiter` keeps a log of admitted calls per window and
makes a caller wait until every window has room, so a burst never exceeds any window
however Upstox aligns its own. The REST client (:mod:`quant.upstox.rest`) holds one
limiter per bucket (:class:`UpstoxRateLimits`); tests drive it with a ``FakeClock`` and
a fake sleep.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
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

    ``margin_seconds`` widens every window a little so that network jitter between our
    send time and Upstox's receive time cannot squeeze an extra call into a window.
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
        self.waits = 0

    def _wait_ns(self, now: int) -> int:
        """How long until every window has room (0 = now); prunes expired entries."""
        wait = 0
        for window, period, log in zip(self.windows, self._periods, self._logs, strict=True):
            horizon = now - period
            while log and log[0] <= horizon:
                log.popleft()
            if len(log) >= window.limit:
                # The call that frees a slot is the one `limit` calls back from the end.
                wait = max(wait, log[len(log) - window.limit] - horizon)
        return wait

    def try_acquire(self) -> bool:
        """Admit a call now if every window has room; never waits."""
        now = self._clock.now_ns()
        if self._wait_ns(now) > 0:
            return False
        for log in self._logs:
            log.append(now)
        return True

    async def acquire(self) -> None:
        """Wait (on the injected sleep) until a call may be made, then record it."""
        async with self._lock:
            while True:
                now = self._clock.now_ns()
                wait = self._wait_ns(now)
                if wait <= 0:
                    for log in self._logs:
                        log.append(now)
                    return
                self.waits += 1
                await self._sleep(wait / NS_PER_SECOND)


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
