"""The scanner's timer: cycles at 09:20, 09:25, ... before the close, on trading days."""

from __future__ import annotations

from datetime import date, time

from scanner_kit import at

from quant.core.calendar import NSE_CALENDAR
from quant.scanner.schedule import (
    cycle_times,
    next_cycle,
    previous_trading_days,
    session_day,
    wall_seconds_until,
)

FIRST = time(9, 20)


def test_a_normal_day_has_cycles_every_five_minutes_from_0920_to_1525() -> None:
    times = cycle_times(date(2026, 12, 8), NSE_CALENDAR, FIRST, 300)
    assert times[0] == at(9, 20) and times[1] == at(9, 25)
    assert times[-1] == at(15, 25)
    assert len(times) == 74


def test_the_next_cycle_is_the_next_boundary_and_an_exact_boundary_is_now() -> None:
    assert next_cycle(at(9, 17), NSE_CALENDAR, FIRST, 300) == at(9, 20)
    assert next_cycle(at(10, 25), NSE_CALENDAR, FIRST, 300) == at(10, 25)
    assert next_cycle(at(10, 25) + 1, NSE_CALENDAR, FIRST, 300) == at(10, 30)
    assert next_cycle(at(10, 25) + 1, NSE_CALENDAR, FIRST, 60) == at(10, 26)


def test_after_the_last_cycle_the_next_is_the_next_trading_day_skipping_the_weekend() -> None:
    friday = date(2026, 12, 11)
    assert next_cycle(at(15, 26, friday), NSE_CALENDAR, FIRST, 300) == at(9, 20, date(2026, 12, 14))
    # Christmas (Friday 2026-12-25) is an NSE holiday
    assert next_cycle(at(16, 0, date(2026, 12, 24)), NSE_CALENDAR, FIRST, 300) == at(
        9, 20, date(2026, 12, 28)
    )


def test_before_the_open_the_session_is_the_previous_trading_days() -> None:
    assert session_day(at(9, 0, date(2026, 12, 14)), NSE_CALENDAR) == date(2026, 12, 11)
    assert session_day(at(9, 15, date(2026, 12, 14)), NSE_CALENDAR) == date(2026, 12, 14)
    assert previous_trading_days(date(2026, 12, 14), NSE_CALENDAR, 3) == [
        date(2026, 12, 9),
        date(2026, 12, 10),
        date(2026, 12, 11),
    ]


def test_a_faster_clock_waits_that_much_less_wall_time() -> None:
    assert wall_seconds_until(at(9, 20), at(9, 15), 1.0) == 300.0
    assert wall_seconds_until(at(9, 20), at(9, 15), 10.0) == 30.0
    assert wall_seconds_until(at(9, 15), at(9, 20), 10.0) == 0.0
