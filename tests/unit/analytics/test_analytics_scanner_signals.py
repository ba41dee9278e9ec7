"""The scanner's signals against hand-computed values, NaN handling and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from quant.analytics.scanner_signals import (
    SIGNAL_NAMES,
    ScanInputs,
    SignalParams,
    compute_signals,
    gap,
    high_distance,
    orb,
    range_contraction,
    rate_of_change,
    relative_strength,
    relative_volume,
    row_median,
    vwap_distance,
)

nan = np.nan


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def m(*rows: tuple[float, ...]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def test_orb_breakout_breakdown_inside_and_unknown() -> None:
    got = orb(
        last=a(104, 99, 101, 104, nan, 104, 0),
        or_high=a(102, 102, 102, nan, 102, 100, 102),
        or_low=a(100, 100, 100, 100, 100, 102, 100),
    )
    # 104 / 102 - 1 = 0.0196078... -> 1.96078 %; 99 / 100 - 1 = -1 %; 101 inside [100, 102] -> 0
    # then: range not complete, price unknown, low above high, price 0 ("no trade"): NaN
    assert_allclose(got, a(200 / 102, -1.0, 0.0, nan, nan, nan, nan), equal_nan=True)
    assert np.isnan(orb(a(np.inf), a(102), a(100))).all()


def test_high_distance_over_the_newest_n_sessions() -> None:
    highs = m((10, 12, 11, 9), (nan, nan, 10, 8), (nan, nan, nan, 10))
    got = high_distance(a(11.7, 10.5, 10.0), highs, days=4)
    # max(10, 12, 11, 9) = 12: 11.7 / 12 - 1 = -0.025 -> -2.5 % (2.5 % below the high)
    # max(10, 8) = 10 with 2 of 4 sessions known (half is enough): 10.5 / 10 - 1 -> +5 %
    # 1 of 4 sessions known: NaN
    assert_allclose(got, a(-2.5, 5.0, nan), equal_nan=True)
    # the newest 2 sessions of row 0 are (11, 9): 11.7 / 11 - 1 = 0.0636... -> 6.3636 %
    assert_allclose(high_distance(a(11.7), highs[:1], days=2), a(0.7 / 11 * 100))
    # a window longer than the history: 4 of 60 sessions known, fewer than half -> NaN
    assert np.isnan(high_distance(a(11.7), highs[:1], days=60)).all()
    # ... and with 4 of 7 known it uses all of them: max 12 -> -2.5 %
    assert_allclose(high_distance(a(11.7), highs[:1], days=7), a(-2.5))


def test_relative_volume_against_the_median_same_time_volume() -> None:
    same_time = m(
        (100, 200, 300, 400, nan),  # 4 known: median (200 + 300) / 2 = 250
        (100, 300, 200, nan, nan),  # 3 known: sorted 100, 200, 300 -> 200
        (nan, nan, nan, nan, nan),  # none known
        (0, 0, 0, 0, 0),  # median 0: no usual volume to compare with
        (10, 10, 10, 10, 10),
    )
    got = relative_volume(a(500, 50, 500, 500, nan), same_time)
    assert np.isnan(relative_volume(a(np.inf, -1), same_time[:2])).all()
    # 500 / 250 = 2.0; 50 / 200 = 0.25; then NaN, NaN, unknown volume NaN
    assert_allclose(got, a(2.0, 0.25, nan, nan, nan), equal_nan=True)


def test_row_median_matches_numpy_where_defined() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(50, 9))
    x[rng.random(x.shape) < 0.3] = nan
    x[0] = nan
    expected = np.array([np.median(r[~np.isnan(r)]) if (~np.isnan(r)).any() else nan for r in x])
    assert_allclose(row_median(x), expected, equal_nan=True)
    assert row_median(np.zeros((3, 0))).shape == (3,)


def test_relative_strength_against_the_index() -> None:
    got = relative_strength(a(102, 99, nan), a(100, 100, 100), 20100.0, 20000.0)
    # stock +2 %, NIFTY 20100 / 20000 - 1 = +0.5 %: 2 - 0.5 = 1.5 points; -1 - 0.5 = -1.5
    assert_allclose(got, a(1.5, -1.5, nan), equal_nan=True)
    # an unknown index makes every name unknown
    assert np.isnan(relative_strength(a(102), a(100), nan, 20000.0)).all()


def test_gap_and_vwap_distance() -> None:
    # 102.1 / 100 - 1 = 0.021 -> 2.1 %; 98 / 100 - 1 -> -2 %; previous close 0 -> NaN
    assert_allclose(gap(a(102.1, 98, 101), a(100, 100, 0)), a(2.1, -2.0, nan), equal_nan=True)
    # 101 / 100 - 1 -> 1 %; 99.5 / 100 - 1 -> -0.5 %; no VWAP yet (0) -> NaN
    got = vwap_distance(a(101, 99.5, 101), a(100, 100, 0))
    assert_allclose(got, a(1.0, -0.5, nan), equal_nan=True)


def test_rate_of_change_k_bars_back() -> None:
    closes = m((nan, 100, 101, 102, 103), (nan, nan, 101, 102, 103))
    got = rate_of_change(a(103.5, 103.5), closes, minutes=3)
    # row 0: 3 bars before the newest (103) is 100: 103.5 / 100 - 1 -> 3.5 %
    # row 1: that bar is NaN-padding (the day is too young) -> NaN
    assert_allclose(got, a(3.5, nan), equal_nan=True)
    # 5 bars back needs 6 bars: NaN for everyone
    assert np.isnan(rate_of_change(a(1, 1), closes, minutes=5)).all()


def test_range_contraction_short_over_long_range() -> None:
    highs = m((10, 12, 11, 10.5), (nan, nan, 11, 10.5), (nan, nan, nan, 10.5), (5, 5, 5, 5))
    lows = m((8, 9, 10, 9.5), (nan, nan, 10, 9.5), (nan, nan, nan, 9.5), (5, 5, 5, 5))
    got = range_contraction(highs, lows, short=2, long=4)
    # row 0: newest 2: max(11, 10.5) - min(10, 9.5) = 1.5; all 4: 12 - 8 = 4 -> 1.5 / 4 = 0.375
    # row 1: both windows span the same 2 known sessions: 1.5 / 1.5 = 1.0
    # row 2: 1 of 4 sessions known -> NaN; row 3: the long range is 0 -> NaN
    assert_allclose(got, a(0.375, 1.0, nan, nan), equal_nan=True)


def _inputs(n: int = 3) -> ScanInputs:
    rng = np.random.default_rng(3)
    days, same, minutes = 20, 20, 30
    high = 100 + rng.random((n, days)) * 5
    return ScanInputs(
        last=100 + rng.random(n) * 5,
        prev_close=np.full(n, 101.0),
        day_open=np.full(n, 101.5),
        vwap=np.full(n, 102.0),
        volume=rng.random(n) * 1e5,
        or_high=np.full(n, 103.0),
        or_low=np.full(n, 100.0),
        daily_high=high,
        daily_low=high - 3,
        daily_close=high - 1,
        daily_volume=np.full((n, days), 1e5),
        same_time_volume=rng.random((n, same)) * 1e5,
        minute_close=100 + rng.random((n, minutes)),
        index_last=20000.0,
        index_prev_close=19900.0,
    )


def test_compute_signals_is_every_signal_in_order() -> None:
    i = _inputs()
    p = SignalParams(high_days=10, roc_minutes=5, contraction_short=3, contraction_long=15)
    got = compute_signals(i, p)
    assert tuple(got) == SIGNAL_NAMES
    expected = {
        "orb": orb(i.last, i.or_high, i.or_low),
        "high_dist": high_distance(i.last, i.daily_high, 10),
        "rel_volume": relative_volume(i.volume, i.same_time_volume),
        "rel_strength": relative_strength(i.last, i.prev_close, 20000.0, 19900.0),
        "gap": gap(i.day_open, i.prev_close),
        "vwap_dist": vwap_distance(i.last, i.vwap),
        "roc": rate_of_change(i.last, i.minute_close, 5),
        "contraction": range_contraction(i.daily_high, i.daily_low, 3, 15),
    }
    for name in SIGNAL_NAMES:
        assert_array_equal(got[name], expected[name])
        assert got[name].shape == (3,)


def test_all_unknown_inputs_give_nan_without_warnings() -> None:
    # pytest turns warnings into errors: an all-NaN row must not warn (np.nanmax would)
    n = 4
    nan1, nan2 = np.full(n, nan), np.full((n, 5), nan)
    i = ScanInputs(
        last=nan1,
        prev_close=nan1,
        day_open=nan1,
        vwap=nan1,
        volume=nan1,
        or_high=nan1,
        or_low=nan1,
        daily_high=nan2,
        daily_low=nan2,
        daily_close=nan2,
        daily_volume=nan2,
        same_time_volume=nan2,
        minute_close=nan2,
        index_last=nan,
        index_prev_close=nan,
    )
    for name, values in compute_signals(i).items():
        assert np.isnan(values).all(), name


def test_empty_universe_and_empty_history() -> None:
    z1, z2 = np.zeros(0), np.zeros((0, 0))
    i = ScanInputs(z1, z1, z1, z1, z1, z1, z1, z2, z2, z2, z2, z2, z2, 1.0, 1.0)
    assert all(v.shape == (0,) for v in compute_signals(i).values())
    one = a(100)
    none = np.zeros((1, 0))
    j = ScanInputs(one, one, one, one, one, one, one, none, none, none, none, none, none, 1, 1)
    s = compute_signals(j)
    assert np.isnan(s["high_dist"]).all() and np.isnan(s["contraction"]).all()


def test_bad_shapes_and_params_are_clear_errors() -> None:
    i = _inputs()
    with pytest.raises(ValueError, match=r"ScanInputs.vwap has shape \(2,\), expected \(3,\)"):
        ScanInputs(**{**i.__dict__, "vwap": np.zeros(2)})
    with pytest.raises(ValueError, match="daily_low has shape"):
        ScanInputs(**{**i.__dict__, "daily_low": np.zeros(3)})
    with pytest.raises(ValueError, match="disagree on D"):
        ScanInputs(**{**i.__dict__, "daily_low": np.zeros((3, 4))})
    with pytest.raises(ValueError, match="roc_minutes must be >= 1"):
        SignalParams(roc_minutes=0)
    with pytest.raises(ValueError, match="contraction_short must not exceed"):
        SignalParams(contraction_short=30)
