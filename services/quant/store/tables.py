"""Tick-store tables: their columns and typed column batches. GENERATED: do not edit.

Written by ``scripts/gen_columns.py`` from ``quant.core.events`` (which it checks against
``proto/quant/pb/marketdata/v1/marketdata.proto``): after changing an event, run
``make columns``; ``scripts/test.sh`` fails while this file is stale. A table's columns
are ``ts`` (the event time, UTC ns) and ``instrument_key``, then the event's other fields
in order (``ticks``: the best depth level in place of ``depth``, no ``ohlc``;
``scanner_suggestions``: ``reasons`` and ``signals`` as JSON text), ``ts_init`` last.
Read by both tick-store adapters, ``BatchingWriter`` and ``quant.store.columns``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from quant.store.batch import ColumnSet, FloatColumn, IntColumn, Keys, TextColumn

RAW_TICK_COLUMNS: tuple[str, ...] = (
    "ts",
    "instrument_key",
    "mode",
    "ltp",
    "ltt",
    "ltq",
    "close_price",
    "volume",
    "atp",
    "oi",
    "total_buy_quantity",
    "total_sell_quantity",
    "bid_price",
    "bid_quantity",
    "ask_price",
    "ask_quantity",
    "ts_init",
)

FEATURE_COLUMNS: tuple[str, ...] = (
    "session_vwap",
    "rolling_vwap",
    "imbalance_l1",
    "imbalance_d5",
    "imbalance_d30",
    "spread",
    "spread_bps",
    "microprice",
    "aggressor",
    "trade_quantity",
    "buy_volume",
    "sell_volume",
    "trade_intensity",
    "ts_enriched",
    "iv",
    "delta",
    "gamma",
    "theta",
    "vega",
)

TICK_COLUMNS = RAW_TICK_COLUMNS + FEATURE_COLUMNS

GREEKS_COLUMNS: tuple[str, ...] = (
    "ts",
    "instrument_key",
    "ltp",
    "iv",
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "oi",
    "volume",
    "ts_init",
)

OHLC_COLUMNS: tuple[str, ...] = (
    "ts",
    "instrument_key",
    "interval_seconds",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "oi",
    "trade_count",
)

SUGGESTION_COLUMNS: tuple[str, ...] = (
    "ts",
    "instrument_key",
    "trading_symbol",
    "rank",
    "score",
    "reasons",
    "last_price",
    "feed_mode",
    "signals",
)

TABLES: dict[str, tuple[str, ...]] = {
    "ticks": TICK_COLUMNS,
    "option_greeks": GREEKS_COLUMNS,
    "ohlc": OHLC_COLUMNS,
    "scanner_suggestions": SUGGESTION_COLUMNS,
}

DEDUP_KEYS: dict[str, tuple[str, ...]] = {
    "ticks": ("ts", "instrument_key"),
    "option_greeks": ("ts", "instrument_key"),
    "ohlc": ("ts", "instrument_key", "interval_seconds"),
    "scanner_suggestions": ("ts", "instrument_key"),
}

FLOAT_COLUMNS: frozenset[str] = frozenset(
    {
        "delta",
        "gamma",
        "imbalance_d30",
        "imbalance_d5",
        "imbalance_l1",
        "iv",
        "microprice",
        "rho",
        "rolling_vwap",
        "score",
        "session_vwap",
        "spread_bps",
        "theta",
        "trade_intensity",
        "vega",
    }
)

TEXT_COLUMNS: frozenset[str] = frozenset(
    {
        "reasons",
        "signals",
        "trading_symbol",
    }
)
"""Text columns besides ``instrument_key`` (VARCHAR / TEXT)."""

# the event field a column holds, where the names differ
EVENT_FIELD: dict[str, dict[str, str]] = {
    "ticks": {"ts": "ts_event", "ltt": "ltt_ns"},
    "option_greeks": {"ts": "ts_event"},
    "ohlc": {"ts": "ts_start"},
    "scanner_suggestions": {"ts": "ts_event"},
}


@dataclass(frozen=True, slots=True, eq=False)
class TickFeatures(ColumnSet):
    """``ticks``'s feature columns: ``EnrichedTick``'s fields ``Tick`` lacks."""

    COLUMNS: ClassVar[tuple[str, ...]] = FEATURE_COLUMNS
    FLOATS: ClassVar[frozenset[str]] = FLOAT_COLUMNS & frozenset(FEATURE_COLUMNS)

    session_vwap: FloatColumn
    rolling_vwap: FloatColumn
    imbalance_l1: FloatColumn
    imbalance_d5: FloatColumn
    imbalance_d30: FloatColumn
    spread: IntColumn
    spread_bps: FloatColumn
    microprice: FloatColumn
    aggressor: IntColumn
    trade_quantity: IntColumn
    buy_volume: IntColumn
    sell_volume: IntColumn
    trade_intensity: FloatColumn
    ts_enriched: IntColumn
    iv: FloatColumn
    delta: FloatColumn
    gamma: FloatColumn
    theta: FloatColumn
    vega: FloatColumn


@dataclass(frozen=True, slots=True, eq=False)
class TickBatch(ColumnSet):
    """A batch of ``ticks``: ``Tick`` rows, with their ``TickFeatures`` or not (NULL)."""

    TABLE: ClassVar[str] = "ticks"
    COLUMNS: ClassVar[tuple[str, ...]] = RAW_TICK_COLUMNS
    GROUPS: ClassVar[tuple[str, ...]] = ("features",)

    ts: IntColumn
    instrument_key: Keys
    mode: IntColumn
    ltp: IntColumn
    ltt: IntColumn
    ltq: IntColumn
    close_price: IntColumn
    volume: IntColumn
    atp: IntColumn
    oi: IntColumn
    total_buy_quantity: IntColumn
    total_sell_quantity: IntColumn
    bid_price: IntColumn
    bid_quantity: IntColumn
    ask_price: IntColumn
    ask_quantity: IntColumn
    ts_init: IntColumn
    features: TickFeatures | None = None


@dataclass(frozen=True, slots=True, eq=False)
class GreeksBatch(ColumnSet):
    """A batch of ``option_greeks``: ``OptionGreeks`` rows."""

    TABLE: ClassVar[str] = "option_greeks"
    COLUMNS: ClassVar[tuple[str, ...]] = GREEKS_COLUMNS
    FLOATS: ClassVar[frozenset[str]] = FLOAT_COLUMNS & frozenset(GREEKS_COLUMNS)

    ts: IntColumn
    instrument_key: Keys
    ltp: IntColumn
    iv: FloatColumn
    delta: FloatColumn
    gamma: FloatColumn
    theta: FloatColumn
    vega: FloatColumn
    rho: FloatColumn
    oi: IntColumn
    volume: IntColumn
    ts_init: IntColumn


@dataclass(frozen=True, slots=True, eq=False)
class CandleBatch(ColumnSet):
    """A batch of ``ohlc``: ``Candle`` rows."""

    TABLE: ClassVar[str] = "ohlc"
    COLUMNS: ClassVar[tuple[str, ...]] = OHLC_COLUMNS

    ts: IntColumn
    instrument_key: Keys
    interval_seconds: IntColumn
    open: IntColumn
    high: IntColumn
    low: IntColumn
    close: IntColumn
    volume: IntColumn
    oi: IntColumn
    trade_count: IntColumn


@dataclass(frozen=True, slots=True, eq=False)
class SuggestionBatch(ColumnSet):
    """A batch of ``scanner_suggestions``: scanner picks, reasons and signals as JSON."""

    TABLE: ClassVar[str] = "scanner_suggestions"
    COLUMNS: ClassVar[tuple[str, ...]] = SUGGESTION_COLUMNS
    FLOATS: ClassVar[frozenset[str]] = FLOAT_COLUMNS & frozenset(SUGGESTION_COLUMNS)
    TEXTS: ClassVar[frozenset[str]] = TEXT_COLUMNS & frozenset(SUGGESTION_COLUMNS)

    ts: IntColumn
    instrument_key: Keys
    trading_symbol: TextColumn
    rank: IntColumn
    score: FloatColumn
    reasons: TextColumn
    last_price: IntColumn
    feed_mode: IntColumn
    signals: TextColumn


ColumnBatch: TypeAlias = TickBatch | GreeksBatch | CandleBatch | SuggestionBatch
"""A batch of any tick-store table."""
