"""N-minute and daily candles from 1-minute candles, against hand-computed bars."""

from __future__ import annotations

from datetime import datetime

import pytest

from quant.analytics.resample import (
    bucket_start_ns,
    daily_from_minutes,
    ist_day_start_ns,
    resample_minutes,
)
from quant.core.clock import IST, datetime_to_ns
from quant.core.events import Candle

KEY = "NSE_EQ|INE002A01018"


def _at(day: int, hh: int, mm: int) -> int:
    return datetime_to_ns(datetime(2026, 12, day, hh, mm, tzinfo=IST))


def _m(day: int, hh: int, mm: int, o: int, h: int, lo: int, c: int, v: int, oi: int = 0) -> Candle:
    return Candle(KEY, 60, _at(day, hh, mm), o, h, lo, c, v, oi, trade_count=v // 10)


def test_buckets_start_at_the_session_open_on_the_ist_clock() -> None:
    assert bucket_start_ns(_at(7, 9, 15), 5) == _at(7, 9, 15)
    assert bucket_start_ns(_at(7, 9, 19), 5) == _at(7, 9, 15)
    assert bucket_start_ns(_at(7, 9, 20), 5) == _at(7, 9, 20)
    assert bucket_start_ns(_at(7, 10, 29), 15) == _at(7, 10, 15)
    # 30 minutes from 09:15, not from 09:00: 09:45-10:15
    assert bucket_start_ns(_at(7, 10, 14), 30) == _at(7, 9, 45)
    assert bucket_start_ns(_at(7, 15, 29), 60) == _at(7, 15, 15)
    # a pre-open minute belongs to the bucket before the open
    assert bucket_start_ns(_at(7, 9, 8), 5) == _at(7, 9, 5)
    # IST midnight, not UTC midnight (which is 05:30 IST)
    assert ist_day_start_ns(_at(7, 4, 0)) == _at(7, 0, 0)
    assert ist_day_start_ns(_at(7, 23, 59)) == _at(7, 0, 0)
    with pytest.raises(ValueError, match="at least one minute"):
        bucket_start_ns(_at(7, 9, 15), 0)


def test_five_minute_bars_by_hand() -> None:
    minutes = [
        _m(7, 9, 15, 1000, 1010, 995, 1005, 100, oi=7),
        _m(7, 9, 16, 1005, 1020, 1001, 1018, 50, oi=8),
        _m(7, 9, 19, 1018, 1019, 990, 992, 30, oi=9),  # 09:17, 09:18 missing: no trades
        _m(7, 9, 20, 992, 993, 980, 985, 70),
        _m(7, 9, 24, 985, 1001, 984, 1000, 10),
        _m(7, 9, 25, 1000, 1000, 1000, 1000, 0),
    ]
    bars = resample_minutes(minutes, 5)
    assert bars == [
        Candle(KEY, 300, _at(7, 9, 15), 1000, 1020, 990, 992, 180, 9, trade_count=18),
        Candle(KEY, 300, _at(7, 9, 20), 992, 1001, 980, 1000, 80, 0, trade_count=8),
        Candle(KEY, 300, _at(7, 9, 25), 1000, 1000, 1000, 1000, 0, 0, trade_count=0),
    ]
    fifteen = resample_minutes(minutes, 15)
    assert fifteen == [
        Candle(KEY, 900, _at(7, 9, 15), 1000, 1020, 980, 1000, 260, 0, trade_count=26)
    ]
    assert resample_minutes([], 5) == []
    assert resample_minutes(minutes, 1) == minutes  # one-minute bars are themselves


def test_bars_never_span_two_days() -> None:
    # 15:29 of one day and 09:15 of the next are both "the last bar" / "the first bar"
    minutes = [_m(7, 15, 29, 10, 12, 9, 11, 5), _m(8, 9, 15, 20, 21, 19, 20, 6)]
    hourly = resample_minutes(minutes, 60)
    assert [b.ts_start for b in hourly] == [_at(7, 15, 15), _at(8, 9, 15)]
    assert [(b.open, b.close) for b in hourly] == [(10, 11), (20, 20)]


def test_daily_bars_start_at_ist_midnight() -> None:
    minutes = [
        _m(7, 9, 15, 1000, 1010, 995, 1005, 100),
        _m(7, 15, 29, 1005, 1050, 1002, 1040, 40),
        _m(8, 9, 15, 1041, 1041, 1030, 1031, 10),
    ]
    days = daily_from_minutes(minutes)
    assert days == [
        Candle(KEY, 86_400, _at(7, 0, 0), 1000, 1050, 995, 1040, 140, 0, trade_count=14),
        Candle(KEY, 86_400, _at(8, 0, 0), 1041, 1041, 1030, 1031, 10, 0, trade_count=1),
    ]
