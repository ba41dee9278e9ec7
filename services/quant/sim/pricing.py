"""Option pricing of the simulated market: the platform's Black-76 at the simulator's smile.

The smile (:func:`smile_vol`) is the simulator's own model; everything else is the
platform's pure math, with exactly the conventions the feature engine uses to recover IVs
from the feed (so the engine's IVs recover the smile up to the tick rounding of the wire
price):

* prices and greeks: :func:`quant.analytics.black76.black76_price_array` and
  :func:`~quant.analytics.black76.black76_greeks_array` (vectorised, full-precision
  normal CDF; greeks in Upstox's units, see that module);
* T: :meth:`quant.analytics.expiry.OptionPricingConfig.time_to_expiry` - ACT/365 years to
  **15:30 IST** on the expiry date, 0 once past (the instrument master's ``expiry`` field
  stays 23:59:59 IST epoch ms, as Upstox publishes it);
* rate: :data:`PRICING` ``.rate`` (:data:`quant.analytics.expiry.DEFAULT_RATE`, 6.5%);
  forwards (and futures fair values) are ``spot * exp(rate * T)`` with that same T.

Called by :class:`quant.sim.market.Market` each step and by the feed/REST greeks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import numpy.typing as npt

from quant.analytics.black76 import GreeksArray, black76_greeks_array, black76_price_array
from quant.analytics.expiry import SECONDS_PER_YEAR, OptionPricingConfig

__all__ = [
    "MIN_T_YEARS",
    "PRICING",
    "RISK_FREE_RATE",
    "GreeksArray",
    "forward",
    "option_greeks",
    "option_price",
    "smile_vol",
    "times_to_expiry",
]

FloatArray = npt.NDArray[np.float64]
PRICING = OptionPricingConfig()
RISK_FREE_RATE = PRICING.rate
MIN_T_YEARS = 60.0 / SECONDS_PER_YEAR
"""Floor on T inside the smile's moneyness only (the smile must stay finite at expiry)."""
SMILE_SKEW = -0.08
SMILE_CURVATURE = 0.03


def times_to_expiry(now_ns: int, expiries: Sequence[date]) -> FloatArray:
    """T in years from ``now_ns`` to the 15:30 IST close of each expiry date (0 once past)."""
    return np.fromiter(
        (PRICING.time_to_expiry(now_ns, d) for d in expiries), dtype=np.float64, count=len(expiries)
    )


def forward(spot: FloatArray, t_years: FloatArray) -> FloatArray:
    """Forward (and futures fair value) of ``spot`` with carry at :data:`PRICING`'s rate."""
    out: FloatArray = spot * np.exp(PRICING.rate * t_years)
    return out


def smile_vol(
    atm_vol: FloatArray | float,
    strike: FloatArray | float,
    forward: FloatArray | float,
    t_years: FloatArray | float,
) -> FloatArray:
    """Implied vol of the simulated smile.

    ``x = ln(K/F) / (atm_vol * sqrt(T))`` (T floored at one minute, x clamped to +-4);
    ``vol = atm_vol * (1 + SMILE_SKEW * x + SMILE_CURVATURE * x**2)``, floored at half ATM.
    """
    atm = np.asarray(atm_vol, dtype=np.float64)
    t = np.maximum(np.asarray(t_years, dtype=np.float64), MIN_T_YEARS)
    x = np.log(np.asarray(strike, dtype=np.float64) / np.asarray(forward, dtype=np.float64))
    x = np.clip(x / (atm * np.sqrt(t)), -4.0, 4.0)
    out: FloatArray = np.maximum(atm * (1.0 + SMILE_SKEW * x + SMILE_CURVATURE * x * x), 0.5 * atm)
    return out


def option_price(
    forward: FloatArray,
    strike: FloatArray,
    vol: FloatArray,
    t_years: FloatArray,
    is_call: npt.NDArray[np.bool_],
) -> FloatArray:
    """Discounted Black-76 prices (rupees); intrinsic value at T = 0."""
    return black76_price_array(forward, strike, t_years, vol, PRICING.rate, is_call)


def option_greeks(
    forward: FloatArray,
    strike: FloatArray,
    vol: FloatArray,
    t_years: FloatArray,
    is_call: npt.NDArray[np.bool_],
) -> GreeksArray:
    """Black-76 greeks in Upstox's units; 0 where undefined (expired, T = 0).

    The platform's greeks are NaN once expired; the wire (JSON and the feed) carries 0.
    """
    g = black76_greeks_array(forward, strike, t_years, vol, PRICING.rate, is_call)
    return GreeksArray(*(np.nan_to_num(a, nan=0.0) for a in g))
