"""The simulator's order-command log: what arrived at its order endpoints, and when.

Every order command (V3 place / modify / cancel, multi place, cancel-all, exit positions)
is recorded as it is answered, with the wall-clock arrival time (monotonic seconds, the
clock the rate limiter keeps), the HTTP status it got (200, 400, 429...), the error code,
the ``tag`` and the order ids it made or touched. Tests and benchmarks read it to check
what a client did to the broker: duplicate places under one tag, the densest 1 s window of
orders, refusals for the rate limit. Held by :class:`quant.sim.state.SimState`, written by
:mod:`quant.sim.routes_orders`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PLACE_COMMANDS = frozenset({"place", "multi_place", "exit_positions"})


@dataclass(frozen=True, slots=True)
class OrderCommand:
    """One order command as the simulator answered it."""

    at: float  # monotonic seconds when it was handled
    command: str  # place | modify | cancel | multi_place | cancel_all | exit_positions
    user_id: str  # "" when refused before the token was read
    status: int  # the HTTP status answered
    code: str = ""  # the error code when refused
    tag: str | None = None
    order_ids: tuple[str, ...] = ()


class OrderLog:
    """Append-only log of order commands with the questions tests ask of it."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.entries: list[OrderCommand] = []

    def record(
        self,
        command: str,
        user_id: str,
        status: int,
        *,
        code: str = "",
        tag: str | None = None,
        order_ids: Iterable[str] = (),
    ) -> None:
        self.entries.append(
            OrderCommand(self._now(), command, user_id, status, code, tag, tuple(order_ids))
        )

    def clear(self) -> None:
        self.entries.clear()

    def refused(self, status: int = 429) -> int:
        """How many commands were answered with ``status`` (429: the rate limit)."""
        return sum(1 for e in self.entries if e.status == status)

    def accepted_places_by_tag(self) -> Counter[str]:
        """Accepted place commands per tag (a client that never resends has 1 per tag;
        a sliced order is one command with several order ids)."""
        return Counter(
            e.tag or "" for e in self.entries if e.command in PLACE_COMMANDS and e.status == 200
        )

    def max_in_window(self, window: float = 1.0, *, accepted_only: bool = False) -> int:
        """The most order commands in any ``window`` seconds (a sliding window)."""
        times = sorted(e.at for e in self.entries if e.status == 200 or not accepted_only)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best
