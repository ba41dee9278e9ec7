"""Black-76 on the forward: option prices, greeks and implied vol, scalar and vectorised.

Conventions (the same as py_vollib's ``black`` module and as Upstox's feed greeks, so the
two can be compared directly):

* ``forward`` is the forward/futures price of the underlying for the option's expiry (see
  :func:`forward_from_spot` for spot with carry); ``strike`` in the same unit (rupees or
  paise, as long as both agree - prices come back in that unit).
* ``t_years`` is ACT/365 calendar time to expiry (:mod:`quant.analytics.expiry`); ``rate``
  is the continuously compounded annual rate used to discount the premium, ``e^{-rT}``.
* ``vol`` is annualised, as a fraction (0.2 = 20%).
* **delta** and **gamma** are with respect to the forward and include the discount factor:
  call delta ``e^{-rT} Φ(d1)``, put ``-e^{-rT} Φ(-d1)``.
* **theta** is per calendar DAY: ``-∂V/∂T / 365`` (negative for a long option when r=0).
* **vega** is per 1 VOL POINT: ``∂V/∂σ × 0.01`` (the change for 20% -> 21%).
* **rho** is per 1 percentage point of rate: ``∂V/∂r × 0.01 = -T V × 0.01``.

At ``t_years <= 0`` or ``vol <= 0`` the price is the (discounted) intrinsic value and the
greeks are NaN. Implied vol lives in :mod:`quant.analytics.implied_vol` and is re-exported
here. Called by the feature engine, the simulator's option-chain pricing and the tests.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from quant.analytics.implied_vol import implied_vol, implied_vol_array
from quant.analytics.normal import (
    FloatArray,
    norm_cdf,
    norm_cdf_scalar,
    norm_pdf,
    norm_pdf_scalar,
)

__all__ = [
    "Greeks",
    "GreeksArray",
    "black76_greeks",
    "black76_greeks_array",
    "black76_price",
    "black76_price_array",
    "forward_from_spot",
    "implied_vol",
    "implied_vol_array",
]

DAYS_PER_YEAR = 365.0
VOL_POINT = 0.01
RATE_POINT = 0.01


class Greeks(NamedTuple):
    """Black-76 greeks of one option (units in the module docstring)."""

    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float


class GreeksArray(NamedTuple):
    """Black-76 greeks of many options, one array per greek."""

    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray


def forward_from_spot(
    spot: float, t_years: float, rate: float, dividend_yield: float = 0.0
) -> float:
    """Forward of a spot price with continuous carry: ``S e^{(r - q) T}``."""
    return spot * math.exp((rate - dividend_yield) * t_years)


def black76_price(
    forward: float, strike: float, t_years: float, vol: float, rate: float, is_call: bool
) -> float:
    """Discounted Black-76 price of one call or put."""
    df = math.exp(-rate * max(t_years, 0.0))
    s = vol * math.sqrt(t_years) if t_years > 0.0 and vol > 0.0 else 0.0
    if s <= 0.0:
        intrinsic = forward - strike if is_call else strike - forward
        return df * max(intrinsic, 0.0)
    d1 = math.log(forward / strike) / s + 0.5 * s
    d2 = d1 - s
    if is_call:
        return df * (forward * norm_cdf_scalar(d1) - strike * norm_cdf_scalar(d2))
    return df * (strike * norm_cdf_scalar(-d2) - forward * norm_cdf_scalar(-d1))


def black76_greeks(
    forward: float, strike: float, t_years: float, vol: float, rate: float, is_call: bool
) -> Greeks:
    """Delta, gamma, theta (per day), vega (per vol point) and rho of one option."""
    if t_years <= 0.0 or vol <= 0.0 or forward <= 0.0 or strike <= 0.0:
        nan = math.nan
        return Greeks(nan, nan, nan, nan, nan)
    df = math.exp(-rate * t_years)
    sqrt_t = math.sqrt(t_years)
    s = vol * sqrt_t
    d1 = math.log(forward / strike) / s + 0.5 * s
    d2 = d1 - s
    pdf = norm_pdf_scalar(d1)
    if is_call:
        price = df * (forward * norm_cdf_scalar(d1) - strike * norm_cdf_scalar(d2))
        delta = df * norm_cdf_scalar(d1)
    else:
        price = df * (strike * norm_cdf_scalar(-d2) - forward * norm_cdf_scalar(-d1))
        delta = -df * norm_cdf_scalar(-d1)
    gamma = df * pdf / (forward * s)
    vega_unit = df * forward * pdf * sqrt_t
    theta_year = rate * price - df * forward * pdf * vol / (2.0 * sqrt_t)
    return Greeks(
        delta=delta,
        gamma=gamma,
        theta=theta_year / DAYS_PER_YEAR,
        vega=vega_unit * VOL_POINT,
        rho=-t_years * price * RATE_POINT,
    )


def _broadcast(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    f, k, t, v, r, c = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (forward, strike, t_years, vol, rate)),
        np.asarray(is_call, dtype=np.bool_),
    )
    return f, k, t, v, r, c


def black76_price_array(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> FloatArray:
    """Discounted Black-76 prices, elementwise (arguments broadcast)."""
    f, k, t, v, r, c = _broadcast(forward, strike, t_years, vol, rate, is_call)
    df = np.exp(-r * np.maximum(t, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where((t > 0.0) & (v > 0.0), v * np.sqrt(np.maximum(t, 0.0)), 0.0)
        theta = np.where(c, 1.0, -1.0)
        d1 = np.log(f / k) / s + 0.5 * s
        d2 = d1 - s
        price = theta * (f * norm_cdf(theta * d1) - k * norm_cdf(theta * d2))
    intrinsic = np.maximum(theta * (f - k), 0.0)
    result: FloatArray = df * np.where(s > 0.0, price, intrinsic)
    return result


def black76_greeks_array(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    is_call: npt.ArrayLike,
) -> GreeksArray:
    """Greeks of many options (units as :func:`black76_greeks`); NaN where undefined."""
    f, k, t, v, r, c = _broadcast(forward, strike, t_years, vol, rate, is_call)
    ok = (t > 0.0) & (v > 0.0) & (f > 0.0) & (k > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.exp(-r * t)
        sqrt_t = np.sqrt(t)
        s = v * sqrt_t
        d1 = np.log(f / k) / s + 0.5 * s
        d2 = d1 - s
        theta_sign = np.where(c, 1.0, -1.0)
        cdf1 = norm_cdf(theta_sign * d1)
        price = df * theta_sign * (f * cdf1 - k * norm_cdf(theta_sign * d2))
        pdf = norm_pdf(d1)
        delta = theta_sign * df * cdf1
        gamma = df * pdf / (f * s)
        vega = df * f * pdf * sqrt_t * VOL_POINT
        theta = (r * price - df * f * pdf * v / (2.0 * sqrt_t)) / DAYS_PER_YEAR
        rho = -t * price * RATE_POINT
    nan = np.nan
    return GreeksArray(
        delta=np.where(ok, delta, nan),
        gamma=np.where(ok, gamma, nan),
        theta=np.where(ok, theta, nan),
        vega=np.where(ok, vega, nan),
        rho=np.where(ok, rho, nan),
    )
