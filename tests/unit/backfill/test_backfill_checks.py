"""Candle validation: bad candles counted per reason and dropped, gaps counted."""

from __future__ import annotations

from datetime import date

from backfill_kit import at, session_minutes_of

from quant.backfill.checks import check_candles
from quant.backfill.plan import day_start_ns
from quant.core.calendar import NSE_CALENDAR
from quant.core.events import Candle

K = "NSE_EQ|INE002A01018"
DAY = date(2026, 12, 7)  # a Monday


def _check(candles: list[Candle], days: list[date], until: int | None = None, secs: int = 60):  # type: ignore[no-untyped-def]
    return check_candles(
        candles, interval_seconds=secs, calendar=NSE_CALENDAR, days=days, until_ns=until
    )


def test_a_complete_session_is_kept_whole_with_no_gap() -> None:
    candles = session_minutes_of(K, DAY)
    out = _check(list(reversed(candles)), [DAY])
    assert out.kept == candles and out.dropped == {} and out.gaps == 0


def test_each_kind_of_bad_candle_is_dropped_and_counted() -> None:
    good = session_minutes_of(K, DAY)
    t = good[10].ts_start
    bad = [
        good[1]._replace(high=good[1].low - 1),  # high < low
        good[2]._replace(low=0),  # non-positive
        good[3]._replace(close=-5),  # non-positive
        good[4]._replace(open=good[4].high + 1),  # open above high
        good[5]._replace(close=good[5].low - 1),  # close below low
        good[6]._replace(volume=-1),
        good[0]._replace(ts_start=at(DAY, 9, 0)),  # pre-open
        good[0]._replace(ts_start=at(DAY, 15, 30)),  # at the close
        good[0]._replace(ts_start=at(date(2026, 12, 6), 10)),  # a Sunday
        good[0]._replace(ts_start=t + 30_000_000_000),  # not on the minute
        good[0]._replace(ts_start=at(date(2026, 12, 4), 10)),  # a day not asked for
    ]
    replaced = {c.ts_start for c in bad[:6]}
    candles = [c for c in good if c.ts_start not in replaced] + bad
    out = _check(candles, [DAY])
    assert out.dropped == {
        "high_below_low": 1,
        "non_positive_price": 2,
        "ohlc_outside_range": 2,
        "negative_volume": 1,
        "outside_session": 4,
        "outside_range": 1,
    }
    assert len(out.kept) == 375 - 6
    assert out.gaps == 6  # the minutes whose only candle was bad


def test_gaps_count_missing_minutes_and_days() -> None:
    monday = session_minutes_of(K, DAY)
    tuesday = date(2026, 12, 8)
    candles = monday[:100] + monday[110:]
    out = _check(candles, [DAY, tuesday])
    assert out.gaps == 10 + 375
    days = [
        Candle(K, 86_400, day_start_ns(DAY), 100, 110, 90, 105, 5),
        Candle(K, 86_400, day_start_ns(DAY) + 3_600_000_000_000, 100, 110, 90, 105, 5),
    ]
    out = _check(days, [DAY, tuesday], secs=86_400)
    assert len(out.kept) == 1 and out.dropped == {"outside_session": 1} and out.gaps == 1


def test_today_keeps_closed_minutes_and_leaves_the_one_in_progress_pending() -> None:
    today = date(2026, 12, 8)
    now = at(today, 10, 0) + 20_000_000_000  # 10:00:20
    candles = session_minutes_of(K, today, now + 60_000_000_000)  # includes 10:00, open
    out = _check(candles, [today], until=now)
    assert len(out.kept) == 45 and out.gaps == 0
    assert out.dropped == {} and out.pending == 1
    # the newest minutes not published yet are no gap; a hole before them is
    out = _check(candles[:40], [today], until=now)
    assert out.gaps == 0
    out = _check(candles[:10] + candles[12:40], [today], until=now)
    assert out.gaps == 2


def test_a_duplicate_start_keeps_the_later_candle() -> None:
    a = session_minutes_of(K, DAY)
    again = a[7]._replace(close=a[7].close + 1)
    out = _check([*a, again], [DAY])
    assert out.dropped == {"duplicate": 1}
    assert out.kept[7] == again and len(out.kept) == 375
