"""The injected clock: every service reads time through a ``Clock``, never the wall clock.

``SystemClock`` is for production; ``FakeClock`` for tests and for the simulator's
accelerated day. Times are UTC nanoseconds; IST appears only in presentation and in the
calendar (:data:`IST`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

IST = timezone(timedelta(hours=5, minutes=30), "IST")
NS_PER_SECOND = 1_000_000_000
NS_PER_MS = 1_000_000


class Clock(Protocol):
    """Source of the current time."""

    def now_ns(self) -> int:
        """Current time as UTC nanoseconds since the epoch."""
        ...


class SystemClock:
    """The real wall clock."""

    def now_ns(self) -> int:
        return time.time_ns()


class FakeClock:
    """A clock that moves only when told to; for tests and replays."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def set_ns(self, value: int) -> None:
        self._now = value

    def advance(self, seconds: float = 0.0, *, ns: int = 0) -> int:
        self._now += int(seconds * NS_PER_SECOND) + ns
        return self._now


def ns_to_datetime(ns: int, tz: timezone = UTC) -> datetime:
    """Aware datetime for a UTC-ns timestamp (microsecond precision)."""
    return datetime.fromtimestamp(ns / NS_PER_SECOND, tz=tz)


def datetime_to_ns(value: datetime) -> int:
    """UTC nanoseconds for an aware datetime; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone")
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000
