"""When the scanner runs: cycles aligned to the IST clock during market hours (pure).

A trading day's cycles are ``first_at``, ``first_at + interval``, ... strictly before the
session's close (09:20, 09:25, ..., 15:25 by default), on the days the exchange calendar
has a session (special sessions use their own times; ``first_at`` is then taken as an
offset from the open, see :func:`cycle_times`). Times are UTC ns; IST only through the
calendar. Called by :mod:`quant.scanner.service`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from quant.core.calendar import ExchangeCalendar, Session
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns, ns_to_datetime

NORMAL_OPEN = time(9, 15)


def _at(day: date, t: time) -> int:
    return datetime_to_ns(datetime.combine(day, t, tzinfo=IST))


def session_open_close(session: Session) -> tuple[int, int]:
    """The continuous session's open and close on its day, UTC ns."""
    return _at(session.day, session.times.open), _at(session.day, session.times.close)


def cycle_times(
    day: date, calendar: ExchangeCalendar, first_at: time, interval_seconds: int
) -> list[int]:
    """Every cycle instant of ``day`` (UTC ns), oldest first; empty when it has no session.

    ``first_at`` is an IST time on a normal day; on a day whose session opens at another
    time it keeps its distance from the open (09:20 = open + 5 minutes).
    """
    session = calendar.session(day)
    if session is None:
        return []
    open_ns, close_ns = session_open_close(session)
    offset = _at(day, first_at) - _at(day, NORMAL_OPEN)
    first = open_ns + max(offset, 0)
    step = interval_seconds * NS_PER_SECOND
    return list(range(first, close_ns, step))


def next_cycle(
    now_ns: int, calendar: ExchangeCalendar, first_at: time, interval_seconds: int
) -> int:
    """The first cycle instant at or after ``now_ns`` (today's, else a later trading day's)."""
    day = ns_to_datetime(now_ns, IST).date()
    for _ in range(30):
        for t in cycle_times(day, calendar, first_at, interval_seconds):
            if t >= now_ns:
                return t
        day += timedelta(days=1)
    raise LookupError(f"no scanner cycle within 30 days after {day.isoformat()}")


def session_day(now_ns: int, calendar: ExchangeCalendar) -> date:
    """The session a cycle at ``now_ns`` belongs to: today once it has opened, else the
    latest earlier trading day (whose quotes are the latest there are)."""
    day = ns_to_datetime(now_ns, IST).date()
    session = calendar.session(day)
    if session is not None and now_ns >= session_open_close(session)[0]:
        return day
    return previous_trading_day(day, calendar)


def previous_trading_day(day: date, calendar: ExchangeCalendar) -> date:
    """The latest date before ``day`` with a session."""
    return previous_trading_days(day, calendar, 1)[0]


def previous_trading_days(day: date, calendar: ExchangeCalendar, count: int) -> list[date]:
    """The ``count`` latest dates before ``day`` with a session, oldest first."""
    out: list[date] = []
    d = day
    for _ in range(count * 3 + 30):
        if len(out) == count:
            break
        d -= timedelta(days=1)
        if calendar.is_trading_day(d):
            out.append(d)
    if len(out) < count:
        raise LookupError(f"fewer than {count} trading days found before {day.isoformat()}")
    return out[::-1]


def minute_label(now_ns: int) -> str:
    """The cycle's IST time as the reasons quote it ("10:25")."""
    return ns_to_datetime(now_ns, IST).strftime("%H:%M")


def wall_seconds_until(target_ns: int, now_ns: int, clock_speed: float) -> float:
    """Wall-clock seconds until the clock reads ``target_ns`` (a clock running
    ``clock_speed`` times faster than the wall, e.g. the simulator's)."""
    return max(0.0, (target_ns - now_ns) / NS_PER_SECOND / clock_speed)
