"""Black-76 prices, greeks and implied vol against textbook values, py_vollib and properties."""

from __future__ import annotations

import importlib
import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.analytics.black76 import (
    black76_greeks,
    black76_greeks_array,
    black76_price,
    black76_price_array,
    forward_from_spot,
    implied_vol,
    implied_vol_array,
)
from quant.analytics.expiry import OptionPricingConfig, expiry_ns, time_to_expiry
from quant.analytics.normal import erfc, norm_cdf
from quant.core.clock import datetime_to_ns

# py_vollib (a dev dependency) now installs as ``vollib``; importing it through the old
# ``py_vollib`` name raises a DeprecationWarning, which this suite turns into an error.
vollib_black: Any = importlib.import_module("vollib.black")
vollib_greeks: Any = importlib.import_module("vollib.black.greeks.analytical")
vollib_iv: Any = importlib.import_module("vollib.black.implied_volatility")


def test_hull_futures_put_textbook_value() -> None:
    # Hull, Options Futures and Other Derivatives: F=K=20, r=9%, T=4 months, vol 25% -> 1.12.
    assert black76_price(20.0, 20.0, 4 / 12, 0.25, 0.09, False) == pytest.approx(1.1166, abs=1e-4)


def test_greeks_match_published_values() -> None:
    # The values in py_vollib's docstrings (F=49, K=50, r=5%, T=0.3846, vol 20%).
    call = black76_greeks(49.0, 50.0, 0.3846, 0.2, 0.05, True)
    put = black76_greeks(49.0, 50.0, 0.3846, 0.2, 0.05, False)
    assert call.delta == pytest.approx(0.45107017482201828, abs=1e-12)
    assert call.gamma == pytest.approx(0.0640646705882, abs=1e-12)
    assert call.theta == pytest.approx(-0.00816236877462, abs=1e-12)
    assert put.theta == pytest.approx(-0.00802799155312, abs=1e-12)
    assert call.vega == pytest.approx(0.118317785624, abs=1e-12)


def _grid() -> list[tuple[float, float, float, float, float, bool]]:
    rng = np.random.default_rng(20261124)
    rows = []
    for _ in range(400):
        f = float(rng.uniform(50, 150))
        k = float(f * math.exp(rng.uniform(-0.4, 0.4)))
        t = float(rng.uniform(1 / 365, 2.0))
        v = float(rng.uniform(0.05, 1.2))
        r = float(rng.uniform(0.0, 0.1))
        rows.append((f, k, t, v, r, bool(rng.random() < 0.5)))
    return rows


def test_prices_and_greeks_match_vollib_on_a_grid() -> None:
    rows = _grid()
    f, k, t, v, r, c = (np.array(col) for col in zip(*rows, strict=True))
    prices = black76_price_array(f, k, t, v, r, c)
    greeks = black76_greeks_array(f, k, t, v, r, c)
    for i, (fi, ki, ti, vi, ri, ci) in enumerate(rows):
        flag = "c" if ci else "p"
        ref_price = vollib_black.black(flag, fi, ki, ti, ri, vi)
        assert black76_price(fi, ki, ti, vi, ri, ci) == pytest.approx(
            ref_price, rel=1e-12, abs=1e-12
        )
        assert prices[i] == pytest.approx(ref_price, rel=1e-12, abs=1e-12)
        scalar = black76_greeks(fi, ki, ti, vi, ri, ci)
        for name in ("delta", "gamma", "theta", "vega", "rho"):
            ref = getattr(vollib_greeks, name)(flag, fi, ki, ti, ri, vi)
            assert getattr(scalar, name) == pytest.approx(ref, rel=1e-10, abs=1e-13), name
            assert getattr(greeks, name)[i] == pytest.approx(ref, rel=1e-10, abs=1e-13), name


def test_implied_vol_matches_vollib_to_1e_8() -> None:
    rows = _grid()
    f, k, t, v, r, c = (np.array(col) for col in zip(*rows, strict=True))
    prices = black76_price_array(f, k, t, v, r, c)
    ours = implied_vol_array(prices, f, k, t, r, c)
    checked = 0
    for i, (fi, ki, ti, _vi, ri, ci) in enumerate(rows):
        df = math.exp(-ri * ti)
        time_value = prices[i] - df * max((fi - ki) if ci else (ki - fi), 0.0)
        if time_value < 1e-7 * fi:  # price indistinguishable from intrinsic: IV ill-posed
            continue
        ref = vollib_iv.implied_volatility(prices[i], fi, ki, ri, ti, "c" if ci else "p")
        assert abs(ours[i] - ref) < 1e-8
        assert abs(implied_vol(prices[i], fi, ki, ti, ri, ci) - ref) < 1e-8
        checked += 1
    assert checked > 350


@pytest.mark.parametrize(
    ("price", "is_call"),
    [
        (-0.01, True),  # negative price
        (4.99, True),  # below intrinsic (F - K = 5, r = 0)
        (105.0, True),  # at/above the call's upper bound F
        (100.0, False),  # above the put's upper bound K = 95
        (math.nan, True),
    ],
)
def test_implied_vol_is_nan_outside_no_arbitrage_bounds(price: float, is_call: bool) -> None:
    assert math.isnan(implied_vol(price, 100.0, 95.0, 0.5, 0.0, is_call))


