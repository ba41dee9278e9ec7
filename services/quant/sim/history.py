"""Synthetic candle history for days before the simulated session, deterministic per seed.

A one-factor model with regimes, built backwards from the session's previous close:

* a **market factor** (one per seed): daily log returns with drift and volatility regimes
  and an overnight share (the gap), plus one shared intraday path per day;
* every NSE equity: ``beta`` times the factor plus its own noise, scaled to the name's
  volatility, overlaid with **regimes** chosen per name: quiet stretches, **trends**
  (persistent drift, more volume) and **bases**: a contraction (small daily moves and
  ranges, volume drying up, then rising over the last three days) followed by a
  **breakout** day to a new 20-day high on several times the usual volume, then a
  follow-through (most of the time) or a failure;
* indices with members (NIFTY 50, Nifty Bank, SENSEX, ...) are their members' weighted
  basket, so they agree with their constituents by construction; India VIX mean-reverts
  and moves against the factor; BSE twins and futures follow their NSE/underlying path
  (scaled to their own previous close); option rows a plain random walk;
* names chosen by :func:`setup_rows` for the session day end their history inside a
  base: the live market (:mod:`quant.sim.market`) breaks them out during the session.

Each (instrument, trading day) then gets 375 one-minute bars: a Brownian bridge from the
day's open to its close whose noise shares the factor's intraday path by the name's
correlation. Day bars are aggregated from the minute bars, so minute, hour, day, week and
month candles agree; the newest past day closes at the session's previous close.
Used by :mod:`quant.sim.routes_history`; the current session's bars come from the market.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from quant.core.calendar import ExchangeCalendar
from quant.sim import calendar
from quant.sim.master import Kind, Universe

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Bars = tuple[IntArray, IntArray, IntArray, IntArray, IntArray]
MINUTES = 375
MAX_DAYS = 2700
MARKET_VOL = 0.0095  # daily sd of the market factor's log return (~15% a year)
SETUP_SHARE = 0.06  # share of NSE equities whose history ends in a base (live breakout)
NIFTY_KEY = "NSE_INDEX|Nifty 50"
HIGH_DAYS = 20  # a breakout closes above the highs of this many previous days
_PATHS_CACHED = 256  # anchored daily paths kept per history (~110 KB each)


# ---- deterministic per-row draws ----------------------------------------------------
def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser (vectorised; uint64 arithmetic wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def unit_hash(seed: int, rows: IntArray, salt: int) -> FloatArray:
    """A uniform [0, 1) number per row, stable for (seed, row, salt)."""
    key = np.uint64((seed * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) % 2**64)
    with np.errstate(over="ignore"):
        h = _mix(np.asarray(rows, dtype=np.uint64) + key)
        h = _mix(h ^ key)
    out: FloatArray = (h >> np.uint64(11)).astype(np.float64) / float(2**53)
    return out


def betas(seed: int, rows: IntArray) -> FloatArray:
    """Each equity's beta to the market factor (0.55 - 1.45), stable per (seed, row)."""
    return 0.55 + 0.9 * unit_hash(seed, rows, 0xBE7A)


def correlation(beta: FloatArray, vol: FloatArray) -> FloatArray:
    """Correlation of a name's returns with the factor: beta x factor vol / name vol."""
    sigma = np.maximum(vol, 0.05) / np.sqrt(252.0)
    out: FloatArray = np.clip(beta * MARKET_VOL / sigma, 0.0, 0.9)
    return out


def setup_rows(seed: int, universe: Universe, trade_date: date) -> IntArray:
    """The NSE equities whose history ends in a base before ``trade_date``'s session (the
    live market breaks them out): ~6% of the names outside the NIFTY 50, so that the
    index does not move with them."""
    arange = np.arange(len(universe), dtype=np.int64)
    nse = (universe.kind == Kind.EQ) & (universe.underlying == arange)
    nifty = universe.index_of.get(NIFTY_KEY)
    if nifty is not None and nifty in universe.index_members:
        nse[universe.index_members[nifty][0]] = False
    rows = np.nonzero(nse)[0]
    out: IntArray = rows[unit_hash(seed, rows, trade_date.toordinal()) < SETUP_SHARE]
    return out


