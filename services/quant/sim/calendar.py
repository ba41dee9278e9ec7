"""Trading calendar and session phases of the simulated exchanges (NSE and BSE alike).

Pure functions of a UTC-ns instant: which phase the market is in, the day's timings, the
holiday list in Upstox's response shape, and option expiry dates (NSE Tuesdays, BSE
Thursdays, moved to the previous trading day when they fall on a holiday). Used by the
market model, the matching engine and the REST market-info endpoints.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from quant.core.clock import IST, NS_PER_MS, datetime_to_ns, ns_to_datetime

PRE_OPEN_START = time(9, 0)
PRE_OPEN_END = time(9, 8)
NORMAL_OPEN = time(9, 15)
NORMAL_CLOSE = time(15, 30)
CLOSING_END = time(15, 40)
SESSION_SECONDS = 6 * 3600 + 15 * 60
EXCHANGES = ("NSE", "BSE", "NFO", "BFO")


class Phase(StrEnum):
    """Upstox ``MarketStatus`` names, plus CLOSED outside any session."""

    PRE_OPEN_START = "PRE_OPEN_START"
    PRE_OPEN_END = "PRE_OPEN_END"
    NORMAL_OPEN = "NORMAL_OPEN"
    NORMAL_CLOSE = "NORMAL_CLOSE"
    CLOSING_START = "CLOSING_START"
    CLOSING_END = "CLOSING_END"


def is_trading_day(day: date, holidays: tuple[date, ...]) -> bool:
    return day.weekday() < 5 and day not in holidays


def phase_at(ns: int, holidays: tuple[date, ...]) -> Phase:
    """Session phase at ``ns``; non-trading days are ``CLOSING_END`` all day."""
    local = ns_to_datetime(ns, IST)
    if not is_trading_day(local.date(), holidays):
        return Phase.CLOSING_END
    now = local.time()
    if now < PRE_OPEN_START:
        return Phase.CLOSING_END
    if now < PRE_OPEN_END:
        return Phase.PRE_OPEN_START
    if now < NORMAL_OPEN:
        return Phase.PRE_OPEN_END
    if now < NORMAL_CLOSE:
        return Phase.NORMAL_OPEN
    if now < CLOSING_END:
        return Phase.CLOSING_START
    return Phase.CLOSING_END


def session_fraction(ns: int) -> float:
    """Position within the normal session, 0 at 09:15 and 1 at 15:30 (clamped)."""
    local = ns_to_datetime(ns, IST)
    seconds = (local.hour * 3600 + local.minute * 60 + local.second) - (9 * 3600 + 15 * 60)
    return min(max(seconds / SESSION_SECONDS, 0.0), 1.0)


def at_ist(day: date, clock_time: time) -> int:
    """UTC ns of ``clock_time`` IST on ``day``."""
    return datetime_to_ns(datetime.combine(day, clock_time, tzinfo=IST))


def previous_trading_day(day: date, holidays: tuple[date, ...]) -> date:
    day -= timedelta(days=1)
    while not is_trading_day(day, holidays):
        day -= timedelta(days=1)
    return day


def weekly_expiries(
    start: date, weekday: int, count: int, holidays: tuple[date, ...]
) -> list[date]:
    """The next ``count`` weekly expiries on ``weekday`` (0=Mon) on or after ``start``."""
    out: list[date] = []
    day = start + timedelta(days=(weekday - start.weekday()) % 7)
    while len(out) < count:
        adjusted = day if is_trading_day(day, holidays) else previous_trading_day(day, holidays)
        if adjusted >= start:
            out.append(adjusted)
        day += timedelta(days=7)
    return out


def monthly_expiries(
    start: date, weekday: int, count: int, holidays: tuple[date, ...]
) -> list[date]:
    """The next ``count`` monthly expiries: last ``weekday`` of each month, holiday-adjusted."""
    out: list[date] = []
    year, month = start.year, start.month
    while len(out) < count:
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        last = nxt - timedelta(days=1)
        last -= timedelta(days=(last.weekday() - weekday) % 7)
        if not is_trading_day(last, holidays):
            last = previous_trading_day(last, holidays)
        if last >= start:
            out.append(last)
        year, month = nxt.year, nxt.month
    return out


def expiry_epoch_ms(day: date) -> int:
    """Upstox's ``expiry``: epoch ms at 23:59:59 IST of the expiry day."""
    return at_ist(day, time(23, 59, 59)) // NS_PER_MS


def timings(day: date, holidays: tuple[date, ...]) -> list[dict[str, object]]:
    """``/v2/market/timings/{date}`` rows (epoch ms), empty on a holiday."""
    if not is_trading_day(day, holidays):
        return []
    start = at_ist(day, NORMAL_OPEN) // NS_PER_MS
    end = at_ist(day, NORMAL_CLOSE) // NS_PER_MS
    return [{"exchange": ex, "start_time": start, "end_time": end} for ex in EXCHANGES]


def holiday_rows(holidays: tuple[date, ...], year: int | None = None) -> list[dict[str, object]]:
    """``/v2/market/holidays`` rows for the listed holidays (optionally one year)."""
    return [
        {
            "date": day.isoformat(),
            "description": "Trading holiday",
            "holiday_type": "TRADING_HOLIDAY",
            "closed_exchanges": ["NSE", "NFO", "CDS", "BSE", "BFO", "BCD", "MCX"],
            "open_exchanges": [],
        }
        for day in holidays
        if year is None or day.year == year
    ]
