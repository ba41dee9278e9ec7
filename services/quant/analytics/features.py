"""Microstructure features as pure numpy functions: VWAP, imbalance, spread, aggressor, intensity.

Prices are integer paise, quantities integers, timestamps UTC ns. Each running feature has
a segmented form (many instruments at once, with values carried in from the previous
batch; see :mod:`quant.analytics.segments`) used by the feature engine, and a single-series
form used by tests, notebooks and backtests.

Definitions (the engine's ``EnrichedTick`` fields follow them):

* **trade quantity** of a tick: the increase of the cumulative day volume since the previous
  tick that carried one. The first such tick of a day only sets the baseline (its volume
  happened before we saw it; a 0 from pre-open is a real baseline, so the day's first trade
  counts in full); a decrease is a reset of the exchange counter, and the new value is the
  quantity. Whether a tick carries cumulative volume is a property of its feed mode (LTPC
  has none; such ticks count ``ltq`` when their last-trade time moves on), not of the value.
* **session VWAP**: ``Σ price·qty / Σ qty`` over the IST day's trades (NaN before a trade).
* **rolling VWAP**: the same over trades with ``ts`` in ``(t - window, t]``.
* **imbalance L1**: ``(bq1 - aq1) / (bq1 + aq1)`` in [-1, 1]; **depth imbalance over N
  levels**: the same with quantities weighted ``1/level`` over the first N levels present.
* **spread**: ``ask1 - bid1`` in paise (0 without a two-sided book) and in bps of the mid.
* **microprice**: ``(bid·aq + ask·bq) / (bq + aq)`` (paise, float).
* **aggressor** (quote rule with tick-test fallback): a trade above the prevailing mid (the
  last two-sided quote seen *before* this tick) is a BUY, below it a SELL; at the mid or
  without a quote, the last non-zero price change between trades decides (uptick BUY,
  downtick SELL, none yet: NONE).
* **trade intensity**: trades (ticks with a trade) per second over a trailing window.

Called by :mod:`quant.analytics.engine`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quant.analytics.segments import (
    BoolArray,
    IntArray,
    Starts,
    seg_cumsum,
    seg_last_nonzero,
    seg_last_nonzero_before,
    seg_last_where_before,
    seg_window_sum,
)
from quant.core.events import AggressorSide

FloatArray = npt.NDArray[np.float64]

BUY = int(AggressorSide.BUY)
SELL = int(AggressorSide.SELL)
NONE = int(AggressorSide.NONE)
NS_PER_SECOND = 1_000_000_000


def _i64(a: npt.ArrayLike) -> IntArray:
    return np.asarray(a, dtype=np.int64)


def _one_segment(n: int) -> BoolArray:
    starts = np.zeros(n, dtype=np.bool_)
    if n:
        starts[0] = True
    return starts


# --- order book ------------------------------------------------------------------------


def imbalance(bid_qty: npt.ArrayLike, ask_qty: npt.ArrayLike) -> FloatArray:
    """L1 order-book imbalance ``(bq - aq) / (bq + aq)``; NaN when both are zero."""
    b = np.asarray(bid_qty, dtype=np.float64)
    a = np.asarray(ask_qty, dtype=np.float64)
    total = b + a
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(total > 0.0, (b - a) / total, np.nan)
    return out


def depth_imbalance(bid_qty: npt.ArrayLike, ask_qty: npt.ArrayLike, levels: int) -> FloatArray:
    """Depth imbalance over the first ``levels`` columns of (n, L) arrays, weights ``1/level``."""
    b = np.asarray(bid_qty, dtype=np.float64)[:, :levels]
    a = np.asarray(ask_qty, dtype=np.float64)[:, :levels]
    weights = 1.0 / np.arange(1, b.shape[1] + 1, dtype=np.float64)
    return imbalance(b @ weights, a @ weights)


def spread(bid: npt.ArrayLike, ask: npt.ArrayLike) -> IntArray:
    """``ask - bid`` in paise; 0 unless both sides are present."""
    b, a = _i64(bid), _i64(ask)
    out: IntArray = np.where((b > 0) & (a > 0), a - b, 0)
    return out


def spread_bps(bid: npt.ArrayLike, ask: npt.ArrayLike) -> FloatArray:
    """Spread in basis points of the mid; NaN unless both sides are present."""
    b = np.asarray(bid, dtype=np.float64)
    a = np.asarray(ask, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where((b > 0) & (a > 0), (a - b) / (0.5 * (a + b)) * 1e4, np.nan)
    return out


def microprice(
    bid: npt.ArrayLike, bid_qty: npt.ArrayLike, ask: npt.ArrayLike, ask_qty: npt.ArrayLike
) -> FloatArray:
    """Size-weighted mid ``(bid·aq + ask·bq) / (bq + aq)``; NaN without a two-sided book."""
    b = np.asarray(bid, dtype=np.float64)
    a = np.asarray(ask, dtype=np.float64)
    bq = np.asarray(bid_qty, dtype=np.float64)
    aq = np.asarray(ask_qty, dtype=np.float64)
    total = bq + aq
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (b * aq + a * bq) / total
    out: FloatArray = np.where((b > 0) & (a > 0) & (total > 0), value, np.nan)
    return out


# --- trades ----------------------------------------------------------------------------


def seg_trade_quantity(
    volume: IntArray,
    ltt_ns: IntArray,
    ltq: IntArray,
    has_volume: BoolArray,
    starts: Starts,
    carry: tuple[IntArray, IntArray],
) -> IntArray:
    """Trade quantity per tick from cumulative volume, with the feed's last-trade fallback.

    ``has_volume`` marks the ticks whose ``volume`` is the cumulative day volume (any feed
    mode but LTPC), including a genuine 0 before the day's first trade. ``carry`` = (the
    cumulative volume of the last such tick, -1 for none yet today; last trade time, 0 for
    none). Ticks without cumulative volume (LTPC mode) count ``ltq`` when their last-trade
    time moved on.
    """
    carry_volume, carry_ltt = carry
    prev_volume = seg_last_where_before(volume, has_volume, starts, carry_volume)
    by_volume = np.where(
        prev_volume < 0, 0, np.where(volume >= prev_volume, volume - prev_volume, volume)
    )
    prev_ltt = seg_last_nonzero_before(ltt_ns, starts, carry_ltt)
    by_ltt = np.where((ltt_ns > prev_ltt) & (prev_ltt > 0), ltq, 0)
    out: IntArray = np.where(has_volume, by_volume, by_ltt)
    return out


def volume_deltas(cumulative_volume: npt.ArrayLike) -> IntArray:
    """Trade quantity per tick of one instrument's day (see the module docstring).

    Every element is a cumulative volume (a leading 0 is a real baseline).
    """
    v = _i64(cumulative_volume)
    zeros = np.zeros_like(v)
    carry = (np.full(1, -1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    has_volume = np.ones(v.size, dtype=np.bool_)
    return seg_trade_quantity(v, zeros, zeros, has_volume, _one_segment(v.size), carry)


def seg_aggressor(
    price: IntArray,
    qty: IntArray,
    mid2: IntArray,
    starts: Starts,
    carry: tuple[IntArray, IntArray, IntArray],
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Aggressor side per tick (AggressorSide values; NONE where ``qty == 0``).

    ``mid2`` is ``bid + ask`` (twice the mid, exact in paise; 0 without a book).
    ``carry`` = (last mid2, last trade price, last non-zero tick direction) per segment.
    Returns (sides, filled mid2, filled trade price, filled direction) for carrying out.
    """
    carry_mid2, carry_trade_price, carry_direction = carry
    prevailing = seg_last_nonzero_before(mid2, starts, carry_mid2)
    trade_price = np.where(qty > 0, price, 0)
    prev_trade = seg_last_nonzero_before(trade_price, starts, carry_trade_price)
    raw_dir = np.where((qty > 0) & (prev_trade > 0), np.sign(price - prev_trade), 0)
    direction = seg_last_nonzero(raw_dir, starts, carry_direction)
    quote = np.where(prevailing > 0, np.sign(2 * price - prevailing), 0)
    decided = np.where(quote != 0, quote, direction)
    sides = np.where(decided > 0, BUY, np.where(decided < 0, SELL, NONE))
    sides = np.where(qty > 0, sides, NONE)
    filled_mid2 = seg_last_nonzero(mid2, starts, carry_mid2)
    filled_trade = seg_last_nonzero(trade_price, starts, carry_trade_price)
    return sides, filled_mid2, filled_trade, direction