def test_implied_vol_is_zero_at_intrinsic_and_nan_for_bad_inputs() -> None:
    assert implied_vol(5.0, 100.0, 95.0, 0.5, 0.0, True) == 0.0
    assert math.isnan(implied_vol(1.0, 100.0, 95.0, 0.0, 0.0, True))
    assert math.isnan(implied_vol(1.0, -100.0, 95.0, 0.5, 0.0, True))
    assert math.isnan(implied_vol(1.0, 100.0, 0.0, 0.5, 0.0, True))


@settings(max_examples=300, deadline=None)
@given(
    f=st.floats(10.0, 50_000.0),
    log_moneyness=st.floats(-0.5, 0.5),
    t=st.floats(1e-3, 3.0),
    vol=st.floats(0.03, 2.0),
    r=st.floats(0.0, 0.15),
)
def test_put_call_parity(f: float, log_moneyness: float, t: float, vol: float, r: float) -> None:
    k = f * math.exp(log_moneyness)
    call = black76_price(f, k, t, vol, r, True)
    put = black76_price(f, k, t, vol, r, False)
    assert call - put == pytest.approx(math.exp(-r * t) * (f - k), abs=1e-9 * f)
    gc = black76_greeks(f, k, t, vol, r, True)
    gp = black76_greeks(f, k, t, vol, r, False)
    assert gc.delta - gp.delta == pytest.approx(math.exp(-r * t), abs=1e-12)
    assert gc.gamma == pytest.approx(gp.gamma, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(
    log_moneyness=st.floats(-0.6, 0.6),
    t=st.floats(1 / (365 * 24), 3.0),
    vol=st.floats(0.02, 3.0),
    r=st.floats(0.0, 0.15),
    is_call=st.booleans(),
)
def test_implied_vol_round_trip(
    log_moneyness: float, t: float, vol: float, r: float, is_call: bool
) -> None:
    f, k = 100.0, 100.0 * math.exp(log_moneyness)
    price = black76_price(f, k, t, vol, r, is_call)
    df = math.exp(-r * t)
    time_value = price - df * max((f - k) if is_call else (k - f), 0.0)
    vega = black76_greeks(f, k, t, vol, r, is_call).vega * 100.0
    if time_value < 1e-9 * f or vega < 1e-6:  # ill-conditioned: no digits left to invert
        return
    iv = implied_vol(price, f, k, t, r, is_call)
    assert abs(iv - vol) <= 1e-9 + 1e-12 * f / vega


def test_scalar_and_vectorised_solvers_agree() -> None:
    rng = np.random.default_rng(3)
    n = 3_000
    f = rng.uniform(50, 150, n)
    k = f * np.exp(rng.uniform(-0.6, 0.6, n))
    t = np.exp(rng.uniform(math.log(1 / 8760), math.log(3), n))
    v = rng.uniform(0.02, 2.5, n)
    c = rng.random(n) < 0.5
    prices = black76_price_array(f, k, t, v, 0.05, c)
    vector = implied_vol_array(prices, f, k, t, 0.05, c)
    rows = zip(prices.tolist(), f.tolist(), k.tolist(), t.tolist(), c.tolist(), strict=True)
    scalar = np.array([implied_vol(p, fi, ki, ti, 0.05, ci) for p, fi, ki, ti, ci in rows])
    # Deep in the money the time value is a few ulps of the price: IV is ill-posed there.
    intrinsic = np.maximum(np.where(c, f - k, k - f), 0.0)
    ok = prices * np.exp(0.05 * t) - intrinsic > 1e-7 * f
    assert ok.sum() > 1_500
    np.testing.assert_allclose(scalar[ok], vector[ok], rtol=1e-10, atol=1e-12)


def test_erfc_matches_math_erfc() -> None:
    x = np.linspace(-26.0, 26.0, 20_001)
    ref = np.array([math.erfc(v) for v in x])
    assert np.max(np.abs(erfc(x) - ref) / ref) < 5e-16 * 8
    assert math.isnan(float(norm_cdf(math.nan)))


def test_vectorised_functions_broadcast_scalars() -> None:
    prices = black76_price_array(100.0, np.array([90.0, 100.0, 110.0]), 0.25, 0.2, 0.05, True)
    assert prices.shape == (3,)
    assert prices[0] > prices[1] > prices[2]
    vols = implied_vol_array(prices, 100.0, np.array([90.0, 100.0, 110.0]), 0.25, 0.05, True)
    np.testing.assert_allclose(vols, 0.2, atol=1e-12)


def test_zero_time_prices_intrinsic_and_greeks_nan() -> None:
    assert black76_price(110.0, 100.0, 0.0, 0.2, 0.05, True) == 10.0
    assert black76_price(90.0, 100.0, 0.0, 0.2, 0.05, True) == 0.0
    assert math.isnan(black76_greeks(110.0, 100.0, 0.0, 0.2, 0.05, True).delta)


def test_forward_from_spot_applies_carry() -> None:
    assert forward_from_spot(100.0, 1.0, 0.05) == pytest.approx(100.0 * math.exp(0.05))
    assert forward_from_spot(100.0, 1.0, 0.05, 0.05) == pytest.approx(100.0)


def test_nse_expiry_is_1530_ist_and_act_365() -> None:
    expiry = date(2026, 11, 26)
    assert expiry_ns(expiry) == datetime_to_ns(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    now = datetime_to_ns(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))  # 15:30 IST the day before
    assert time_to_expiry(now, expiry) == pytest.approx(1 / 365, rel=1e-15)
    assert time_to_expiry(expiry_ns(expiry) + 1, expiry) == 0.0
    assert OptionPricingConfig(rate=0.07).time_to_expiry(now, expiry) == pytest.approx(1 / 365)
