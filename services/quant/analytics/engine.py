"""The feature engine: ticks in, enriched ticks and closed 1-minute candles out (pure, batched).

``FeatureEngine.process(ticks)`` computes, for every tick, the features defined in
:mod:`quant.analytics.features` (session and rolling VWAP, imbalance L1/5/30, spread,
microprice, aggressor, buy/sell volume, trade intensity) and, for registered options, Black-76
IV and greeks; it returns the candles that closed. The whole batch is computed with numpy
columns: ticks are stably sorted by instrument so every running quantity becomes a
segmented cumulative operation with per-instrument values carried in from earlier batches
(:mod:`quant.analytics.segments`). Results do not depend on how the stream is cut into
batches, and :meth:`FeatureEngine.snapshot` / :meth:`FeatureEngine.restore` carry the exact
integer state across a restart.

Time: per-instrument ``ts_event`` is made non-decreasing (a late tick is treated as
arriving at the latest time seen); sessions are IST days of ``ts_event``. ``ts_enriched``
comes from the injected clock, read once per batch.

Options: register an :class:`OptionSpec` per option key. The forward is the underlying's
latest traded price as of the option tick if the underlying is the same-expiry future
(``underlying_is_forward``), else spot with carry ``S e^{rT}`` (no dividends). Time to
expiry is ACT/365 from the tick's ``ts_event`` to 15:30 IST on expiry. IV and greeks use
rupee units like Upstox's feed: theta in rupees per day, vega in rupees per vol point, gamma
per rupee (see :mod:`quant.analytics.black76`).

Called by the ``features`` service (and by backtests through the same API).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from quant.analytics.black76 import black76_greeks_array, implied_vol_array
from quant.analytics.candles import (
    IST_OFFSET_NS,
    START,
    build_runs,
    merge_open,
    to_candles,
)
from quant.analytics.columns import (
    MAX_LEVELS,
    EnrichedColumns,
    FloatArray,
    TickColumns,
    from_ticks,
    to_enriched,
    volume_mask,
)
from quant.analytics.engine_state import STATE_FIELDS, EngineState
from quant.analytics.expiry import NS_PER_YEAR, OptionPricingConfig, expiry_ns
from quant.analytics.features import (
    BUY,
    SELL,
    depth_imbalance,
    imbalance,
    microprice,
    seg_aggressor,
    seg_trade_quantity,
    spread,
    spread_bps,
    vwap_from_sums,
)
from quant.analytics.rolling import extend_history, window_sums
from quant.analytics.segments import (
    BoolArray,
    IntArray,
    Segments,
    seg_cumsum,
    seg_last_nonzero,
    seg_last_where,
    seg_running_max,
)
from quant.core.clock import NS_PER_SECOND, Clock
from quant.core.events import Candle, EnrichedTick, Tick

NS_PER_DAY = 86_400 * NS_PER_SECOND
PAISE_PER_RUPEE = 100.0


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """What the engine needs to price an option (prices in paise)."""

    underlying_key: str
    strike: int
    expiry: date
    is_call: bool
    underlying_is_forward: bool = False


@dataclass(frozen=True, slots=True)
class FeatureEngineConfig:
    """Windows and pricing parameters of one engine."""

    rolling_window_s: int = 300
    intensity_window_s: int = 60
    candle_interval_s: int = 60
    max_depth_levels: int = MAX_LEVELS
    pricing: OptionPricingConfig = field(default_factory=OptionPricingConfig)

    def __post_init__(self) -> None:
        windows = (self.rolling_window_s, self.intensity_window_s, self.candle_interval_s)
        if min(windows) <= 0:
            raise ValueError(f"windows and candle interval must be positive, got {windows}")
        if self.max_depth_levels < 1:
            raise ValueError("max_depth_levels must be at least 1")


def _unsort(values: Any, order: IntArray) -> Any:
    out = np.empty_like(values)
    out[order] = values
    return out


def _empty_features() -> EnrichedColumns:
    f = np.zeros(0, dtype=np.float64)
    i = np.zeros(0, dtype=np.int64)
    return EnrichedColumns(f, f, f, f, f, i, f, f, i, i, i, i, f, f, f, f, f, f)


class FeatureEngine:
    """Per-instrument streaming feature computation over batches of ticks."""

    def __init__(
        self,
        clock: Clock,
        config: FeatureEngineConfig | None = None,
        options: Mapping[str, OptionSpec] | None = None,
    ) -> None:
        self._clock = clock
        self._config = config or FeatureEngineConfig()
        self._options: dict[str, OptionSpec] = dict(options or {})
        self._state = EngineState()
        self._rolling_ns = self._config.rolling_window_s * NS_PER_SECOND
        self._intensity_ns = self._config.intensity_window_s * NS_PER_SECOND
        self._interval_ns = self._config.candle_interval_s * NS_PER_SECOND

    @property
    def config(self) -> FeatureEngineConfig:
        return self._config

    def register_option(self, instrument_key: str, spec: OptionSpec) -> None:
        """Price ``instrument_key`` as an option from now on."""
        self._options[instrument_key] = spec

    # --- public API --------------------------------------------------------------------

    def process(self, ticks: Sequence[Tick]) -> tuple[list[EnrichedTick], list[Candle]]:
        """Enrich a batch of ticks (any mix of instruments, arrival order)."""
        columns = from_ticks(ticks, self._config.max_depth_levels)
        features, candles = self.process_columns(columns)
        return to_enriched(columns, features, self._clock.now_ns()), candles

    def flush(self) -> list[Candle]:
        """Close and return every open candle (end of session)."""
        table = self._state.open_candles
        self._state.open_candles = table[:0]
        return to_candles(table, self._state.keys, self._config.candle_interval_s)

    def close_candles_before(self, now_ns: int) -> list[Candle]:
        """Close the open candles whose interval ended at or before ``now_ns`` (quiet names)."""
        table = self._state.open_candles
        done = table[:, START] + self._interval_ns <= now_ns
        self._state.open_candles = table[~done]
        return to_candles(table[done], self._state.keys, self._config.candle_interval_s)

    def snapshot(self) -> dict[str, Any]:
        """Plain-data state (format in :mod:`quant.analytics.engine_state`)."""
        return self._state.snapshot()

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace the state with a :meth:`snapshot`; later batches continue seamlessly."""
        self._state = EngineState.restore(snapshot)

    def snapshot_arrays(self) -> tuple[dict[str, Any], dict[str, IntArray]]:
        """:meth:`snapshot` as a small header plus int64 arrays (for binary storage)."""
        return self._state.to_arrays()

    def restore_arrays(self, head: dict[str, Any], arrays: dict[str, IntArray]) -> None:
        """Replace the state with a :meth:`snapshot_arrays`."""
        self._state = EngineState.from_arrays(head, arrays)

    def now_ns(self) -> int:
        """The engine clock's time (``ts_enriched`` of a batch processed now)."""
        return self._clock.now_ns()

    # --- the batch path ------------------------------------------------------------------

    def _codes(self, keys: list[str]) -> IntArray:
        codes = self._state.codes
        try:
            return np.fromiter(map(codes.__getitem__, keys), dtype=np.int64, count=len(keys))
        except KeyError:
            new = list(dict.fromkeys(k for k in keys if k not in codes))
            self._state.add_keys(new)
            return np.fromiter(map(codes.__getitem__, keys), dtype=np.int64, count=len(keys))

    def process_columns(self, t: TickColumns) -> tuple[EnrichedColumns, list[Candle]]:
        """The columnar core of :meth:`process` (features in the batch's input order)."""
        n = len(t.keys)
        if n == 0:
            return _empty_features(), []
        state = self._state
        codes = self._codes(t.keys)
        order = np.argsort(codes, kind="stable")
        c = codes[order]
        inst_start: BoolArray = np.ones(n, dtype=np.bool_)
        inst_start[1:] = c[1:] != c[:-1]
        inst = Segments.of(inst_start)  # one segment per instrument
        first = inst.first
        last = np.append(first[1:] - 1, n - 1)
        inst_codes = c[first]
        fields = state.fields
        ts = seg_running_max(t.ts_event[order], inst, fields["last_ts"][inst_codes])
        day = (ts + IST_OFFSET_NS) // NS_PER_DAY
        sess_start = inst_start.copy()
        sess_start[1:] |= day[1:] != day[:-1]
        sess = Segments.of(sess_start)  # one segment per instrument and IST day
        sfirst = sess.first
        s_codes = c[sfirst]
        continues = inst_start[sfirst] & (fields["day"][s_codes] == day[sfirst])

        def carry(name: str) -> IntArray:
            out: IntArray = np.where(continues, fields[name][s_codes], STATE_FIELDS[name])
            return out

        ltp, volume, ltt = t.ltp[order], t.volume[order], t.ltt_ns[order]
        has_volume = volume_mask(t)[order]
        last_volume = carry("last_volume")
        qty = seg_trade_quantity(
            volume, ltt, t.ltq[order], has_volume, sess, (last_volume, carry("last_ltt"))
        )
        pv = ltp * qty
        sess_pv = seg_cumsum(pv, sess, carry("session_pv"))
        sess_qty = seg_cumsum(qty, sess, carry("session_qty"))

        bid1, ask1, bq1, aq1 = self._level1(t)
        mid2 = np.where((bid1 > 0) & (ask1 > 0), bid1 + ask1, 0)[order]
        sides, f_mid2, f_trade, f_dir = seg_aggressor(
            ltp, qty, mid2, sess, (carry("mid2"), carry("trade_price"), carry("direction"))
        )
        buy = seg_cumsum(np.where(sides == BUY, qty, 0), sess, carry("buy_volume"))
        sell = seg_cumsum(np.where(sides == SELL, qty, 0), sess, carry("sell_volume"))
        values = (pv, qty, (qty > 0).astype(np.int64))
        totals = (fields["cum_pv"][inst_codes], fields["cum_qty"][inst_codes])
        sums, after, before = window_sums(
            state.history,
            c,
            ts,
            inst,
            (*totals, fields["cum_count"][inst_codes]),
            values,
            (self._rolling_ns, self._intensity_ns),
        )

        runs = build_runs(c, ts, ltp, qty, t.oi[order], self._interval_ns)
        closed, state.open_candles = merge_open(runs, state.open_candles)
        greeks = self._option_greeks(t, codes)

        updates = {
            "day": day,
            "last_volume": seg_last_where(volume, has_volume, sess, last_volume),
            "last_ltt": seg_last_nonzero(ltt, sess, carry("last_ltt")),
            "session_pv": sess_pv,
            "session_qty": sess_qty,
            "buy_volume": buy,
            "sell_volume": sell,
            "mid2": f_mid2,
            "trade_price": f_trade,
            "direction": f_dir,
            "last_ts": ts,
            "last_ltp": seg_last_nonzero(ltp, inst, fields["last_ltp"][inst_codes]),
            "cum_pv": after[0],
            "cum_qty": after[1],
            "cum_count": after[2],
        }
        for name, column in updates.items():
            fields[name][inst_codes] = column[last]
        state.history = extend_history(
            state.history,
            c,
            ts,
            qty,
            before,
            fields["last_ts"],
            max(self._rolling_ns, self._intensity_ns),
        )

        l1 = imbalance(bq1, aq1)
        has_depth = t.bid_qty.shape[1] > 0
        features = EnrichedColumns(
            session_vwap=_unsort(vwap_from_sums(sess_pv, sess_qty), order),
            rolling_vwap=_unsort(vwap_from_sums(sums.rolling_pv, sums.rolling_qty), order),
            imbalance_l1=l1,
            imbalance_d5=depth_imbalance(t.bid_qty, t.ask_qty, 5) if has_depth else l1,
            imbalance_d30=depth_imbalance(t.bid_qty, t.ask_qty, 30) if has_depth else l1,
            spread=spread(bid1, ask1),
            spread_bps=spread_bps(bid1, ask1),
            microprice=microprice(bid1, bq1, ask1, aq1),
            aggressor=_unsort(sides, order),
            trade_quantity=_unsort(qty, order),
            buy_volume=_unsort(buy, order),
            sell_volume=_unsort(sell, order),
            trade_intensity=_unsort(sums.trade_count / self._config.intensity_window_s, order),
            iv=greeks[0],
            delta=greeks[1],
            gamma=greeks[2],
            theta=greeks[3],
            vega=greeks[4],
        )
        return features, to_candles(closed, state.keys, self._config.candle_interval_s)

    @staticmethod
    def _level1(t: TickColumns) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        if t.bid_price.shape[1] == 0:
            zero = np.zeros(len(t.keys), dtype=np.int64)
            return zero, zero, zero, zero
        return t.bid_price[:, 0], t.ask_price[:, 0], t.bid_qty[:, 0], t.ask_qty[:, 0]

    def _option_greeks(
        self, t: TickColumns, codes: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """IV and greeks for the batch's option ticks (NaN elsewhere), in rupee units."""
        n = codes.size
        nan = np.full(n, np.nan)
        out = [nan, nan.copy(), nan.copy(), nan.copy(), nan.copy()]
        if not self._options:
            return out[0], out[1], out[2], out[3], out[4]
        keys = self._state.keys
        specs = {
            code: self._options[keys[code]]
            for code in np.unique(codes).tolist()
            if keys[code] in self._options
        }
        if not specs:
            return out[0], out[1], out[2], out[3], out[4]
        option_codes = np.fromiter(specs, dtype=np.int64, count=len(specs))
        rows = np.flatnonzero(np.isin(codes, option_codes))
        row_specs = [specs[code] for code in codes[rows].tolist()]
        under = np.fromiter(
            (self._state.code_of(s.underlying_key) for s in row_specs), np.int64, rows.size
        )
        spot = self._underlying_asof(t, codes, rows, under)
        pricing = self._config.pricing
        expiry = np.fromiter(
            (expiry_ns(s.expiry, pricing.expiry_close) for s in row_specs), np.int64, rows.size
        )
        years = (expiry - t.ts_event[rows]) / NS_PER_YEAR
        is_forward = np.fromiter((s.underlying_is_forward for s in row_specs), np.bool_, rows.size)
        forward = np.where(is_forward, spot, spot * np.exp(pricing.rate * years))
        strike = np.fromiter((s.strike for s in row_specs), np.float64, rows.size)
        is_call = np.fromiter((s.is_call for s in row_specs), np.bool_, rows.size)
        price = t.ltp[rows].astype(np.float64)
        scale = PAISE_PER_RUPEE
        iv = implied_vol_array(
            np.where(price > 0, price, np.nan) / scale,
            forward / scale,
            strike / scale,
            years,
            pricing.rate,
            is_call,
        )
        g = black76_greeks_array(forward / scale, strike / scale, years, iv, pricing.rate, is_call)
        for target, values in zip(out, (iv, g.delta, g.gamma, g.theta, g.vega), strict=True):
            target[rows] = values
        return out[0], out[1], out[2], out[3], out[4]

    def _underlying_asof(
        self, t: TickColumns, codes: IntArray, rows: IntArray, under: IntArray
    ) -> FloatArray:
        """Latest traded price (paise) of each row's underlying at that row's position."""
        last_ltp = self._state.fields["last_ltp"]
        spot = np.full(rows.size, np.nan)
        for u in np.unique(under).tolist():
            sel = np.flatnonzero(under == u)
            positions = np.flatnonzero((codes == u) & (t.ltp > 0))
            before = np.searchsorted(positions, rows[sel]) - 1
            prior = float(last_ltp[u]) if u < last_ltp.size and last_ltp[u] > 0 else np.nan
            own = t.ltp[positions[np.maximum(before, 0)]] if positions.size else np.zeros(0)
            spot[sel] = np.where(before >= 0, own, prior) if positions.size else prior
        return spot