# ---- calendar -----------------------------------------------------------------------
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


# ---- daily paths ----------------------------------------------------------------------
class MarketFactor(NamedTuple):
    """The factor over ``n`` days, chronological (index 0 = oldest)."""

    ret: FloatArray  # daily log return
    gap: FloatArray  # the overnight part of ``ret``
    vol: FloatArray  # volatility regime multiplier (1 = normal)


@lru_cache(maxsize=4)
def market_factor(seed: int, n: int) -> MarketFactor:
    """Daily factor returns with drift and volatility regimes (segments of 20-80 days)."""
    rng = np.random.default_rng([seed, 0x4D4B54])
    vol = np.ones(n)
    drift = np.zeros(n)
    j = 0
    while j < n:
        length = int(rng.integers(20, 81))
        vol[j : j + length] = rng.choice([0.75, 1.0, 1.6], p=[0.35, 0.45, 0.2])
        drift[j : j + length] = rng.normal(0.0003, 0.0007)
        j += length
    ret = drift + MARKET_VOL * vol * rng.standard_normal(n)
    gap = 0.35 * ret + rng.normal(0.0, 0.0015, n)
    return MarketFactor(ret, gap, vol)


@lru_cache(maxsize=4096)
def market_minutes(seed: int, ordinal: int) -> FloatArray:
    """The factor's intraday path of one day: a walk of unit daily variance (376 points)."""
    z = np.random.default_rng([seed, ordinal, 0x4D494E]).standard_normal((1, MINUTES))
    out: FloatArray = _walk(z)[0]
    return out


class DailyPath(NamedTuple):
    """One instrument's past days, newest first (index k = ``days[k]``), rupees.

    ``close[k]`` closes day k (``close[0]`` is the session's previous close), ``open[k]``
    opens it; ``volume[k]`` multiplies the usual daily volume and ``ivol[k]`` the usual
    intraday volatility; ``rho`` is the intraday correlation with the factor and ``sigma``
    the usual daily volatility (fraction); ``breakout[k]`` is the time of day (fraction of
    the session) at which day k breaks out, NaN on other days (None: no breakout days).
    """

    close: FloatArray
    open: FloatArray
    volume: FloatArray
    ivol: FloatArray
    rho: float
    sigma: float
    breakout: FloatArray | None = None


def _bridge(rng: np.random.Generator, sd: float, length: int) -> FloatArray:
    """``length`` increments of sd ``sd`` that sum to zero (a flat range)."""
    e = rng.normal(0.0, sd, length)
    out: FloatArray = e - e.mean()
    return out


def _flat(x: FloatArray) -> FloatArray:
    """``x`` less its mean: the same day-to-day moves with no net change."""
    out: FloatArray = x - x.mean()
    return out


def _base(
    r: FloatArray,
    vmult: FloatArray,
    ivol: FloatArray,
    start: int,
    length: int,
    sd: float,
    rng: np.random.Generator,
) -> None:
    """Make days [start, start+length) a contracting base with volume rising at its end."""
    r[start : start + length] = _bridge(rng, 0.35 * sd, length)
    level = np.full(length, 0.65)
    level[-3:] = [1.2, 1.5, 1.9][-min(3, length) :]
    vmult[start : start + length] = level * np.exp(rng.normal(0.0, 0.1, length))
    ivol[start : start + length] *= 0.5


def stock_path(seed: int, row: int, vol: float, setup: bool) -> tuple[FloatArray, ...]:
    """Chronological log returns, gaps, volume and intraday-vol multipliers of an equity
    over ``MAX_DAYS`` days (before anchoring; see :func:`equity_daily`)."""
    return _stock_path(seed, row, round(vol, 6), setup)


