"""Domain events <-> tick-store columns (pure, no I/O).

Writes: :func:`tick_batch` turns the feature engine's ``TickColumns`` (and its features)
into a :class:`~quant.store.tables.TickBatch` (best bid/ask from depth level 1);
:func:`greeks_batch` and :func:`candle_batch` turn ``OptionGreeks`` / ``Candle`` tuples into
their batches. The feature service's sink (``quant.features.adapters.StoreSink``) writes
through all three; :func:`suggestion_batch` turns the scanner's ``ScannerSuggestion`` picks
into theirs (reasons and signals as JSON text). Reads: the SELECT lists of ``Quote``,
``OptionGreeks``, ``Candle`` and ``ScannerSuggestion`` and the row -> domain conversions
both tick-store adapters use. Table layouts and which
event field each column holds come from the generated :mod:`quant.store.tables`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

import numpy as np

from quant.analytics.columns import AGGRESSOR_VALUES, EnrichedColumns, TickColumns
from quant.analytics.segments import IntArray
from quant.core.events import Candle, FeedMode, OptionGreeks, ScannerSuggestion
from quant.store.batch import KEY, ColumnSet
from quant.store.ports import Quote
from quant.store.tables import (
    EVENT_FIELD,
    OHLC_COLUMNS,
    CandleBatch,
    GreeksBatch,
    SuggestionBatch,
    TickBatch,
    TickFeatures,
)

B = TypeVar("B", bound=ColumnSet)
E = TypeVar("E")


def _level1(depth: IntArray) -> IntArray:
    if depth.shape[1]:
        return depth[:, 0]
    return np.zeros(depth.shape[0], dtype=np.int64)


def _zeros_if_none(values: IntArray | None, n: int) -> IntArray:
    return np.zeros(n, dtype=np.int64) if values is None else values


def tick_batch(
    t: TickColumns, features: EnrichedColumns | None = None, ts_enriched: int = 0
) -> TickBatch:
    """The ``ticks`` batch of ``t`` (best bid/ask from depth level 1), with ``features``
    (the engine's for these ticks, same order) enriched at ``ts_enriched`` when given."""
    n = len(t.keys)
    group = None
    if features is not None:
        f = features
        group = TickFeatures(
            session_vwap=f.session_vwap,
            rolling_vwap=f.rolling_vwap,
            imbalance_l1=f.imbalance_l1,
            imbalance_d5=f.imbalance_d5,
            imbalance_d30=f.imbalance_d30,
            spread=f.spread,
            spread_bps=f.spread_bps,
            microprice=f.microprice,
            aggressor=AGGRESSOR_VALUES[f.aggressor],
            trade_quantity=f.trade_quantity,
            buy_volume=f.buy_volume,
            sell_volume=f.sell_volume,
            trade_intensity=f.trade_intensity,
            ts_enriched=np.full(len(f.spread), ts_enriched, dtype=np.int64),
            iv=f.iv,
            delta=f.delta,
            gamma=f.gamma,
            theta=f.theta,
            vega=f.vega,
        )
    return TickBatch(
        ts=t.ts_event,
        instrument_key=t.keys,
        mode=_zeros_if_none(t.mode, n),
        ltp=t.ltp,
        ltt=t.ltt_ns,
        ltq=t.ltq,
        close_price=_zeros_if_none(t.close_price, n),
        volume=t.volume,
        atp=_zeros_if_none(t.atp, n),
        oi=t.oi,
        total_buy_quantity=_zeros_if_none(t.total_buy_quantity, n),
        total_sell_quantity=_zeros_if_none(t.total_sell_quantity, n),
        bid_price=_level1(t.bid_price),
        bid_quantity=_level1(t.bid_qty),
        ask_price=_level1(t.ask_price),
        ask_quantity=_level1(t.ask_qty),
        ts_init=t.ts_init,
        features=group,
    )


def _event_field(table: str, column: str) -> str:
    return EVENT_FIELD[table].get(column, column)


def _from_events(cls: type[B], table: str, event: type[Any]) -> Callable[[Sequence[Any]], B]:
    """Events -> their batch: one ``np.fromiter`` over an ``itemgetter`` per column (the
    getters resolved once, here)."""
    getters = [
        (c, itemgetter(event._fields.index(_event_field(table, c))), c in cls.FLOATS)
        for c in cls.COLUMNS
    ]

    def convert(rows: Sequence[Any]) -> B:
        n = len(rows)
        values: dict[str, Any] = {}
        for column, get, is_float in getters:
            if column == KEY:
                values[column] = list(map(get, rows))
            else:
                dtype = np.float64 if is_float else np.int64
                values[column] = np.fromiter(map(get, rows), dtype=dtype, count=n)
        make: Callable[..., B] = cls
        return make(**values)

    return convert


greeks_batch: Callable[[Sequence[OptionGreeks]], GreeksBatch] = _from_events(
    GreeksBatch, GreeksBatch.TABLE, OptionGreeks
)
"""``OptionGreeks`` -> their ``option_greeks`` batch."""
candle_batch: Callable[[Sequence[Candle]], CandleBatch] = _from_events(
    CandleBatch, CandleBatch.TABLE, Candle
)
"""``Candle`` -> their ``ohlc`` batch (the feature engine's closed candles, a backfill)."""


def _signals_json(signals: tuple[tuple[str, float], ...]) -> str:
    """``{"orb": 1.5, "gap": null}``: in order; a non-finite value (unknown) as null."""
    return json.dumps({k: v if math.isfinite(v) else None for k, v in signals}, allow_nan=False)


def suggestion_batch(picks: Sequence[ScannerSuggestion]) -> SuggestionBatch:
    """The scanner's picks -> their ``scanner_suggestions`` batch."""
    n = len(picks)
    return SuggestionBatch(
        ts=np.fromiter((p.ts_event for p in picks), dtype=np.int64, count=n),
        instrument_key=[p.instrument_key for p in picks],
        trading_symbol=[p.trading_symbol for p in picks],
        rank=np.fromiter((p.rank for p in picks), dtype=np.int64, count=n),
        score=np.fromiter((p.score for p in picks), dtype=np.float64, count=n),
        reasons=[json.dumps(list(p.reasons), ensure_ascii=False) for p in picks],
        last_price=np.fromiter((p.last_price for p in picks), dtype=np.int64, count=n),
        feed_mode=np.fromiter((int(p.feed_mode) for p in picks), dtype=np.int64, count=n),
        signals=[_signals_json(p.signals) for p in picks],
    )


# --- reads -------------------------------------------------------------------------------


def _select_fields(event: type[Any], table: str) -> tuple[str, ...]:
    column_of = {field: column for column, field in EVENT_FIELD[table].items()}
    return tuple(column_of.get(f, f) for f in event._fields)


QUOTE_FIELDS = _select_fields(Quote, "ticks")
GREEKS_FIELDS = _select_fields(OptionGreeks, "option_greeks")
OHLC_FIELDS = _select_fields(Candle, "ohlc")
SUGGESTION_FIELDS = _select_fields(ScannerSuggestion, "scanner_suggestions")


def select_list(fields: Sequence[str], ts_expr: str = "ts") -> str:
    """``fields`` as a SELECT list, ``ts`` rendered by ``ts_expr`` (must yield integer ns)."""
    return ", ".join(ts_expr if f == "ts" else f for f in fields)


def _f(v: Any) -> float:
    return math.nan if v is None else float(v)


def _i(v: Any) -> int:
    return 0 if v is None else int(v)


def _reader(
    event: Callable[..., E], fields: Sequence[str], floats: frozenset[str]
) -> Callable[[Sequence[Any]], E]:
    """A row selected with ``fields`` -> the event (NULL floats as NaN, NULL ints as 0)."""
    convert = [str if f == KEY else _f if f in floats else _i for f in fields]

    def read(row: Sequence[Any]) -> E:
        return event(*(c(v) for c, v in zip(convert, row, strict=True)))

    return read


quote_from_row = _reader(Quote, QUOTE_FIELDS, frozenset())
"""A row selected with ``QUOTE_FIELDS`` -> ``Quote``."""
greeks_from_row = _reader(OptionGreeks, GREEKS_FIELDS, GreeksBatch.FLOATS)
"""A row selected with ``GREEKS_FIELDS`` -> ``OptionGreeks``."""
candle_from_row = _reader(Candle, OHLC_FIELDS, frozenset())
"""A row selected with ``OHLC_FIELDS`` -> ``Candle``."""


def suggestion_from_row(row: Sequence[Any]) -> ScannerSuggestion:
    """A row selected with ``SUGGESTION_FIELDS`` -> ``ScannerSuggestion`` (null signals
    as NaN)."""
    key, symbol, ts, rank, score, reasons, last, mode, signals = row
    values = json.loads(signals) if signals else {}
    return ScannerSuggestion(
        instrument_key=str(key),
        trading_symbol=str(symbol or ""),
        ts_event=_i(ts),
        rank=_i(rank),
        score=_f(score),
        reasons=tuple(str(r) for r in json.loads(reasons)) if reasons else (),
        last_price=_i(last),
        feed_mode=FeedMode(_i(mode)) if mode else FeedMode.FULL,
        signals=tuple((str(k), _f(v)) for k, v in values.items()),
    )


def candle_batch_from_rows(rows: Sequence[Sequence[Any]]) -> CandleBatch:
    """Rows selected with ``OHLC_COLUMNS`` (``ts`` as integer ns) -> one ``ohlc`` batch
    (NULL numbers as 0)."""
    if not rows:
        empty: dict[str, Any] = {
            c: [] if c == KEY else np.zeros(0, dtype=np.int64) for c in OHLC_COLUMNS
        }
        return CandleBatch(**empty)
    cols = list(zip(*rows, strict=True))
    values: dict[str, Any] = {}
    for c, col in zip(OHLC_COLUMNS, cols, strict=True):
        if c == KEY:
            values[c] = [str(k) for k in col]
        else:
            values[c] = np.fromiter((0 if v is None else v for v in col), np.int64, len(col))
    return CandleBatch(**values)
