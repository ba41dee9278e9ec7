"""Validation of fetched candles: bad ones are counted and dropped, gaps counted (pure).

A candle is dropped, never stored, when (reason labels as in
:attr:`Checked.dropped`):

* ``non_positive_price``: open, high, low or close is zero or negative;
* ``high_below_low``: high < low;
* ``ohlc_outside_range``: open or close outside [low, high];
* ``negative_volume``: volume < 0;
* ``outside_session``: its timestamp is not in a session of the exchange calendar (a
  minute candle must start at or after the open and before the close of its IST day's
  session, on the minute; a day candle at 00:00 IST of a trading day);
* ``outside_range``: its day is not one the request asked for;
* ``duplicate``: a second candle with the same start (the later one is kept).

Today's candle still in progress when the answer came (it has not closed) is left out
too, but it is not a bad candle: it is counted in :attr:`Checked.pending` (it is stored
by the next run, once closed).

A gap is a candle missing inside a session: per trading day of the chunk, the session's
minutes without a candle (today: up to the last candle received, since the newest minute
is published with a delay); for day candles, trading days
without one (a special session, e.g. Muhurat trading, only once it has a candle).
Gaps are counted, not filled: an illiquid name has minutes without trades.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import NamedTuple

from quant.backfill.plan import session_minutes
from quant.core.calendar import ExchangeCalendar, SessionKind
from quant.core.clock import NS_PER_SECOND
from quant.core.events import Candle
from quant.store.ports import EPOCH, IST_OFFSET_NS, NS_PER_DAY

NON_POSITIVE_PRICE = "non_positive_price"
HIGH_BELOW_LOW = "high_below_low"
OHLC_OUTSIDE_RANGE = "ohlc_outside_range"
NEGATIVE_VOLUME = "negative_volume"
OUTSIDE_SESSION = "outside_session"
OUTSIDE_RANGE = "outside_range"
DUPLICATE = "duplicate"
PENDING = "pending"  # not a fault: still in progress
MINUTE_NS = 60 * NS_PER_SECOND


class Checked(NamedTuple):
    kept: list[Candle]  # oldest first, one per start
    dropped: Mapping[str, int]  # reason -> candles
    gaps: int
    pending: int = 0  # today's candles not closed yet (not stored, not bad)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


def price_fault(c: Candle) -> str | None:
    """Why a candle's prices or volume are impossible, or ``None``."""
    _, _, _, o, h, lo, cl, volume = c[:8]
    if lo <= o <= h and lo <= cl <= h and lo > 0 and volume >= 0:
        return None  # the usual case, in one test
    if o <= 0 or h <= 0 or lo <= 0 or cl <= 0:
        return NON_POSITIVE_PRICE
    if h < lo:
        return HIGH_BELOW_LOW
    if not (lo <= o <= h and lo <= cl <= h):
        return OHLC_OUTSIDE_RANGE
    return NEGATIVE_VOLUME


class _Sessions:
    """Per IST day number: the session's [open, close) in UTC ns (None: closed), cached."""

    def __init__(self, calendar: ExchangeCalendar) -> None:
        self._calendar = calendar
        self._bounds: dict[int, tuple[int, int] | None] = {}

    def bounds(self, day_number: int) -> tuple[int, int] | None:
        try:
            return self._bounds[day_number]
        except KeyError:
            session = self._calendar.session(EPOCH + timedelta(days=day_number))
            b = None
            if session is not None:
                ns = session.times.bounds_ns(EPOCH + timedelta(days=day_number))
                b = (ns.open, ns.close)
            self._bounds[day_number] = b
            return b


def _time_fault(
    ts: int, step_ns: int, sessions: _Sessions, until_ns: int | None, wanted: set[int]
) -> str | None:
    day_number = (ts + IST_OFFSET_NS) // NS_PER_DAY
    bounds = sessions.bounds(day_number)
    if bounds is None:
        return OUTSIDE_SESSION
    if step_ns >= NS_PER_DAY:
        if ts != day_number * NS_PER_DAY - IST_OFFSET_NS:
            return OUTSIDE_SESSION
    else:
        open_ns, close_ns = bounds
        if not open_ns <= ts < close_ns or (ts - open_ns) % step_ns:
            return OUTSIDE_SESSION
        if until_ns is not None and ts + step_ns > until_ns:
            return PENDING
    return None if day_number in wanted else OUTSIDE_RANGE


def _normal(calendar: ExchangeCalendar, day: date) -> bool:
    session = calendar.session(day)
    return session is not None and session.kind is SessionKind.NORMAL


def check_candles(
    candles: Sequence[Candle],
    *,
    interval_seconds: int,
    calendar: ExchangeCalendar,
    days: Sequence[date],
    until_ns: int | None = None,
) -> Checked:
    """Keep the good candles of one fetch covering the trading ``days``; count the rest.

    ``until_ns``: when the answer came, if the chunk is today's session (candles not
    closed by then are left out as pending; minutes after the last candle are not gaps).
    """
    wanted = set(days)
    wanted_numbers = {(d - EPOCH).days for d in wanted}
    sessions = _Sessions(calendar)
    step_ns = interval_seconds * NS_PER_SECOND
    dropped: Counter[str] = Counter()
    pending = 0
    by_start: dict[int, Candle] = {}
    for c in candles:
        ts = c.ts_start
        reason = price_fault(c) or _time_fault(ts, step_ns, sessions, until_ns, wanted_numbers)
        if reason is None:
            if ts in by_start:
                dropped[DUPLICATE] += 1
            by_start[ts] = c
        elif reason == PENDING:
            pending += 1
        else:
            dropped[reason] += 1
    kept = [by_start[ts] for ts in sorted(by_start)]
    per_number = Counter((c.ts_start + IST_OFFSET_NS) // NS_PER_DAY for c in kept)
    per_day = {EPOCH + timedelta(days=n): k for n, k in per_number.items()}
    expected = [d for d in wanted if _normal(calendar, d) or per_day.get(d)]
    if interval_seconds >= 86_400:
        gaps = sum(1 for d in expected if not per_day.get(d))
    else:
        last = None if until_ns is None else (kept[-1].ts_start + step_ns if kept else 0)
        gaps = sum(max(session_minutes(calendar, d, last) - per_day.get(d, 0), 0) for d in expected)
    return Checked(kept, dict(dropped), gaps, pending)