@lru_cache(maxsize=64)  # SyntheticHistory keeps the anchored paths
def _stock_path(seed: int, row: int, vol: float, setup: bool) -> tuple[FloatArray, ...]:
    n = MAX_DAYS
    mkt = market_factor(seed, n)
    rng = np.random.default_rng([seed, row, 0xC105E])
    sigma = max(vol, 0.05) / np.sqrt(252.0)
    beta = float(betas(seed, np.asarray([row]))[0])
    idio = np.sqrt(max(sigma**2 - (beta * MARKET_VOL) ** 2, (0.45 * sigma) ** 2))
    z = rng.standard_normal(n)
    r = beta * mkt.ret + idio * np.sqrt(mkt.vol) * z
    gap = beta * mkt.gap + 0.25 * idio * z + rng.normal(0.0, 0.002, n)
    vmult = np.exp(rng.normal(0.0, 0.25, n))
    ivol = mkt.vol.copy()
    brk = np.full(n, np.nan)
    j = int(rng.integers(0, 30))
    while j < n:
        u = rng.random()
        if u < 0.22:  # (an advance,) a base, then a breakout
            advance = int(rng.integers(0, 12))
            length = int(rng.integers(6, 20))
            b = j + advance + length
            if b >= n:
                break
            _advance_and_base(r, gap, vmult, ivol, j, advance, length, sigma, beta * mkt.ret, rng)
            x = np.cumsum(r[:b])
            prior = x[max(b - HIGH_DAYS, 0) : b].max() + 0.6 * sigma
            jump = float(np.clip(prior - x[b - 1], 2.5 * sigma, min(6 * sigma, 0.12)))
            r[b] = jump
            gap[b] = 0.4 * jump
            vmult[b] = rng.uniform(2.5, 4.5)
            ivol[b] = 1.4
            brk[b] = rng.uniform(0.05, 0.6)
            follow = int(rng.integers(4, 15))
            drift = 0.35 * sigma if rng.random() < 0.7 else -0.4 * sigma
            end = min(b + 1 + follow, n)
            r[b + 1 : end] += drift
            vmult[b + 1 : end] *= np.linspace(2.0, 1.1, follow)[: end - b - 1]
            j = end
        elif u < 0.47:  # trend
            length = int(rng.integers(15, 61))
            sign = 1.0 if rng.random() < 0.6 else -1.0
            r[j : j + length] += sign * rng.uniform(0.12, 0.35) * sigma
            vmult[j : j + length] *= 1.25
            j += length
        else:  # quiet
            j += int(rng.integers(5, 31))
    if setup:  # end inside a base after an advance: the session breaks it out
        advance = int(rng.integers(8, 13))
        length = int(rng.integers(10, 15))
        start = n - advance - length
        _advance_and_base(r, gap, vmult, ivol, start, advance, length, sigma, beta * mkt.ret, rng)
        brk[start:] = np.nan
    return r, gap, vmult, ivol, brk


def _advance_and_base(
    r: FloatArray,
    gap: FloatArray,
    vmult: FloatArray,
    ivol: FloatArray,
    start: int,
    advance: int,
    length: int,
    sigma: float,
    market: FloatArray,
    rng: np.random.Generator,
) -> None:
    """Days [start, start+advance) climb ~0.45 sd a day on more volume; the next
    ``length`` days are a base (:func:`_base`) that keeps 60% of the market's day-to-day
    moves (``market``: the name's factor returns) but no net change."""
    r[start : start + advance] += 0.45 * sigma
    vmult[start : start + advance] *= 1.2
    b0, b1 = start + advance, start + advance + length
    _base(r, vmult, ivol, b0, length, sigma, rng)
    r[b0:b1] += _flat(0.6 * market[b0:b1])
    gap[b0:b1] = 0.25 * r[b0:b1]


def _anchor(
    r: FloatArray, gap: FloatArray, close_prev: float, days: int
) -> tuple[FloatArray, FloatArray]:
    """Closes (``days + 1``, newest first) and opens (``days``) chained back from
    ``close_prev`` through the chronological returns ``r`` and gaps ``gap``."""
    r = r[len(r) - days :][::-1]
    g = gap[len(gap) - days :][::-1]
    logs = np.log(close_prev) - np.concatenate([[0.0], np.cumsum(r)])
    close = np.exp(logs)
    opens = np.exp(logs[1:] + g)
    return close, opens