def classify_aggressor(
    price: npt.ArrayLike, qty: npt.ArrayLike, bid: npt.ArrayLike, ask: npt.ArrayLike
) -> IntArray:
    """Aggressor side of each tick of one instrument (quote rule, tick-test fallback)."""
    p, q, b, a = _i64(price), _i64(qty), _i64(bid), _i64(ask)
    mid2 = np.where((b > 0) & (a > 0), b + a, 0)
    zero = np.zeros(1, dtype=np.int64)
    sides, _, _, _ = seg_aggressor(p, q, mid2, _one_segment(p.size), (zero, zero, zero))
    return sides


def buy_sell_volume(sides: npt.ArrayLike, qty: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Cumulative buyer- and seller-initiated volume of one instrument."""
    s, q = _i64(sides), _i64(qty)
    return np.cumsum(np.where(s == BUY, q, 0)), np.cumsum(np.where(s == SELL, q, 0))


def session_vwap(price: npt.ArrayLike, qty: npt.ArrayLike) -> FloatArray:
    """Running VWAP of one instrument's session; NaN until the first trade."""
    p, q = _i64(price), _i64(qty)
    starts = _one_segment(p.size)
    zero = np.zeros(1, dtype=np.int64)
    pv = seg_cumsum(p * q, starts, zero)
    v = seg_cumsum(q, starts, zero)
    return vwap_from_sums(pv, v)


def vwap_from_sums(pv: IntArray, v: IntArray) -> FloatArray:
    """``pv / v`` as float, NaN where ``v == 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(v > 0, pv / np.maximum(v, 1), np.nan)
    return out


def rolling_vwap(
    ts_ns: npt.ArrayLike, price: npt.ArrayLike, qty: npt.ArrayLike, window_ns: int
) -> FloatArray:
    """VWAP over trades in ``(t - window, t]`` at each tick (``ts_ns`` non-decreasing)."""
    t, p, q = _i64(ts_ns), _i64(price), _i64(qty)
    group = np.zeros(t.size, dtype=np.int64)
    idx = np.arange(t.size, dtype=np.int64)
    pv = seg_window_sum(t, group, p * q, window_ns, idx)
    v = seg_window_sum(t, group, q, window_ns, idx)
    return vwap_from_sums(pv, v)


def trade_intensity(
    ts_ns: npt.ArrayLike, qty: npt.ArrayLike, window_ns: int, *, by_volume: bool = False
) -> FloatArray:
    """Trades (or, with ``by_volume``, traded quantity) per second over ``(t - window, t]``."""
    t, q = _i64(ts_ns), _i64(qty)
    weights = q if by_volume else (q > 0).astype(np.int64)
    group = np.zeros(t.size, dtype=np.int64)
    total = seg_window_sum(t, group, weights, window_ns, np.arange(t.size, dtype=np.int64))
    out: FloatArray = total / (window_ns / NS_PER_SECOND)
    return out
