"""Synthetic candle history for days before the simulated session, deterministic per seed.

Each (instrument, trading day) gets a 375-minute path from a Brownian bridge between that
day's open and close; daily closes chain backwards from the session's previous close. Day
bars are aggregated from the minute bars, so minute, hour, day, week and month candles agree.
Used by :mod:`quant.sim.routes_history`; the current session's bars come from the market.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from quant.core.calendar import ExchangeCalendar
from quant.sim import calendar

IntArray = npt.NDArray[np.int64]
MINUTES = 375
MAX_DAYS = 2700


@lru_cache(maxsize=256)
def trading_days_before(
    day: date, cal: ExchangeCalendar, count: int = MAX_DAYS
) -> tuple[date, ...]:
    """The ``count`` full trading days before ``day``, newest first."""
    out: list[date] = []
    d = day
    while len(out) < count:
        d -= timedelta(days=1)
        if calendar.has_normal_session(d, cal):
            out.append(d)
    return tuple(out)


@lru_cache(maxsize=512)
def daily_closes(seed: int, row: int, close_prev: float, vol: float, n: int) -> tuple[float, ...]:
    """Closes of the ``n`` previous trading days (newest first), ending at ``close_prev``."""
    rng = np.random.default_rng([seed, row, 0xC105E])
    rets = rng.normal(0.0002, vol / np.sqrt(252), n)
    logs = np.log(close_prev) - np.concatenate([[0.0], np.cumsum(rets[:-1])])
    return tuple(np.exp(logs).tolist())


def minute_bars(
    seed: int,
    row: int,
    day: date,
    open_: float,
    close: float,
    vol: float,
    adv: float,
    tick: int,
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """(open, high, low, close, volume) arrays of the day's 375 one-minute bars (paise)."""
    rng = np.random.default_rng([seed, row, day.toordinal()])
    sigma = vol / np.sqrt(252 * MINUTES)
    walk = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, sigma, MINUTES))])
    frac = np.linspace(0.0, 1.0, MINUTES + 1)
    logp = np.log(open_) + frac * np.log(close / open_) + walk - frac * walk[-1]
    p = np.exp(logp) * 100.0
    wick = np.abs(rng.normal(0.0, sigma / 2, (2, MINUTES))) + 1.0

    def grid(x: npt.NDArray[np.float64]) -> IntArray:
        return np.maximum(np.round(x / tick) * tick, tick).astype(np.int64)

    o, c = grid(p[:-1]), grid(p[1:])
    h = np.maximum(grid(np.maximum(p[:-1], p[1:]) * wick[0]), np.maximum(o, c))
    lo = np.minimum(grid(np.minimum(p[:-1], p[1:]) / wick[1]), np.minimum(o, c))
    shape = 0.55 + 4.4 * (np.linspace(0, 1, MINUTES) - 0.5) ** 2
    v = (adv / MINUTES * shape * rng.lognormal(0.0, 0.4, MINUTES)).astype(np.int64)
    return o, h, lo, c, v


def aggregate(
    bars: tuple[IntArray, IntArray, IntArray, IntArray, IntArray], size: int
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Group consecutive bars ``size`` at a time (the last group may be short)."""
    o, h, lo, c, v = bars
    starts = np.arange(0, len(o), size)
    return (
        o[starts],
        np.maximum.reduceat(h, starts),
        np.minimum.reduceat(lo, starts),
        c[np.minimum(starts + size, len(o)) - 1],
        np.add.reduceat(v, starts),
    )