class SyntheticHistory:
    """The history of every row of a universe before one session (see the module doc).

    ``close_prev`` (paise per row) is the market's previous close for ``trade_date``.
    Paths are cached per row (bounded); minute bars are computed on demand.
    """

    def __init__(
        self,
        seed: int,
        universe: Universe,
        close_prev: IntArray,
        tick: IntArray,
        trade_date: date,
        cal: ExchangeCalendar,
    ) -> None:
        self.seed = seed
        self.u = universe
        self.close_prev = close_prev.copy()
        self.tick = tick
        self.trade_date = trade_date
        self.days = trading_days_before(trade_date, cal)
        self._pos = {d: k for k, d in enumerate(self.days)}
        self._paths: dict[int, DailyPath] = {}
        self._members = {int(r): m for r, m in universe.index_members.items()}
        self.setups = frozenset(setup_rows(seed, universe, trade_date).tolist())

    # -- daily ------------------------------------------------------------------------
    def path(self, row: int) -> DailyPath:
        """The row's daily path (cached; at most a few hundred rows are kept)."""
        got = self._paths.get(row)
        if got is None:
            got = self._build(row)
            if len(self._paths) >= _PATHS_CACHED:
                self._paths.pop(next(iter(self._paths)))
            self._paths[row] = got
        return got

    def _cp(self, row: int) -> float:
        return max(int(self.close_prev[row]), 1) / 100.0

    def _build(self, row: int) -> DailyPath:
        u = self.u
        kind = int(u.kind[row])
        und = int(u.underlying[row])
        days = len(self.days)
        if kind == Kind.EQ and und == row:
            vol = float(u.vol[row]) or 0.2
            r, gap, vmult, ivol, brk = stock_path(self.seed, row, vol, row in self.setups)
            close, opens = _anchor(r, gap, self._cp(row), days)
            rho = float(correlation(betas(self.seed, np.asarray([row])), np.asarray([vol]))[0])
            return DailyPath(
                close,
                opens,
                vmult[::-1][:days],
                ivol[::-1][:days],
                rho,
                vol / np.sqrt(252),
                brk[::-1][:days],
            )
        members = self._members.get(row)
        if kind == Kind.INDEX and members is not None and len(members[0]) > 0:
            return self._basket(row)
        if kind == Kind.INDEX and float(u.vol[row]) > 0.5:  # India VIX
            return self._vix(row)
        if kind == Kind.INDEX:  # an index without members: the factor itself
            mkt = market_factor(self.seed, MAX_DAYS)
            close, opens = _anchor(mkt.ret, mkt.gap, self._cp(row), days)
            ivol = mkt.vol[::-1][:days]
            return DailyPath(close, opens, np.ones(days), ivol, 0.95, MARKET_VOL)
        if kind in (Kind.EQ, Kind.FUT):  # BSE twin / future: the underlying's path, scaled
            base = self.path(und)
            scale = self._cp(row) / base.close[0]
            return base._replace(close=base.close * scale, open=base.open * scale)
        return self._plain(row)

    def _basket(self, row: int) -> DailyPath:
        members, weights = self._members[row]
        close = np.zeros(len(self.days) + 1)
        opens = np.zeros(len(self.days))
        volume = np.zeros(len(self.days))
        for m, w in zip(members.tolist(), weights.tolist(), strict=True):
            p = self.path(m)
            close += w * p.close / p.close[0]
            opens += w * p.open / p.close[0]
            volume += w * p.volume
        scale = self._cp(row)
        mkt = market_factor(self.seed, MAX_DAYS)
        ivol = mkt.vol[::-1][: len(self.days)]
        return DailyPath(close * scale, opens * scale, volume, ivol, 0.95, MARKET_VOL)

    def _vix(self, row: int) -> DailyPath:
        """Mean-reverting in logs around 14, against the factor."""
        n = MAX_DAYS
        mkt = market_factor(self.seed, n)
        rng = np.random.default_rng([self.seed, row, 0x51C5])
        shocks = -4.0 * mkt.ret + 0.035 * rng.standard_normal(n)
        x = np.empty(n + 1)
        x[0] = np.log(14.0)
        for i in range(n):  # 2,700 steps once per seed: cheap enough
            x[i + 1] = x[i] + 0.04 * (np.log(14.0) - x[i]) + shocks[i]
        r = np.diff(x)
        close, opens = _anchor(r, 0.5 * r, self._cp(row), len(self.days))
        days = len(self.days)
        return DailyPath(close, opens, np.ones(days), mkt.vol[::-1][:days], -0.7, 0.05)

    def _plain(self, row: int) -> DailyPath:
        """Options: a random walk at the underlying's volatility (no structure)."""
        u = self.u
        vol = float(u.vol[u.underlying[row]]) or 0.2
        sigma = vol / np.sqrt(252)
        rng = np.random.default_rng([self.seed, row, 0x0971])
        r = rng.normal(0.0002, sigma, MAX_DAYS)
        close, opens = _anchor(r, rng.normal(0.0, 0.004, MAX_DAYS), self._cp(row), len(self.days))
        days = len(self.days)
        return DailyPath(close, opens, np.ones(days), np.ones(days), 0.0, sigma)

    # -- intraday -----------------------------------------------------------------------
    def days_bars(self, row: int, days: list[date]) -> Bars:
        """(open, high, low, close, volume) of each of ``days``' 375 one-minute bars
        (paise; shape (len(days), 375)); every day must be a past day of this history."""
        ks = [self._pos[d] for d in days]
        p = self.path(row)
        u = self.u
        key_row = int(u.underlying[row]) if int(u.kind[row]) in (Kind.EQ, Kind.FUT) else row
        adv = float(u.adv[row]) or 1e5
        return minute_bars(
            self.seed,
            key_row,
            days,
            p.open[ks],
            p.close[ks],
            p.sigma * p.ivol[ks],
            p.rho,
            adv * p.volume[ks],
            int(self.tick[row]),
            None if p.breakout is None else p.breakout[ks],
        )

    def day_bars(self, row: int, day: date) -> Bars | None:
        """The 375 one-minute bars of ``day`` (paise), or None when ``day`` is not a past
        trading day of this history."""
        if day not in self._pos:
            return None
        o, h, lo, c, v = self.days_bars(row, [day])
        return o[0], h[0], lo[0], c[0], v[0]

    def day_candles(self, row: int, days: list[date]) -> Bars:
        """Daily OHLCV of ``days`` (past trading days) aggregated from their minute bars."""
        if not days:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty, empty
        parts = []
        for i in range(0, len(days), 250):  # bounded memory for a decade of days
            o, h, lo, c, v = self.days_bars(row, days[i : i + 250])
            parts.append((o[:, 0], h.max(axis=1), lo.min(axis=1), c[:, -1], v.sum(axis=1)))
        cols = [np.concatenate([part[j] for part in parts]) for j in range(5)]
        return cols[0], cols[1], cols[2], cols[3], cols[4]


