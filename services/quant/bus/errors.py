"""Bus errors: one hierarchy for both adapters, raised by ``quant.bus`` publishers/consumers.

``retriable`` is the single place the retry-or-fail decision is made: a caller may
re-publish after a retriable ``DeliveryError`` and must stop (crash, restart cleanly)
otherwise.
"""

from __future__ import annotations

from typing import NamedTuple


class BusError(Exception):
    """Base of every error raised by the bus adapters."""


class BusUnavailable(BusError):
    """The brokers did not answer at start-up (not running, or the wrong address)."""


class DeliveryFailure(NamedTuple):
    """One message the bus could not deliver, with the reason."""

    topic: str
    key: str | None
    reason: str
    code: str
    retriable: bool


class DeliveryError(BusError):
    """One or more published messages were not delivered."""

    def __init__(self, failures: list[DeliveryFailure]) -> None:
        self.failures = tuple(failures)
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(f"delivery to {first.topic!r} failed: {first.code}: {first.reason}{more}")

    @property
    def retriable(self) -> bool:
        return all(f.retriable for f in self.failures)


class ConsumeError(BusError):
    """The consumer hit an error it cannot skip (broker, authorization, unknown topic)."""


class CommitError(BusError):
    """Offsets could not be committed (e.g. the group rebalanced meanwhile)."""
