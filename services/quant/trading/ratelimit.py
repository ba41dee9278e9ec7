"""The order-rate limiter: exact sliding windows, pure, time passed in (UTC ns).

Every order the execution service sends (place, modify, cancel: Upstox counts them in one
bucket) asks ``OrderRateLimiter.admit(now_ns)`` first. The limiter guarantees that the send
times it hands out never put more than ``limit`` orders in any window of ``length`` ns,
for every window it holds: by default 10 per second (SEBI's threshold for algorithms that
are not registered; 50 for registered ones), 500 per minute and 2,000 per 30 minutes
(Upstox's order limits). "Any window" is exact: two sends are in one 1 s window when they
are less than 1 s apart, so with 10/s the 11th order waits until the first is a full
second old (``first + 1 s``), not until the next calendar second.

Over the limit, by ``mode``: ``QUEUE`` reserves the earliest instant the order may go and
returns it (``Admitted.send_at_ns`` > now: the caller holds the order until then; send
times are handed out in arrival order), and refuses only if that is more than
``max_delay_ns`` away; ``REJECT`` refuses with the instant a retry could succeed. A
refused order takes no slot. The limiter holds the send times of the last
``max(length)`` ns (at most the sum of the limits), so each call costs O(number of windows).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from quant.core.clock import NS_PER_SECOND
from quant.trading.risk_limits import RejectReason

NS_PER_MINUTE = 60 * NS_PER_SECOND


class RateMode(StrEnum):
    QUEUE = "queue"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most ``limit`` orders in any ``length_ns`` window."""

    limit: int
    length_ns: int

    def __post_init__(self) -> None:
        if self.limit <= 0 or self.length_ns <= 0:
            raise ValueError(f"a rate window needs limit > 0 and length > 0, got {self}")

    def describe(self) -> str:
        seconds = self.length_ns / NS_PER_SECOND
        if seconds >= 60:
            return f"{self.limit} per {seconds / 60:g} min"
        return f"{self.limit} per {seconds:g} s"


def order_windows(per_second: int = 10) -> tuple[RateWindow, ...]:
    """Upstox's order windows with ``per_second`` (10 unregistered algos, 50 registered)."""
    return (
        RateWindow(per_second, NS_PER_SECOND),
        RateWindow(500, NS_PER_MINUTE),
        RateWindow(2_000, 30 * NS_PER_MINUTE),
    )


@dataclass(frozen=True, slots=True)
class Admitted:
    """The order may be sent at ``send_at_ns`` (now, or later when queued)."""

    send_at_ns: int
    delayed: bool


@dataclass(frozen=True, slots=True)
class Throttled:
    """Refused: over ``window``; a retry could succeed at ``retry_at_ns``."""

    retry_at_ns: int
    window: RateWindow
    message: str

    @property
    def reason(self) -> RejectReason:
        """The rejection's reason code, as the risk check's refusals carry one."""
        return RejectReason.RATE_LIMIT


class OrderRateLimiter:
    """Sliding-window order limiter; see the module docstring. Not thread-safe (one owner)."""

    __slots__ = ("_max_delay", "_mode", "_sent", "_span", "_windows")

    def __init__(
        self,
        windows: tuple[RateWindow, ...] | None = None,
        mode: RateMode = RateMode.QUEUE,
        max_delay_ns: int = 60 * NS_PER_SECOND,
    ) -> None:
        self._windows = windows if windows is not None else order_windows()
        if not self._windows:
            raise ValueError("an order-rate limiter needs at least one window")
        self._mode = RateMode(mode)
        self._max_delay = max_delay_ns
        self._span = max(w.length_ns for w in self._windows)
        self._sent: deque[int] = deque()

    @property
    def windows(self) -> tuple[RateWindow, ...]:
        return self._windows

    def earliest(self, now_ns: int) -> tuple[int, RateWindow | None]:
        """The first instant >= ``now_ns`` an order could go, and the window that binds."""
        sent = self._sent
        while sent and sent[0] <= now_ns - self._span:
            sent.popleft()
        at, binding = now_ns, None
        if sent and sent[-1] > at:  # queued sends go in arrival order
            at = sent[-1]
        n = len(sent)
        for w in self._windows:
            if n >= w.limit:
                free = sent[n - w.limit] + w.length_ns
                if free > at:
                    at, binding = free, w
        return at, binding

    def admit(self, now_ns: int) -> Admitted | Throttled:
        """Reserve a send time for one order, or refuse it (nothing reserved)."""
        at, binding = self.earliest(now_ns)
        if at > now_ns:
            window = binding or self._windows[0]
            if self._mode is RateMode.REJECT or at - now_ns > self._max_delay:
                wait = (at - now_ns) / NS_PER_SECOND
                return Throttled(
                    at,
                    window,
                    f"order rate limit of {window.describe()} reached; the next order may go "
                    f"in {wait:.3f} s",
                )
        self._sent.append(at)
        return Admitted(at, at > now_ns)

    def queued(self, now_ns: int) -> int:
        """Orders admitted with a send time still in the future (the queue depth)."""
        depth = 0
        for t in reversed(self._sent):
            if t <= now_ns:
                break
            depth += 1
        return depth
