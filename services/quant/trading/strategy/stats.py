"""Per-strategy counters and failures, as plain data for the runtime's metrics and reports.

``StrategyStats`` is the host's mutable tally for one strategy: callbacks run (events
handled), intents and cancels emitted, fills received, errors, and callback latency (count,
sum, max and a histogram over ``LATENCY_BOUNDS_NS``, measured with the stopwatch the host
was given; all 0 without one). ``StrategyStatus`` is a frozen snapshot of it with the
strategy's state and P&L; ``StrategyFailure`` records a callback that raised.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import StrEnum

#: upper bounds (ns, inclusive) of the latency histogram's buckets; one more bucket for slower
LATENCY_BOUNDS_NS: tuple[int, ...] = (
    10_000,
    50_000,
    100_000,
    500_000,
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    1_000_000_000,
)


class RunState(StrEnum):
    """Where a strategy is in its life in the host."""

    ADDED = "added"
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StrategyFailure:
    """A callback of ``strategy_id`` raised ``error`` (type and text) at ``ts_ns``."""

    strategy_id: str
    callback: str
    error: str
    ts_ns: int


@dataclass(slots=True)
class StrategyStats:
    """The running counters of one strategy; see the module docstring."""

    events: int = 0
    intents: int = 0
    cancels: int = 0
    fills: int = 0
    errors: int = 0
    latency_count: int = 0
    latency_sum_ns: int = 0
    latency_max_ns: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_NS) + 1))

    def observe(self, ns: int) -> None:
        """One callback took ``ns``."""
        self.latency_count += 1
        self.latency_sum_ns += ns
        self.latency_max_ns = max(self.latency_max_ns, ns)
        self.latency_buckets[bisect.bisect_left(LATENCY_BOUNDS_NS, ns)] += 1


@dataclass(frozen=True, slots=True)
class StrategyStatus:
    """A snapshot of one strategy in the host: identity, state, counters and P&L (paise)."""

    strategy_id: str
    algo_name: str
    class_name: str
    state: RunState
    events: int
    intents: int
    cancels: int
    fills: int
    errors: int
    latency_count: int
    latency_sum_ns: int
    latency_max_ns: int
    latency_buckets: tuple[int, ...]
    realised_pnl: int
    unrealised_pnl: int
    open_orders: int
    open_positions: int
    last_error: str = ""
