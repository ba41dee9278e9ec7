"""The simulator's clock: simulated time runs ``speed`` times faster than the wall clock.

Implements :class:`quant.core.clock.Clock`. The market model, tokens and sessions read it;
tests can ``jump_to`` an instant (e.g. past the token expiry) without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from quant.core.clock import NS_PER_SECOND


class SimClock:
    """Simulated UTC-ns time = start + speed x elapsed wall (monotonic) time."""

    def __init__(
        self,
        start_ns: int,
        speed: float = 1.0,
        wall_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._wall = wall_ns
        self._anchor_wall = wall_ns()
        self._anchor_sim = start_ns
        self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    def now_ns(self) -> int:
        elapsed = self._wall() - self._anchor_wall
        return self._anchor_sim + int(elapsed * self._speed)

    def jump_to(self, sim_ns: int) -> None:
        """Move simulated time to ``sim_ns`` (forwards or backwards) and keep running."""
        self._anchor_wall = self._wall()
        self._anchor_sim = sim_ns

    def advance(self, seconds: float) -> int:
        """Jump forward by ``seconds`` of simulated time; returns the new time."""
        self.jump_to(self.now_ns() + int(seconds * NS_PER_SECOND))
        return self.now_ns()

    def set_speed(self, speed: float) -> None:
        """Change the speed factor from now on."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.jump_to(self.now_ns())
        self._speed = speed