def minute_bars(
    seed: int,
    row: int,
    days: list[date],
    open_: FloatArray,
    close: FloatArray,
    sigma_day: FloatArray,
    rho: float,
    volume: FloatArray,
    tick: int,
    breakout: FloatArray | None = None,
) -> Bars:
    """(open, high, low, close, volume) of the 375 one-minute bars (paise) of each of
    ``days``: arrays of shape (len(days), 375).

    Day i is a bridge from ``open_[i]`` to ``close[i]`` (rupees) of daily sd
    ``sigma_day[i]`` whose noise is the factor's intraday path with weight ``rho`` plus
    the name's own; ``volume[i]`` is the day's expected total, spread on a U-shaped curve.
    A day with a ``breakout[i]`` time (fraction of the session; NaN = none) makes its
    open-to-close move in a few minutes around that time, on a burst of volume.
    Each day draws from its own (seed, row, day) stream, so a day's bars do not depend on
    which other days are asked for.
    """
    n = len(days)
    z = np.empty((n, 4 * MINUTES))
    for i, day in enumerate(days):
        z[i] = np.random.default_rng([seed, row, day.toordinal()]).standard_normal(4 * MINUTES)
    own = _walk(z[:, :MINUTES])
    sig = np.asarray(sigma_day, dtype=np.float64)[:, None]
    if rho != 0.0:
        mkt = np.stack([market_minutes(seed, d.toordinal()) for d in days])
        walk = sig * (rho * mkt + np.sqrt(1.0 - rho * rho) * own)
    else:
        walk = sig * own
    lo_p = np.log(np.asarray(open_, dtype=np.float64))[:, None]
    hi_p = np.log(np.asarray(close, dtype=np.float64))[:, None]
    drift = np.broadcast_to(_FRAC, (n, MINUTES + 1))
    weight = np.broadcast_to(_SHAPE, (n, MINUTES))
    if breakout is not None and not np.isnan(breakout).all():
        drift, weight = _breakout_shapes(np.asarray(breakout, dtype=np.float64))
    logp = lo_p + drift * (hi_p - lo_p) + walk - _FRAC * walk[:, -1:]
    p = np.exp(logp) * 100.0
    wick_up = np.abs(z[:, MINUTES : 2 * MINUTES]) * (sig / (2 * np.sqrt(MINUTES))) + 1.0
    wick_dn = np.abs(z[:, 2 * MINUTES : 3 * MINUTES]) * (sig / (2 * np.sqrt(MINUTES))) + 1.0

    def grid(x: FloatArray) -> IntArray:
        return np.maximum(np.round(x / tick) * tick, tick).astype(np.int64)

    o, c = grid(p[:, :-1]), grid(p[:, 1:])
    h = np.maximum(grid(np.maximum(p[:, :-1], p[:, 1:]) * wick_up), np.maximum(o, c))
    lo = np.minimum(grid(np.minimum(p[:, :-1], p[:, 1:]) / wick_dn), np.minimum(o, c))
    per = np.asarray(volume, dtype=np.float64)[:, None] / MINUTES
    v = np.maximum(per * weight * np.exp(0.4 * z[:, 3 * MINUTES :]), 1.0)
    return o, h, lo, c, v.astype(np.int64)


