"""The time range of a candles request: ``from``/``to`` as the client wrote them -> UTC ns.

``from`` and ``to`` are dates (``2026-12-07``: from 00:00 IST of that day; to the end of
that day, inclusive) or ISO-8601 datetimes (``2026-12-07T10:30``, IST when no offset is
given, ``Z`` or ``+05:30`` otherwise; ``to`` exclusive). Left out, they default to the
latest session on or before today (intraday intervals) or the last
:data:`DEFAULT_SESSIONS` sessions (``1d``), by the instrument's exchange calendar and the
gateway's clock. The start is moved back to the start of the bar it falls in (a day for
``1d``, the session-aligned N-minute bucket otherwise) and a ``1d`` end forward to the
next 00:00 IST, so every bar returned is whole at its start. A request may span at most
:data:`MAX_SPAN_DAYS` days of its interval.

Pure: :func:`candle_range` raises :class:`BadBound` (an unreadable value: a 422) or
:class:`BadRange` (readable but unusable: a 400). Called by the candles router.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal, NamedTuple

from quant.analytics.candles import IST_OFFSET_NS
from quant.analytics.resample import DAY_NS, bucket_start_ns, ist_day_start_ns
from quant.core.calendar import ExchangeCalendar
from quant.core.clock import IST, datetime_to_ns, ns_to_datetime

Interval = Literal["1m", "5m", "15m", "1d"]
#: minutes per bar of the intraday intervals
MINUTES: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15}
#: the longest range one request may ask for, in days, per interval
MAX_SPAN_DAYS: dict[str, int] = {"1m": 31, "5m": 92, "15m": 183, "1d": 3660}
#: sessions a 1d request without ``from`` covers
DEFAULT_SESSIONS = 30
#: what ``from``/``to`` may look like (a date, or a date and time with an optional offset)
BOUND_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
#: the dates a bound may name (the tick store's timestamps are int64 ns since 1970)
EARLIEST, LATEST = date(1970, 1, 2), date(2199, 12, 31)
_EPOCH = date(1970, 1, 1)
# how far back to look for a trading day (the longest NSE closure is a few days)
_LOOKBACK_DAYS = 30


class BadBound(ValueError):
    """``from`` or ``to`` is not a date or datetime (``name`` says which)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class BadRange(ValueError):
    """The range is readable but cannot be served (empty, reversed or too long)."""


class TimeRange(NamedTuple):
    """``[start_ns, end_ns)`` in UTC ns."""

    start_ns: int
    end_ns: int


def _ist_midnight(day: date) -> int:
    return datetime_to_ns(datetime.combine(day, time(0, 0), IST))


def parse_bound(name: str, text: str, *, is_end: bool) -> int:
    """``text`` (a date or an ISO datetime, IST when it has no offset) as UTC ns; a date
    ``to`` (``is_end``) means the end of that day."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            _check_day(name, day)
            return _ist_midnight(day + timedelta(days=1) if is_end else day)
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        if isinstance(e, BadBound):
            raise
        raise BadBound(name, f"{name} {text!r} is not a valid date or datetime: {e}") from e
    _check_day(name, moment.date())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    return datetime_to_ns(moment)


def _check_day(name: str, day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise BadBound(name, f"{name} must be between {EARLIEST} and {LATEST}, not {day}")


def session_on_or_before(calendar: ExchangeCalendar, day: date) -> date:
    """The latest trading day on or before ``day`` (``day`` itself when none is found)."""
    for back in range(_LOOKBACK_DAYS):
        candidate = day - timedelta(days=back)
        if calendar.is_trading_day(candidate):
            return candidate
    return day


def sessions_back(calendar: ExchangeCalendar, last: date, sessions: int) -> date:
    """The first of the ``sessions`` trading days ending with ``last`` (a trading day)."""
    day, counted = last, 1
    while counted < sessions:
        day = session_on_or_before(calendar, day - timedelta(days=1))
        counted += 1
    return day


def _ist_date(ns: int) -> date:
    """The IST calendar day of ``ns`` (integer arithmetic: exact to the nanosecond)."""
    return _EPOCH + timedelta(days=(ns + IST_OFFSET_NS) // DAY_NS)


def candle_range(
    interval: Interval,
    start: str | None,
    end: str | None,
    *,
    now_ns: int,
    calendar: ExchangeCalendar,
) -> TimeRange:
    """The ``[start, end)`` a candles request covers (see the module docstring)."""
    end_ns = (
        _ist_midnight(_ist_date(now_ns) + timedelta(days=1))
        if end is None
        else parse_bound("to", end, is_end=True)
    )
    if start is not None:
        start_ns = parse_bound("from", start, is_end=False)
    else:
        last = session_on_or_before(calendar, _ist_date(end_ns - 1))
        first = last if interval != "1d" else sessions_back(calendar, last, DEFAULT_SESSIONS)
        start_ns = _ist_midnight(first)
    if start_ns >= end_ns:
        raise BadRange(
            f"from ({_show(start_ns)}) must be before to ({_show(end_ns)})"
            + ("" if end is not None else ", which defaults to the end of today")
        )
    if interval == "1d":
        start_ns = ist_day_start_ns(start_ns)
        day_end = ist_day_start_ns(end_ns)
        end_ns = day_end if day_end == end_ns else day_end + DAY_NS
    else:
        start_ns = bucket_start_ns(start_ns, MINUTES[interval])
    limit = MAX_SPAN_DAYS[interval]
    if end_ns - start_ns > limit * DAY_NS:
        days = (end_ns - start_ns) / DAY_NS
        raise BadRange(
            f"from {_show(start_ns)} to {_show(end_ns)} is {days:.1f} days; a {interval} "
            f"request may span at most {limit} days (ask for less, or page with from/to)"
        )
    return TimeRange(start_ns, end_ns)


def _show(ns: int) -> str:
    return ns_to_datetime(ns, IST).isoformat()
