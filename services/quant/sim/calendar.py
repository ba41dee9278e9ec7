"""Trading calendar and session phases of the simulated exchanges (NSE and BSE alike).

Holidays, the trading-day test and session timings come from the platform's calendar,
:mod:`quant.core.calendar` (the one the operator uses): :data:`SIM_CALENDAR` is
:data:`quant.core.calendar.NSE_CALENDAR` with :data:`OPENED_HOLIDAYS` turned into normal
trading days (2026-11-24, a listed holiday, is the simulated session's day and must
trade). What stays here is simulator-specific: Upstox's ``MarketStatus`` phase names for an
instant, the ``/v2/market/holidays`` and ``/v2/market/timings`` response rows, and option
expiry dates (NSE Tuesdays, BSE Thursdays, moved to the previous trading day when they
fall on a holiday). Used by the market model, the matching engine, the synthetic history
and the REST market-info endpoints.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar, SessionKind, SessionTimes
from quant.core.clock import IST, NS_PER_MS, datetime_to_ns, ns_to_datetime

OPENED_HOLIDAYS: tuple[date, ...] = (date(2026, 11, 24),)
SIM_CALENDAR: ExchangeCalendar = NSE_CALENDAR.without_holidays(OPENED_HOLIDAYS)
NORMAL = SIM_CALENDAR.normal_session
SESSION_SECONDS = (
    datetime.combine(date.min, NORMAL.close) - datetime.combine(date.min, NORMAL.open)
).seconds
EXCHANGES = ("NSE", "BSE", "NFO", "BFO")
CLOSED_EXCHANGES = ["NSE", "NFO", "CDS", "BSE", "BFO", "BCD", "MCX"]


class Phase(StrEnum):
    """Upstox ``MarketStatus`` names, plus CLOSED outside any session."""

    PRE_OPEN_START = "PRE_OPEN_START"
    PRE_OPEN_END = "PRE_OPEN_END"
    NORMAL_OPEN = "NORMAL_OPEN"
    NORMAL_CLOSE = "NORMAL_CLOSE"
    CLOSING_START = "CLOSING_START"
    CLOSING_END = "CLOSING_END"


def is_trading_day(day: date, cal: ExchangeCalendar) -> bool:
    return cal.is_trading_day(day)


def session_times(day: date, cal: ExchangeCalendar) -> SessionTimes:
    """Timings of ``day``'s session (a special session's own); normal timings if closed."""
    session = cal.session(day)
    return session.times if session is not None else cal.normal_session


def phase_at(ns: int, cal: ExchangeCalendar) -> Phase:
    """Session phase at ``ns``; days without a session are ``CLOSING_END`` all day.

    Pre-open order entry is ``PRE_OPEN_START``, order matching ``PRE_OPEN_END``, continuous
    trading ``NORMAL_OPEN``, the ten minutes after the close ``CLOSING_START``; the
    simulator does not run the post-close session, so from its start on it is
    ``CLOSING_END``.
    """
    local = ns_to_datetime(ns, IST)
    session = cal.session(local.date())
    if session is None:
        return Phase.CLOSING_END
    t = session.times
    now = local.time()
    if now < t.pre_open_start:
        return Phase.CLOSING_END
    if now < t.pre_open_end:
        return Phase.PRE_OPEN_START
    if now < t.open:
        return Phase.PRE_OPEN_END
    if now < t.close:
        return Phase.NORMAL_OPEN
    if now < t.closing_start:
        return Phase.CLOSING_START
    return Phase.CLOSING_END


def session_fraction(ns: int, cal: ExchangeCalendar) -> float:
    """Position within the day's continuous session, 0 at the open and 1 at the close."""
    local = ns_to_datetime(ns, IST)
    t = session_times(local.date(), cal)
    start = datetime.combine(local.date(), t.open, tzinfo=IST)
    end = datetime.combine(local.date(), t.close, tzinfo=IST)
    frac = (local - start).total_seconds() / max((end - start).total_seconds(), 1.0)
    return min(max(frac, 0.0), 1.0)


def at_ist(day: date, clock_time: time) -> int:
    """UTC ns of ``clock_time`` IST on ``day``."""
    return datetime_to_ns(datetime.combine(day, clock_time, tzinfo=IST))


def has_normal_session(day: date, cal: ExchangeCalendar) -> bool:
    """A full trading day: expiries, the default start and synthetic history use only these
    (a special session such as Muhurat trading is an hour on an otherwise closed day)."""
    session = cal.session(day)
    return session is not None and session.kind == SessionKind.NORMAL


def _adjust(day: date, cal: ExchangeCalendar) -> date:
    while not has_normal_session(day, cal):
        day -= timedelta(days=1)
    return day


def weekly_expiries(start: date, weekday: int, count: int, cal: ExchangeCalendar) -> list[date]:
    """The next ``count`` weekly expiries on ``weekday`` (0=Mon) on or after ``start``."""
    out: list[date] = []
    day = start + timedelta(days=(weekday - start.weekday()) % 7)
    while len(out) < count:
        adjusted = _adjust(day, cal)
        if adjusted >= start:
            out.append(adjusted)
        day += timedelta(days=7)
    return out


def monthly_expiries(start: date, weekday: int, count: int, cal: ExchangeCalendar) -> list[date]:
    """The next ``count`` monthly expiries: last ``weekday`` of each month, holiday-adjusted."""
    out: list[date] = []
    year, month = start.year, start.month
    while len(out) < count:
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        last = nxt - timedelta(days=1)
        last -= timedelta(days=(last.weekday() - weekday) % 7)
        last = _adjust(last, cal)
        if last >= start:
            out.append(last)
        year, month = nxt.year, nxt.month
    return out


def expiry_epoch_ms(day: date) -> int:
    """Upstox's ``expiry``: epoch ms at 23:59:59 IST of the expiry day.

    This is only the instrument master's field; options are priced to the 15:30 IST close
    of the expiry date (:mod:`quant.analytics.expiry`), see :mod:`quant.sim.pricing`.
    """
    return at_ist(day, time(23, 59, 59)) // NS_PER_MS


def timings(day: date, cal: ExchangeCalendar) -> list[dict[str, object]]:
    """``/v2/market/timings/{date}`` rows (epoch ms of open and close), empty if closed."""
    session = cal.session(day)
    if session is None:
        return []
    start = at_ist(day, session.times.open) // NS_PER_MS
    end = at_ist(day, session.times.close) // NS_PER_MS
    return [{"exchange": ex, "start_time": start, "end_time": end} for ex in EXCHANGES]


def holiday_rows(cal: ExchangeCalendar, year: int | None = None) -> list[dict[str, object]]:
    """``/v2/market/holidays`` rows for the calendar's listed holidays (optionally one year)."""
    return [
        {
            "date": h.day.isoformat(),
            "description": h.name,
            "holiday_type": "TRADING_HOLIDAY",
            "closed_exchanges": list(CLOSED_EXCHANGES),
            "open_exchanges": [],
        }
        for h in cal.holidays(year)
    ]