def _breakout_shapes(at: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per day: the share of the open-to-close move done by each minute (376 points, 0 to
    1) and the volume weight of each minute (375, mean that of the U-shape). Days with a
    breakout time move along a steep logistic step there, with volume up to 4x around
    it; the others move linearly on the U-shape."""
    drift = np.tile(_FRAC, (len(at), 1))
    weight = np.tile(_SHAPE, (len(at), 1))
    hit = ~np.isnan(at)
    t = at[hit][:, None]
    step = 1.0 / (1.0 + np.exp(-(_FRAC - t) / 0.015))
    drift[hit] = (step - step[:, :1]) / (step[:, -1:] - step[:, :1])
    mid = _FRAC[:-1] + 0.5 / MINUTES
    bump = _SHAPE * (1.0 + 3.0 * np.exp(-(((mid - t) / 0.03) ** 2)))
    weight[hit] = bump * (_SHAPE.mean() / bump.mean(axis=1, keepdims=True))
    return drift, weight


def _walk(z: FloatArray) -> FloatArray:
    """Walks of unit daily variance (one per row of ``z``), 376 points from 0."""
    steps = z / np.sqrt(MINUTES)
    return np.concatenate([np.zeros((len(z), 1)), np.cumsum(steps, axis=1)], axis=1)


_SHAPE = 0.55 + 4.4 * (np.linspace(0, 1, MINUTES) - 0.5) ** 2
_FRAC = np.linspace(0.0, 1.0, MINUTES + 1)


def aggregate(bars: Bars, size: int) -> Bars:
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
