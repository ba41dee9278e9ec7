"""ScanInputs rebuilt from stored candles at a past time (quant.scanner.history_inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from scanner_history_kit import AGG, BRK, DAY, GHOST, KEYS, PRIOR_DAYS, at, build_store

from quant.core.calendar import NSE_CALENDAR
from quant.scanner.history_inputs import build_scan_inputs, session_days

ROW = {k: i for i, k in enumerate(KEYS)}


def test_the_breakout_name_at_0935_is_built_from_its_minute_and_day_candles() -> None:
    store = build_store()
    inputs = build_scan_inputs(
        store, KEYS, at(DAY, 9, 35), calendar=NSE_CALENDAR, history_days=3, volume_days=3
    )
    b = ROW[BRK]
    assert inputs.n == len(KEYS)
    # 20 bars complete (09:15 .. 09:34); minute 19 closes at 100 + 0.2 * 5
    assert inputs.last[b] == pytest.approx(101.0)
    assert inputs.day_open[b] == pytest.approx(100.0)
    assert (inputs.or_high[b], inputs.or_low[b]) == pytest.approx((100.1, 99.9))
    assert inputs.volume[b] == 15 * 200 + 5 * 1000
    # typical price == close in the kit; 15 bars of 200 at 100, then 1,000 at 100.2 .. 101.0
    assert inputs.vwap[b] == pytest.approx((15 * 200 * 100 + 1000 * 503.0) / 8000)
    assert inputs.same_time_volume[b].tolist() == [4000.0, 4000.0, 4000.0]
    assert inputs.daily_close[b].tolist() == pytest.approx([100.0, 100.0, 100.0])
    assert inputs.daily_high[b].tolist() == pytest.approx([100.1, 100.1, 100.1])
    assert inputs.daily_volume[b].tolist() == [75_000.0] * 3
    assert inputs.prev_close[b] == pytest.approx(100.0)
    assert inputs.minute_close.shape == (len(KEYS), 20)
    assert inputs.minute_close[b, -1] == pytest.approx(101.0)
    assert inputs.minute_close[b, 0] == pytest.approx(100.0)
    assert (inputs.index_last, inputs.index_prev_close) == (26000.0, 26000.0)


def test_a_name_without_day_candles_gets_them_from_its_minute_bars() -> None:
    store = build_store()
    inputs = build_scan_inputs(
        store, KEYS, at(DAY, 10, 0), calendar=NSE_CALENDAR, history_days=3, volume_days=1
    )
    a = ROW[AGG]
    assert inputs.daily_high[a].tolist() == pytest.approx([150.1] * 3)
    assert inputs.daily_low[a].tolist() == pytest.approx([149.9] * 3)
    assert inputs.daily_close[a].tolist() == pytest.approx([150.0] * 3)
    assert inputs.daily_volume[a].tolist() == [75_000.0] * 3
    assert inputs.same_time_volume.shape == (len(KEYS), 1)


def test_a_name_without_candles_is_unknown_everywhere() -> None:
    store = build_store()
    inputs = build_scan_inputs(
        store, KEYS, at(DAY, 9, 35), calendar=NSE_CALENDAR, history_days=3, volume_days=3
    )
    g = ROW[GHOST]
    for name in ("last", "day_open", "vwap", "volume", "or_high", "or_low", "prev_close"):
        assert np.isnan(getattr(inputs, name)[g]), name
    assert np.isnan(inputs.daily_close[g]).all()
    assert np.isnan(inputs.same_time_volume[g]).all()


def test_before_the_opening_range_completes_it_is_unknown() -> None:
    store = build_store()
    inputs = build_scan_inputs(
        store, KEYS, at(DAY, 9, 20), calendar=NSE_CALENDAR, history_days=3, volume_days=3
    )
    b = ROW[BRK]
    assert np.isnan(inputs.or_high[b]) and np.isnan(inputs.or_low[b])
    assert inputs.volume[b] == 5 * 200  # 09:15 .. 09:19
    assert inputs.same_time_volume[b].tolist() == [1000.0] * 3


def test_session_days_follow_the_index_data() -> None:
    store = build_store()
    days = session_days(store, PRIOR_DAYS[0], DAY, calendar=NSE_CALENDAR)
    assert days == [*PRIOR_DAYS, DAY]
