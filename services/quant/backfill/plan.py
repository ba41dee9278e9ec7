"""The backfill planner: which requests fetch a request's missing candles (pure).

Upstox's V3 historical-candle API takes one instrument per request and a bounded date
range (UPSTOX.md §5): one calendar month for 1-15 minute candles (``to`` no later than
the same day of the next month), a decade for day candles. The planner cuts a
:class:`HistoryRequest` into :class:`Chunk`\\ s accordingly:

* only the exchange's trading days count (weekends and holidays from the
  :class:`~quant.core.calendar.ExchangeCalendar`); a special session (Muhurat trading)
  is fetched with the normal days around it but never alone: a history without it is
  complete (its date and timings are often provisional); a range with no normal trading
  day plans nothing;
* minute candles: at most one request per instrument and calendar month, from the first
  to the last missing trading day of that month; day candles: one request per
  instrument and decade;
* today (when the range reaches it and the session has opened) comes from the intraday
  endpoint (:attr:`Chunk.intraday`), and is fetched again until the store holds the
  whole closed session (an upsert: nothing doubles);
* resumable: given what the store holds per IST day (``TickReader.candle_days``), a past
  day with at least one stored candle counts as fetched (a chunk's candles are written
  in one batch), so a run stopped half-way and started again asks only for the rest;
  ``force`` plans everything again.

:func:`check_request` refuses a bad date range before any request.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Literal, NamedTuple

from quant.core.calendar import ExchangeCalendar, SessionKind
from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns, ns_to_datetime

Interval = Literal["1minute", "day"]
INTERVALS: tuple[Interval, ...] = ("1minute", "day")
INTERVAL_SECONDS: Mapping[str, int] = {"1minute": 60, "day": 86_400}
# (unit, interval) of the Upstox V3 path
UPSTOX_UNIT: Mapping[str, tuple[str, int]] = {"1minute": ("minutes", 1), "day": ("days", 1)}
# the oldest date Upstox serves per interval (UPSTOX.md §5)
EARLIEST: Mapping[str, date] = {"1minute": date(2022, 1, 1), "day": date(2000, 1, 1)}
DAY_SPAN_MONTHS = 120  # a decade of day candles per request


class HistoryRequest(NamedTuple):
    """Candles of ``interval`` for ``instrument_keys`` over the IST dates [start, end]."""

    instrument_keys: Sequence[str]
    interval: Interval
    start: date
    end: date


class Chunk(NamedTuple):
    """One request: ``instrument_key``'s candles over [start, end] (the intraday endpoint
    for today when ``intraday``)."""

    instrument_key: str
    interval: Interval
    start: date
    end: date
    intraday: bool = False


class Plan(NamedTuple):
    chunks: tuple[Chunk, ...]
    skipped_chunks: int  # months (decades) already complete in the store


class BadRequest(ValueError):
    """A backfill request that cannot be served (said before any request is sent)."""


def add_months(day: date, months: int) -> date:
    """``day`` ``months`` calendar months later (the month's last day if it is shorter)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def check_request(request: HistoryRequest, today: date) -> None:
    """Raise :class:`BadRequest` for an interval, date range or key list Upstox refuses."""
    if request.interval not in INTERVAL_SECONDS:
        raise BadRequest(
            f"unknown interval {request.interval!r}: use one of {', '.join(INTERVALS)}"
        )
    if not request.instrument_keys:
        raise BadRequest("no instruments to backfill")
    if request.start > request.end:
        raise BadRequest(
            f"bad date range: from {request.start.isoformat()} is after to "
            f"{request.end.isoformat()}"
        )
    if request.end > today:
        raise BadRequest(
            f"bad date range: to {request.end.isoformat()} is in the future "
            f"(today is {today.isoformat()} IST)"
        )
    earliest = EARLIEST[request.interval]
    if request.start < earliest:
        raise BadRequest(
            f"bad date range: Upstox serves {request.interval} candles from "
            f"{earliest.isoformat()}, not {request.start.isoformat()}"
        )


def day_start_ns(day: date) -> int:
    """00:00 IST of ``day`` as UTC ns (the ``ts_start`` of its day candle)."""
    return datetime_to_ns(datetime.combine(day, time(0), tzinfo=IST))


def ist_day(ns: int) -> date:
    return ns_to_datetime(ns, IST).date()


def trading_days(
    calendar: ExchangeCalendar, start: date, end: date, *, normal_only: bool = False
) -> list[date]:
    """The dates in [start, end] with a session (normal or special; only normal ones, the
    days a complete history must have, with ``normal_only``)."""
    out: list[date] = []
    d = start
    while d <= end:
        session = calendar.session(d)
        if session is not None and not (normal_only and session.kind is not SessionKind.NORMAL):
            out.append(d)
        d += timedelta(days=1)
    return out


def session_minutes(calendar: ExchangeCalendar, day: date, until_ns: int | None = None) -> int:
    """One-minute candles a complete session of ``day`` has (up to ``until_ns``, if given:
    the minutes that have closed by then)."""
    session = calendar.session(day)
    if session is None:
        return 0
    bounds = session.times.bounds_ns(day)
    end = bounds.close if until_ns is None else min(bounds.close, until_ns)
    return max((end - bounds.open) // (60 * NS_PER_SECOND), 0)


def _today_complete(
    calendar: ExchangeCalendar, interval: Interval, today: date, now_ns: int, stored: int
) -> bool:
    session = calendar.session(today)
    if session is None or now_ns < session.times.bounds_ns(today).close:
        return False
    need = 1 if interval == "day" else session_minutes(calendar, today)
    return stored >= need


def _groups(interval: Interval, days: Iterable[date]) -> list[list[date]]:
    """Trading days grouped into what one request may cover, oldest first."""
    groups: list[list[date]] = []
    for d in sorted(days):
        if groups:
            first = groups[-1][0]
            same = (
                (d.year, d.month) == (first.year, first.month)
                if interval == "1minute"
                else d < add_months(first, DAY_SPAN_MONTHS)
            )
            if same:
                groups[-1].append(d)
                continue
        groups.append([d])
    return groups


def plan_chunks(
    request: HistoryRequest,
    *,
    calendar: ExchangeCalendar,
    now_ns: int,
    have: Mapping[str, Mapping[date, int]] | None = None,
    force: bool = False,
) -> Plan:
    """The requests that fetch what ``have`` (stored candles per key and IST day) lacks.

    ``now_ns`` decides today: its session is fetched from the intraday endpoint once it
    has opened (never before), the days after it never.
    """
    today = ist_day(now_ns)
    session_today = calendar.session(today)
    days = trading_days(calendar, request.start, min(request.end, today))
    last_past = min(request.end, today - timedelta(days=1))
    past = trading_days(calendar, request.start, last_past, normal_only=True)
    with_today = (
        bool(days)
        and days[-1] == today
        and session_today is not None
        and now_ns >= session_today.times.bounds_ns(today).open
    )
    all_groups = _groups(request.interval, past)
    chunks: list[Chunk] = []
    skipped = 0
    for key in dict.fromkeys(request.instrument_keys):  # once each, in order
        stored = {} if force or have is None else have.get(key, {})
        for group in all_groups:
            missing = [d for d in group if stored.get(d, 0) <= 0]
            if not missing:
                skipped += 1
                continue
            chunks.append(Chunk(key, request.interval, missing[0], missing[-1]))
        if with_today:
            if not force and _today_complete(
                calendar, request.interval, today, now_ns, stored.get(today, 0)
            ):
                skipped += 1
            else:
                chunks.append(Chunk(key, request.interval, today, today, intraday=True))
    return Plan(tuple(chunks), skipped)
