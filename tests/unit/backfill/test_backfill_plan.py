"""The backfill planner: Upstox's range rules, the calendar, today's intraday, resume."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from quant.backfill.plan import (
    BadRequest,
    Chunk,
    HistoryRequest,
    add_months,
    check_request,
    plan_chunks,
    session_minutes,
    trading_days,
)
from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import IST, datetime_to_ns

A, B = "NSE_EQ|INE002A01018", "NSE_EQ|INE009A01021"


def at(day: date, hh: int = 18, mm: int = 0) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm), tzinfo=IST))


NOW = at(date(2026, 12, 8))  # a Tuesday evening, after the close


def test_add_months_is_calendar_months() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 1) == date(2026, 12, 30)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2016, 2, 29), 120) == date(2026, 2, 28)


def test_minute_chunks_split_at_month_ends_and_skip_weekends_and_holidays() -> None:
    req = HistoryRequest([A], "1minute", date(2026, 9, 1), date(2026, 11, 30))
    plan = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW)
    assert plan.chunks == (
        Chunk(A, "1minute", date(2026, 9, 1), date(2026, 9, 30)),
        Chunk(A, "1minute", date(2026, 10, 1), date(2026, 10, 30)),  # 31st is a Saturday
        Chunk(A, "1minute", date(2026, 11, 2), date(2026, 11, 30)),  # 1st is a Sunday
    )
    assert plan.skipped_chunks == 0


def test_each_chunk_is_within_upstox_one_month_rule() -> None:
    req = HistoryRequest([A, B], "1minute", date(2025, 1, 15), date(2026, 6, 10))
    plan = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW)
    assert len(plan.chunks) == 2 * 18  # Jan 2025 .. Jun 2026, per instrument
    for c in plan.chunks:
        assert c.start <= c.end <= add_months(c.start, 1)
        assert (c.start.year, c.start.month) == (c.end.year, c.end.month)
        assert NSE_CALENDAR.is_trading_day(c.start) and NSE_CALENDAR.is_trading_day(c.end)


def test_a_range_of_holidays_and_a_weekend_plans_nothing() -> None:
    # 2026-11-07/08 is a weekend (the Muhurat session is not on it), 11-10 a holiday
    req = HistoryRequest([A], "1minute", date(2026, 11, 7), date(2026, 11, 7))
    assert plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW).chunks == ()
    req = HistoryRequest([A], "day", date(2026, 11, 10), date(2026, 11, 10))
    assert plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW).chunks == ()
    assert date(2026, 11, 10) not in trading_days(
        NSE_CALENDAR, date(2026, 11, 9), date(2026, 11, 11)
    )


def test_day_candles_one_request_per_decade() -> None:
    req = HistoryRequest([A], "day", date(2005, 3, 1), date(2026, 11, 30))
    chunks = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW).chunks
    assert len(chunks) == 3
    assert chunks[0].start == date(2005, 3, 1) and chunks[-1].end == date(2026, 11, 30)
    for c in chunks:
        assert c.end < add_months(c.start, 120)


def test_today_in_market_hours_comes_from_the_intraday_endpoint() -> None:
    today = date(2026, 12, 8)
    req = HistoryRequest([A], "1minute", date(2026, 12, 1), today)
    chunks = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=at(today, 11, 0)).chunks
    assert chunks == (
        Chunk(A, "1minute", date(2026, 12, 1), date(2026, 12, 7)),
        Chunk(A, "1minute", today, today, intraday=True),
    )
    # before the open there is nothing of today to fetch
    early = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=at(today, 8, 0)).chunks
    assert [c.intraday for c in early] == [False]


def test_today_is_fetched_again_until_the_whole_closed_session_is_stored() -> None:
    today = date(2026, 12, 8)
    req = HistoryRequest([A], "1minute", today, today)
    part = {A: {today: 100}}
    in_hours = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=at(today, 11), have=part)
    assert in_hours.chunks == (Chunk(A, "1minute", today, today, intraday=True),)
    full = {A: {today: session_minutes(NSE_CALENDAR, today)}}
    after = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=at(today, 16), have=full)
    assert after.chunks == () and after.skipped_chunks == 1
    during = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=at(today, 15, 0), have=full)
    assert len(during.chunks) == 1  # the session is not over: refetch


def test_resume_asks_only_for_missing_days_and_force_for_all() -> None:
    req = HistoryRequest([A, B], "1minute", date(2026, 10, 1), date(2026, 11, 30))
    october = {d: 375 for d in trading_days(NSE_CALENDAR, date(2026, 10, 1), date(2026, 10, 31))}
    november = {d: 375 for d in trading_days(NSE_CALENDAR, date(2026, 11, 2), date(2026, 11, 19))}
    have = {A: october | november, B: october}
    plan = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW, have=have)
    assert plan.chunks == (
        Chunk(A, "1minute", date(2026, 11, 20), date(2026, 11, 30)),
        Chunk(B, "1minute", date(2026, 11, 2), date(2026, 11, 30)),
    )
    assert plan.skipped_chunks == 2
    forced = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW, have=have, force=True)
    assert len(forced.chunks) == 4 and forced.skipped_chunks == 0


def test_session_minutes() -> None:
    day = date(2026, 12, 8)
    assert session_minutes(NSE_CALENDAR, day) == 375
    assert session_minutes(NSE_CALENDAR, day, at(day, 9, 20)) == 5
    assert session_minutes(NSE_CALENDAR, date(2026, 12, 6)) == 0  # Sunday


@pytest.mark.parametrize(
    ("req", "words"),
    [
        (HistoryRequest([A], "1minute", date(2026, 11, 30), date(2026, 11, 1)), "is after"),
        (HistoryRequest([A], "1minute", date(2026, 12, 1), date(2026, 12, 9)), "future"),
        (HistoryRequest([A], "1minute", date(2021, 12, 1), date(2022, 1, 9)), "from 2022"),
        (HistoryRequest([A], "day", date(1999, 12, 1), date(2022, 1, 9)), "from 2000"),
        (HistoryRequest([], "day", date(2020, 12, 1), date(2022, 1, 9)), "no instruments"),
        (HistoryRequest([A], "5minute", date(2026, 1, 1), date(2026, 1, 9)), "interval"),  # type: ignore[arg-type]
    ],
)
def test_bad_requests_are_refused_with_a_clear_message(req: HistoryRequest, words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        check_request(req, date(2026, 12, 8))


def test_a_special_session_is_fetched_with_its_month_but_never_alone() -> None:
    muhurat = date(2026, 11, 8)  # a Sunday with a Muhurat session
    assert NSE_CALENDAR.is_trading_day(muhurat)
    req = HistoryRequest([A], "1minute", date(2026, 11, 2), date(2026, 11, 13))
    alone = HistoryRequest([A], "1minute", muhurat, muhurat)
    assert plan_chunks(alone, calendar=NSE_CALENDAR, now_ns=NOW).chunks == ()
    normal = {d: 375 for d in trading_days(NSE_CALENDAR, req.start, req.end, normal_only=True)}
    resumed = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW, have={A: normal})
    assert resumed.chunks == () and resumed.skipped_chunks == 1
    first = plan_chunks(req, calendar=NSE_CALENDAR, now_ns=NOW).chunks
    assert first == (Chunk(A, "1minute", date(2026, 11, 2), date(2026, 11, 13)),)
