"""``quant.store.columns``: the engine's columns and domain events -> typed batches, and the
rows read back -> domain events."""

from __future__ import annotations

import math

import numpy as np

from quant.analytics.columns import EnrichedColumns, from_ticks
from quant.core.events import AggressorSide, Candle, DepthLevel, FeedMode, OptionGreeks, Tick
from quant.store import columns as C
from quant.store.ports import Quote
from quant.store.tables import GREEKS_COLUMNS, OHLC_COLUMNS, RAW_TICK_COLUMNS, TICK_COLUMNS

T0 = 1_795_500_000_000_000_000


def _tick(i: int, depth: bool = True) -> Tick:
    levels = (DepthLevel(100 + i, 10 + i, 110 + i, 20 + i), DepthLevel(1, 2, 3, 4))
    return Tick(
        f"NSE_EQ|K{i}", FeedMode.FULL, T0 + i, T0 + i + 7, 1_000 + i, T0 - i, 5 + i, 990,
        10_000 + i, 995, 3, 40, 50, levels if depth else (),
    )  # fmt: skip


def _features(n: int) -> EnrichedColumns:
    f = np.arange(n, dtype=np.float64) + 0.5
    i = np.arange(n, dtype=np.int64)
    aggressor = np.array([2] * n, dtype=np.int64)  # the engine's code for a seller
    return EnrichedColumns(f, f, f, f, f, i, f, f, aggressor, i, i, i, f, f, f, f, f, f)


def test_tick_batch_holds_every_tick_field_and_the_best_level() -> None:
    ticks = [_tick(0), _tick(1, depth=False)]
    batch = C.tick_batch(from_ticks(ticks))
    assert batch.layout == RAW_TICK_COLUMNS and batch.features is None
    first = {c: v[0] for c, v in batch.columns().items()}
    t = ticks[0]
    assert first == {
        "ts": t.ts_event, "instrument_key": t.instrument_key, "mode": int(t.mode),
        "ltp": t.ltp, "ltt": t.ltt_ns, "ltq": t.ltq, "close_price": t.close_price,
        "volume": t.volume, "atp": t.atp, "oi": t.oi, "total_buy_quantity": 40,
        "total_sell_quantity": 50, "bid_price": 100, "bid_quantity": 10, "ask_price": 110,
        "ask_quantity": 20, "ts_init": t.ts_init,
    }  # fmt: skip
    assert (batch.bid_price[1], batch.ask_quantity[1]) == (0, 0)  # no depth: zeros


def test_tick_batch_with_features_maps_the_aggressor_and_stamps_ts_enriched() -> None:
    batch = C.tick_batch(from_ticks([_tick(0), _tick(1)]), _features(2), ts_enriched=T0 + 99)
    assert batch.layout == TICK_COLUMNS and batch.features is not None
    assert batch.features.aggressor.tolist() == [int(AggressorSide.SELL)] * 2
    assert batch.features.ts_enriched.tolist() == [T0 + 99] * 2
    assert batch.features.session_vwap.tolist() == [0.5, 1.5]


def test_an_empty_tick_batch_has_no_rows() -> None:
    assert len(C.tick_batch(from_ticks([]))) == 0
    assert len(C.tick_batch(from_ticks([]), _features(0))) == 0


def test_greeks_and_candles_become_batches_and_read_back_the_same() -> None:
    nan = math.nan
    greeks = [
        OptionGreeks(f"NSE_FO|{i}", T0 + i, T0 + i + 1, 500 + i, 0.2, 0.5, 0.01, -3.5, 8.25, nan,
                     9, i)
        for i in range(3)
    ]  # fmt: skip
    batch = C.greeks_batch(greeks)
    assert batch.layout == GREEKS_COLUMNS and batch.iv.dtype == np.float64
    rows = list(zip(*(batch.columns()[c] for c in C.GREEKS_FIELDS), strict=True))
    back = [C.greeks_from_row(r) for r in rows]
    assert [b._replace(rho=0.0) for b in back] == [g._replace(rho=0.0) for g in greeks]
    assert all(math.isnan(b.rho) for b in back)
    candles = [Candle("NSE_EQ|A", 60, T0 + i, 1, 2, 0, 1, 10, 3, i) for i in range(3)]
    cb = C.candle_batch(candles)
    assert cb.layout == OHLC_COLUMNS and cb.ts.tolist() == [T0, T0 + 1, T0 + 2]
    rows = list(zip(*(cb.columns()[c] for c in C.OHLC_FIELDS), strict=True))
    assert [C.candle_from_row(r) for r in rows] == candles
    assert len(C.greeks_batch([])) == len(C.candle_batch([])) == 0


def test_the_read_side_selects_table_columns_and_reads_nulls_as_defaults() -> None:
    assert set(C.QUOTE_FIELDS) <= set(TICK_COLUMNS)
    assert C.QUOTE_FIELDS[:2] == ("instrument_key", "ts")
    row = ("NSE_EQ|A", T0, *([None] * (len(Quote._fields) - 2)))
    assert C.quote_from_row(row) == Quote("NSE_EQ|A", T0, *([0] * (len(Quote._fields) - 2)))
    assert C.select_list(("instrument_key", "ts"), "cast(ts AS long)") == (
        "instrument_key, cast(ts AS long)"
    )
