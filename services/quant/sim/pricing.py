"""Vectorised Black-76 pricing and the simulator's volatility smile.

The market model prices every option each step with :func:`black76_price` at the vol given
by :func:`smile_vol`; tests recover implied vols from simulated prices and compare them
with :func:`smile_vol`. Forwards are ``spot * exp(RISK_FREE_RATE * T)`` (futures trade at
the same carry) and T is in years of 365 days up to the expiry instant (23:59:59 IST of
the expiry day). Written here rather than imported
from ``quant.analytics`` because the model needs numpy arrays, not scalars.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
RISK_FREE_RATE = 0.065
SECONDS_PER_YEAR = 365.0 * 86400.0
MIN_T_YEARS = 60.0 / SECONDS_PER_YEAR
SMILE_SKEW = -0.08
SMILE_CURVATURE = 0.03

_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_P = 0.3275911


def norm_cdf(x: FloatArray) -> FloatArray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + _P * z)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    erf = 1.0 - poly * np.exp(-z * z)
    out: FloatArray = 0.5 * (1.0 + np.sign(x) * erf)
    return out


def norm_pdf(x: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    return out


def smile_vol(
    atm_vol: FloatArray | float,
    strike: FloatArray | float,
    forward: FloatArray | float,
    t_years: FloatArray | float,
) -> FloatArray:
    """Implied vol of the simulated smile.

    ``x = ln(K/F) / (atm_vol * sqrt(T))`` (clamped to +-4);
    ``vol = atm_vol * (1 + SMILE_SKEW * x + SMILE_CURVATURE * x**2)``, floored at half ATM.
    """
    atm = np.asarray(atm_vol, dtype=np.float64)
    t = np.maximum(np.asarray(t_years, dtype=np.float64), MIN_T_YEARS)
    x = np.log(np.asarray(strike, dtype=np.float64) / np.asarray(forward, dtype=np.float64))
    x = np.clip(x / (atm * np.sqrt(t)), -4.0, 4.0)
    out: FloatArray = np.maximum(atm * (1.0 + SMILE_SKEW * x + SMILE_CURVATURE * x * x), 0.5 * atm)
    return out


class Greeks(NamedTuple):
    """Black-76 greeks as Upstox reports them (theta per day, vega and rho per 1%)."""

    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray


def _d1d2(
    forward: FloatArray, strike: FloatArray, vol: FloatArray, t: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    sd = vol * np.sqrt(t)
    d1 = (np.log(forward / strike) + 0.5 * sd * sd) / sd
    return d1, d1 - sd, sd


def black76_price(
    forward: FloatArray,
    strike: FloatArray,
    vol: FloatArray,
    t_years: FloatArray,
    is_call: npt.NDArray[np.bool_],
    rate: float = RISK_FREE_RATE,
) -> FloatArray:
    """Discounted Black-76 option prices (rupees)."""
    t = np.maximum(t_years, MIN_T_YEARS)
    d1, d2, _ = _d1d2(forward, strike, vol, t)
    disc = np.exp(-rate * t)
    call = disc * (forward * norm_cdf(d1) - strike * norm_cdf(d2))
    # put-call parity halves the CDF evaluations (prices of deep ITM puts stay exact to
    # float64 rounding, well below a tick)
    out: FloatArray = np.where(is_call, call, call - disc * (forward - strike))
    return out


def black76_greeks(
    forward: FloatArray,
    strike: FloatArray,
    vol: FloatArray,
    t_years: FloatArray,
    is_call: npt.NDArray[np.bool_],
    rate: float = RISK_FREE_RATE,
) -> Greeks:
    """Greeks with respect to the spot (delta ~ N(d1)), per Upstox's units."""
    t = np.maximum(t_years, MIN_T_YEARS)
    d1, d2, sd = _d1d2(forward, strike, vol, t)
    disc = np.exp(-rate * t)
    pdf = norm_pdf(d1)
    price = black76_price(forward, strike, vol, t, is_call, rate)
    delta = np.where(is_call, norm_cdf(d1), norm_cdf(d1) - 1.0)
    gamma = pdf / (forward * sd)
    decay = -disc * forward * pdf * vol / (2.0 * np.sqrt(t))
    theta = (decay + rate * price) / 365.0
    vega = disc * forward * pdf * np.sqrt(t) / 100.0
    rho = -t * price / 100.0
    _ = d2
    return Greeks(delta, gamma, theta, vega, rho)
