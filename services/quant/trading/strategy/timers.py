"""Timers driven by the injected clock: at an IST time of day, or every N seconds.

``Timers`` is the host's schedule of every strategy's timers. Nothing here reads a clock:
the host asks ``due(now)`` for the timers whose time has come each time it sees the clock
(every event, and ``StrategyHost.on_time``), and a backtest steps its simulated clock to
``next_due_ns()`` so every timer fires at its exact time.

- ``at`` (time of day, IST): fires once per IST calendar day, at the first clock reading at
  or after that time on that day. A day whose reading never reached it after the time
  (the clock jumped from one day to a later one) is skipped, never fired late the next
  morning: a 15:10 square-off timer does not fire at 09:15. A timer set after its time of
  day first fires the next day.
- ``every`` (N seconds): first at set time + N, then every N seconds. A timer that fell
  behind (the clock jumped over several of its times) fires once and resumes on its grid.

A ``TimerEvent`` tells the callback the timer's name, when it was due and when it fired.
Timers of one strategy are named; setting a name again replaces the timer. Due timers come
out by due time, then by the order they were set, so a replay fires them identically.
"""

from __future__ import annotations

import heapq
from datetime import time
from typing import NamedTuple

from quant.core.clock import NS_PER_SECOND
from quant.trading.strategy.bars import NS_PER_DAY, ist_day_start


class TimerEvent(NamedTuple):
    """A timer that came due: its name, when it was due and when it fired (UTC ns)."""

    name: str
    ts_scheduled: int
    ts_fired: int


class _Entry(NamedTuple):
    due: int
    order: int  # set order: breaks ties deterministically
    owner: int  # the strategy's index in the host
    name: str
    interval: int  # ns between firings (``every``); 0 for a time of day
    time_of_day: int  # ns after 00:00 IST (``at``); -1 for ``every``


def parse_time_of_day(value: time | str) -> time:
    """``time`` or ``"HH:MM"`` / ``"HH:MM:SS"`` (IST); ``ValueError`` naming the bad value."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(f"timer time {value} must be a naive IST time of day")
        return value
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"timer time {value!r} is not an IST time of day like '15:10' or '09:20:30'"
        ) from None


class Timers:
    """Every strategy's timers, in one heap; see the module docstring."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._live: dict[tuple[int, str], int] = {}  # (owner, name) -> order of the live entry
        self._order = 0

    def at(self, owner: int, name: str, when: time | str, now_ns: int) -> int:
        """Set ``owner``'s timer ``name`` at an IST time of day; returns its first due time."""
        t = parse_time_of_day(when)
        offset = ((t.hour * 60 + t.minute) * 60 + t.second) * NS_PER_SECOND + t.microsecond * 1000
        first = ist_day_start(now_ns) + offset
        if first <= now_ns:
            first += NS_PER_DAY
        self._push(owner, name, first, 0, offset)
        return first

    def every(self, owner: int, name: str, seconds: float, now_ns: int) -> int:
        """Set ``owner``'s timer ``name`` every ``seconds``; returns its first due time."""
        interval = round(seconds * NS_PER_SECOND)
        if not interval > 0:
            raise ValueError(f"timer interval must be > 0 seconds, got {seconds!r}")
        self._push(owner, name, now_ns + interval, interval, -1)
        return now_ns + interval

    def cancel(self, owner: int, name: str) -> bool:
        """Drop ``owner``'s timer ``name``; False if there was none."""
        return self._live.pop((owner, name), None) is not None

    def cancel_owner(self, owner: int) -> None:
        """Drop every timer of ``owner`` (a stopped strategy)."""
        for key in [k for k in self._live if k[0] == owner]:
            del self._live[key]

    def next_due_ns(self) -> int | None:
        """When the next live timer is due, or None."""
        heap = self._heap
        while heap and self._live.get((heap[0].owner, heap[0].name)) != heap[0].order:
            heapq.heappop(heap)
        return heap[0].due if heap else None

    def due(self, now_ns: int) -> list[tuple[int, TimerEvent]]:
        """The (owner, event) of every timer due at ``now_ns``, each rescheduled."""
        out: list[tuple[int, TimerEvent]] = []
        heap = self._heap
        while heap and heap[0].due <= now_ns:
            e = heapq.heappop(heap)
            if self._live.get((e.owner, e.name)) != e.order:
                continue  # replaced or cancelled
            if e.interval:
                missed = (now_ns - e.due) // e.interval
                self._push(e.owner, e.name, e.due + (missed + 1) * e.interval, e.interval, -1)
                out.append((e.owner, TimerEvent(e.name, e.due, now_ns)))
                continue
            today = ist_day_start(now_ns)
            nxt = today + e.time_of_day
            if nxt <= now_ns:
                nxt += NS_PER_DAY
            self._push(e.owner, e.name, nxt, 0, e.time_of_day)
            if ist_day_start(e.due) == today:
                out.append((e.owner, TimerEvent(e.name, e.due, now_ns)))
        return out

    def _push(self, owner: int, name: str, due: int, interval: int, time_of_day: int) -> None:
        self._order += 1
        self._live[(owner, name)] = self._order
        heapq.heappush(self._heap, _Entry(due, self._order, owner, name, interval, time_of_day))
