"""Per-user sliding-window rate limits (UPSTOX.md section 3): 429 ``UDAPI10005`` past them.

Two buckets per user: ``orders`` (place/modify/cancel: 10/s, 500/min, 2000/30 min) and
``standard`` (50/s, 500/min, 2000/30 min). Windows run on the wall clock (monotonic), since
clients send requests in real time whatever the simulated speed. Used by the REST routes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from quant.sim.errors import TOO_MANY_REQUESTS, SimApiError

LIMITS: dict[str, tuple[tuple[float, int], ...]] = {
    "orders": ((1.0, 10), (60.0, 500), (1800.0, 2000)),
    "standard": ((1.0, 50), (60.0, 500), (1800.0, 2000)),
}


class RateLimiter:
    """Sliding windows keyed by (user, bucket)."""

    def __init__(self, enabled: bool = True, now: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._now = now
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def check(self, user_id: str, bucket: str) -> None:
        """Record one request or raise 429 if any window is full (rejections don't count)."""
        if not self.enabled:
            return
        limits = LIMITS[bucket]
        now = self._now()
        hits = self._hits.setdefault((user_id, bucket), deque())
        horizon = limits[-1][0]
        while hits and now - hits[0] >= horizon:
            hits.popleft()
        for window, cap in limits:
            recent = (
                sum(1 for t in reversed(hits) if now - t < window)
                if window < horizon
                else len(hits)
            )
            if recent >= cap:
                raise SimApiError(429, TOO_MANY_REQUESTS, "Too Many Request Sent")
        hits.append(now)
