"""Feature functions against pandas references, worked examples and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.analytics.candles import align_ist, candles_from_ticks
from quant.analytics.features import (
    BUY,
    NONE,
    SELL,
    buy_sell_volume,
    classify_aggressor,
    depth_imbalance,
    imbalance,
    microprice,
    rolling_vwap,
    session_vwap,
    spread,
    spread_bps,
    trade_intensity,
    volume_deltas,
)

NS = 1_000_000_000
T0 = 1_795_000_000 * NS


def _series(seed: int, n: int = 2_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = T0 + np.cumsum(rng.integers(1, 3 * NS, n))
    price = 100_000 + np.cumsum(rng.integers(-10, 11, n))
    qty = np.where(rng.random(n) < 0.7, rng.integers(1, 1_000, n), 0)
    return ts, price, qty


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_session_vwap_matches_pandas(seed: int) -> None:
    _, price, qty = _series(seed)
    df = pd.DataFrame({"p": price, "q": qty})
    ref = (df.p * df.q).cumsum() / df.q.cumsum()
    ours = session_vwap(price, qty)
    mask = df.q.cumsum() > 0
    np.testing.assert_allclose(ours[mask.to_numpy()], ref[mask].to_numpy(), rtol=1e-13)
    assert np.isnan(ours[~mask.to_numpy()]).all()


@pytest.mark.parametrize(("seed", "window_s"), [(1, 300), (2, 60), (3, 5)])
def test_rolling_vwap_matches_pandas_time_window(seed: int, window_s: int) -> None:
    ts, price, qty = _series(seed)
    df = pd.DataFrame(
        {"pv": (price * qty).astype(float), "q": qty.astype(float)},
        index=pd.to_datetime(ts, unit="ns"),
    )
    rolled = df.rolling(f"{window_s}s").sum()  # window (t - w, t], like ours
    ref = (rolled.pv / rolled.q).where(rolled.q > 0)
    ours = rolling_vwap(ts, price, qty, window_s * NS)
    np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-12, equal_nan=True)


def test_trade_intensity_matches_pandas_count() -> None:
    ts, _, qty = _series(4)
    s = pd.Series((qty > 0).astype(float), index=pd.to_datetime(ts, unit="ns"))
    ref = s.rolling("60s").sum() / 60.0
    np.testing.assert_allclose(trade_intensity(ts, qty, 60 * NS), ref.to_numpy(), rtol=1e-12)
    vol = pd.Series(qty.astype(float), index=s.index).rolling("60s").sum() / 60.0
    ours = trade_intensity(ts, qty, 60 * NS, by_volume=True)
    np.testing.assert_allclose(ours, vol.to_numpy(), rtol=1e-12)


def test_imbalance_matches_pandas_and_weights_levels() -> None:
    rng = np.random.default_rng(9)
    bq = rng.integers(0, 1_000, (500, 30))
    aq = rng.integers(0, 1_000, (500, 30))
    df = pd.DataFrame({"b": bq[:, 0], "a": aq[:, 0]})
    ref = (df.b - df.a) / (df.b + df.a)
    np.testing.assert_allclose(imbalance(bq[:, 0], aq[:, 0]), ref.to_numpy(), equal_nan=True)
    w = 1.0 / np.arange(1, 6)
    expected = ((bq[:, :5] * w).sum(1) - (aq[:, :5] * w).sum(1)) / (
        (bq[:, :5] * w).sum(1) + (aq[:, :5] * w).sum(1)
    )
    np.testing.assert_allclose(depth_imbalance(bq, aq, 5), expected, rtol=1e-12, atol=1e-15)
    assert not np.allclose(depth_imbalance(bq, aq, 30), depth_imbalance(bq, aq, 5))
    assert math.isnan(float(imbalance(0, 0)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**9)), min_size=1, max_size=40))
def test_imbalance_is_within_minus_one_and_one(rows: list[tuple[int, int]]) -> None:
    bq = np.array([[b] for b, _ in rows])
    aq = np.array([[a] for _, a in rows])
    for values in (imbalance(bq[:, 0], aq[:, 0]), depth_imbalance(bq, aq, 5)):
        finite = values[~np.isnan(values)]
        assert np.all((finite >= -1.0) & (finite <= 1.0))


def test_spread_and_microprice_examples() -> None:
    assert spread([10_000], [10_010]).tolist() == [10]
    assert spread([0], [10_010]).tolist() == [0]
    assert spread_bps([10_000], [10_010])[0] == pytest.approx(10 / 10_005 * 1e4)
    assert math.isnan(spread_bps([10_000], [0])[0])
    # A heavy bid pulls the microprice towards the ask.
    assert microprice([10_000], [900], [10_010], [100])[0] == pytest.approx(10_009.0)
    assert math.isnan(microprice([0], [1], [10_010], [1])[0])


def test_aggressor_quote_rule_uses_the_prevailing_mid_then_tick_test() -> None:
    price = [100, 106, 104, 105, 105, 103, 103]
    qty = [0, 5, 5, 5, 5, 5, 0]
    bid = [100, 104, 104, 104, 104, 102, 0]
    ask = [110, 106, 106, 106, 106, 104, 0]
    # mids seen before each tick: -, 105, 105, 105, 105, 105, 103
    sides = classify_aggressor(price, qty, bid, ask).tolist()
    assert sides[0] == NONE  # no trade
    assert sides[1] == BUY  # 106 > 105
    assert sides[2] == SELL  # 104 < 105
    assert sides[3] == BUY  # at mid 105: uptick from 104
    assert sides[4] == BUY  # at mid, zero tick: last non-zero change was up
    assert sides[5] == SELL  # 103 < 105
    assert sides[6] == NONE
    buy, sell = buy_sell_volume(sides, qty)
    assert (buy[-1], sell[-1]) == (15, 10)


def test_aggressor_without_quotes_falls_back_to_tick_test() -> None:
    sides = classify_aggressor([100, 100, 101, 101, 99], [5] * 5, [0] * 5, [0] * 5).tolist()
    assert sides == [NONE, NONE, BUY, BUY, SELL]


def test_volume_deltas_first_tick_and_reset() -> None:
    assert volume_deltas([500, 600, 600, 900, 40, 70]).tolist() == [0, 100, 0, 300, 40, 30]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(0, 10**5), st.integers(0, 200 * NS)),
        min_size=1,
        max_size=60,
    )
)
def test_vwaps_lie_within_traded_price_range(rows: list[tuple[int, int, int]]) -> None:
    price = np.array([p for p, _, _ in rows], dtype=np.int64)
    qty = np.array([q for _, q, _ in rows], dtype=np.int64)
    ts = T0 + np.cumsum([g for _, _, g in rows])
    for values in (session_vwap(price, qty), rolling_vwap(ts, price, qty, 60 * NS)):
        for i, v in enumerate(values.tolist()):
            traded = price[: i + 1][qty[: i + 1] > 0]
            if math.isnan(v):
                continue
            assert traded.min() - 1e-6 <= v <= traded.max() + 1e-6


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(0, 10**4), st.integers(0, 40 * NS)),
        min_size=1,
        max_size=80,
    )
)
def test_candles_are_consistent_and_conserve_volume(rows: list[tuple[int, int, int]]) -> None:
    price = [p for p, _, _ in rows]
    qty = [q for _, q, _ in rows]
    ts = (T0 + np.cumsum([g for _, _, g in rows])).tolist()
    candles = candles_from_ticks("NSE_EQ|X", ts, price, qty)
    assert sum(c.volume for c in candles) == sum(qty)
    assert sum(c.trade_count for c in candles) == sum(q > 0 for q in qty)
    for c in candles:
        assert c.high >= max(c.open, c.close) >= min(c.open, c.close) >= c.low
        assert (c.ts_start + 19_800 * NS) % (60 * NS) == 0
    starts = [c.ts_start for c in candles]
    assert starts == sorted(set(starts))


def test_candles_align_to_ist_quarter_hours() -> None:
    # 09:16:30 IST = 03:46:30 UTC; a 15-minute candle starts at 09:15 IST.
    ts = np.array([1_795_000_000 * NS])
    start = int(align_ist(ts, 900 * NS)[0])
    assert (start + 19_800 * NS) % (900 * NS) == 0
    assert 0 <= int(ts[0]) - start < 900 * NS
