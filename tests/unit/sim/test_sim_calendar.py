"""The simulator's calendar is the platform's (``quant.core.calendar``) plus Upstox shapes:
holidays, trading days and session timings from NSE_CALENDAR, 2026-11-24 opened, phases
from the day's ``SessionTimes``, expiry-day rules and the holiday/timings response rows."""

from __future__ import annotations

from datetime import date, datetime, time

from quant.core.calendar import (
    NSE_CALENDAR,
    ExchangeCalendar,
    Holiday,
    SessionTimes,
    SpecialSession,
)
from quant.core.clock import IST, datetime_to_ns
from quant.sim import calendar
from quant.sim.calendar import SIM_CALENDAR, Phase
from quant.sim.config import SimConfig, default_start
from quant.sim.history import trading_days_before

TODAY = date(2026, 11, 24)
MUHURAT = date(2026, 11, 8)


def _at(day: date, h: int, mi: int, cal: ExchangeCalendar = SIM_CALENDAR) -> Phase:
    return calendar.phase_at(datetime_to_ns(datetime.combine(day, time(h, mi), tzinfo=IST)), cal)


def test_sim_calendar_is_the_platforms_with_today_opened() -> None:
    assert SimConfig().calendar is SIM_CALENDAR
    assert not NSE_CALENDAR.is_trading_day(TODAY)  # listed holiday on the platform...
    assert SIM_CALENDAR.is_trading_day(TODAY)  # ...but today's simulated session trades
    assert _at(TODAY, 10, 0) == Phase.NORMAL_OPEN
    expected = tuple(h for h in NSE_CALENDAR.holidays() if h.day != TODAY)
    assert SIM_CALENDAR.holidays() == expected
    for h in expected:
        assert _at(h.day, 11, 0) == Phase.CLOSING_END
    assert SIM_CALENDAR.special_sessions() == NSE_CALENDAR.special_sessions()


def test_holiday_rows_carry_the_platforms_names_in_upstox_shape() -> None:
    rows = calendar.holiday_rows(SIM_CALENDAR, 2026)
    assert [r["date"] for r in rows] == [h.day.isoformat() for h in SIM_CALENDAR.holidays(2026)]
    christmas = next(r for r in rows if r["date"] == "2026-12-25")
    assert christmas["description"] == "Christmas"
    assert christmas["holiday_type"] == "TRADING_HOLIDAY"
    closed = christmas["closed_exchanges"]
    assert isinstance(closed, list) and "NSE" in closed and christmas["open_exchanges"] == []
    assert all(r["date"] != TODAY.isoformat() for r in rows)
    assert len(calendar.holiday_rows(SIM_CALENDAR)) > len(rows)  # other years too


def test_phases_follow_the_days_session_times() -> None:
    assert _at(TODAY, 8, 59) == Phase.CLOSING_END
    assert _at(TODAY, 9, 3) == Phase.PRE_OPEN_START
    assert _at(TODAY, 9, 10) == Phase.PRE_OPEN_END
    assert _at(TODAY, 15, 29) == Phase.NORMAL_OPEN
    assert _at(TODAY, 15, 35) == Phase.CLOSING_START
    assert _at(TODAY, 15, 45) == Phase.CLOSING_END  # no post-close session in the sim
    # Muhurat trading (a Sunday special session) runs at its own times
    assert _at(MUHURAT, 10, 0) == Phase.CLOSING_END
    assert _at(MUHURAT, 17, 50) == Phase.PRE_OPEN_START
    assert _at(MUHURAT, 18, 30) == Phase.NORMAL_OPEN
    assert _at(MUHURAT, 19, 5) == Phase.CLOSING_START
    # a calendar with other normal timings moves the phases with it
    late = ExchangeCalendar((), normal=SessionTimes().with_overrides(close=time(15, 35)))
    assert _at(TODAY, 15, 32, late) == Phase.NORMAL_OPEN


def test_timings_and_session_fraction_use_the_session() -> None:
    def hm(ms: object) -> tuple[int, int]:
        local = datetime.fromtimestamp(int(str(ms)) / 1000, IST)
        return local.hour, local.minute

    nse = next(r for r in calendar.timings(TODAY, SIM_CALENDAR) if r["exchange"] == "NSE")
    assert (hm(nse["start_time"]), hm(nse["end_time"])) == ((9, 15), (15, 30))
    muhurat = calendar.timings(MUHURAT, SIM_CALENDAR)[0]
    assert (hm(muhurat["start_time"]), hm(muhurat["end_time"])) == ((18, 0), (19, 0))
    assert calendar.timings(date(2026, 12, 25), SIM_CALENDAR) == []
    mid = datetime_to_ns(datetime.combine(MUHURAT, time(18, 30), tzinfo=IST))
    assert calendar.session_fraction(mid, SIM_CALENDAR) == 0.5
    noon = datetime_to_ns(datetime.combine(TODAY, time(12, 22, 30), tzinfo=IST))
    assert calendar.session_fraction(noon, SIM_CALENDAR) == 0.5


def test_expiries_move_to_the_previous_full_trading_day() -> None:
    # NSE Tuesdays: Holi 2026-03-03 and Mahavir Jayanti 2026-03-31 are Tuesday holidays
    weekly = calendar.weekly_expiries(date(2026, 2, 26), 1, 6, SIM_CALENDAR)
    assert date(2026, 3, 2) in weekly and date(2026, 3, 3) not in weekly
    assert date(2026, 3, 30) in weekly and date(2026, 3, 31) not in weekly
    monthly = calendar.monthly_expiries(date(2026, 3, 1), 1, 1, SIM_CALENDAR)
    assert monthly == [date(2026, 3, 30)]
    # BSE Thursdays: Ram Navami 2026-03-26 is a Thursday
    bse = calendar.monthly_expiries(date(2026, 3, 1), 3, 1, SIM_CALENDAR)
    assert bse == [date(2026, 3, 25)]
    # today (opened) is the NSE weekly expiry
    assert calendar.weekly_expiries(TODAY, 1, 1, SIM_CALENDAR) == [TODAY]
    # never onto a weekend special session: Mon-Tue holidays, a Saturday session -> Friday
    cal = ExchangeCalendar(
        [Holiday(date(2026, 12, 7), "x"), Holiday(date(2026, 12, 8), "y")],
        [SpecialSession(date(2026, 12, 5), "special", SessionTimes())],
    )
    assert calendar.weekly_expiries(date(2026, 12, 2), 1, 1, cal) == [date(2026, 12, 4)]


def test_default_start_and_history_skip_days_without_a_normal_session() -> None:
    assert default_start(TODAY) == datetime.combine(TODAY, time(9, 14), tzinfo=IST)
    assert default_start(TODAY, NSE_CALENDAR).date() == date(2026, 11, 25)
    assert default_start(date(2026, 11, 7)).date() == date(2026, 11, 9)  # past Muhurat Sunday
    days = trading_days_before(date(2026, 11, 12), SIM_CALENDAR, 5)
    assert days == (
        date(2026, 11, 11),
        date(2026, 11, 9),
        date(2026, 11, 6),
        date(2026, 11, 5),
        date(2026, 11, 4),
    )
