"""Additions to ``quant.core.calendar`` used by the simulator: holiday listing, special
session listing, the normal session timings and a calendar with some holidays opened."""

from __future__ import annotations

from datetime import date, time

from quant.core.calendar import (
    NORMAL_SESSION,
    NSE_CALENDAR,
    NSE_HOLIDAYS,
    NSE_SPECIAL_SESSIONS,
    ExchangeCalendar,
    Holiday,
    SessionKind,
    SessionTimes,
)


def test_holidays_are_listed_in_date_order_and_by_year() -> None:
    listed = NSE_CALENDAR.holidays()
    assert listed == tuple(sorted(NSE_HOLIDAYS, key=lambda h: h.day))
    year_2026 = NSE_CALENDAR.holidays(2026)
    assert year_2026 and all(h.day.year == 2026 for h in year_2026)
    assert len(year_2026) == sum(1 for h in NSE_HOLIDAYS if h.day.year == 2026)
    assert NSE_CALENDAR.holidays(1999) == ()


def test_special_sessions_are_listed_in_date_order() -> None:
    assert NSE_CALENDAR.special_sessions() == tuple(
        sorted(NSE_SPECIAL_SESSIONS, key=lambda s: s.day)
    )


def test_normal_session_is_the_calendars_timings() -> None:
    assert NSE_CALENDAR.normal_session is NORMAL_SESSION
    late = SessionTimes().with_overrides(close=time(15, 35), closing_start=time(15, 45))
    assert ExchangeCalendar((), normal=late).normal_session == late


def test_without_holidays_opens_only_the_named_days() -> None:
    gurpurb = date(2026, 11, 24)
    assert not NSE_CALENDAR.is_trading_day(gurpurb)
    opened = NSE_CALENDAR.without_holidays([gurpurb])
    session = opened.session(gurpurb)
    assert session is not None and session.kind == SessionKind.NORMAL
    assert opened.holiday(gurpurb) is None
    assert len(opened.holidays()) == len(NSE_CALENDAR.holidays()) - 1
    # everything else is unchanged, and the original calendar is untouched
    assert not opened.is_trading_day(date(2026, 12, 25))
    assert not opened.is_trading_day(date(2026, 11, 28))  # Saturday
    assert opened.special_sessions() == NSE_CALENDAR.special_sessions()
    assert opened.normal_session == NSE_CALENDAR.normal_session
    assert not NSE_CALENDAR.is_trading_day(gurpurb)


def test_without_holidays_ignores_days_that_are_not_holidays() -> None:
    cal = ExchangeCalendar([Holiday(date(2026, 1, 26), "Republic Day")])
    same = cal.without_holidays([date(2026, 1, 27), date(2026, 1, 31)])
    assert same.holidays() == cal.holidays()
    assert not same.is_trading_day(date(2026, 1, 31))  # a Saturday stays closed
