"""Table layouts of the tick store and domain <-> column conversions (pure, no I/O).

Both tick-store adapters (``questdb_ticks`` and ``sqlite_ticks``) take their column
names and orders from here, so the embedded store and QuestDB hold the same tables:
``ticks``, ``option_greeks`` and ``ohlc``. ``ts`` is the designated timestamp
(``ts_event``, or ``ts_start`` for candles) in UTC nanoseconds.

A ``ticks`` row is one tick with its features: the raw columns (``RAW_TICK_COLUMNS``)
and the feature engine's (``FEATURE_COLUMNS``: VWAPs, imbalances, spread, aggressor, IV
and greeks, ...). A batch written without features leaves those columns NULL; as every
write is an upsert of the whole row, the feature engine writes each tick once, enriched.
``column_iterators`` transposes a batch lazily (QuestDB fills numpy arrays from it);
the ``*_columns`` functions materialise it as lists (SQLite binds rows from those).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from quant.core.events import Candle, DepthLevel, EnrichedTick, OptionGreeks, Tick
from quant.store.ports import Quote

Columns = dict[str, Sequence[Any]]

RAW_TICK_COLUMNS = (
    "ts", "instrument_key", "mode", "ltp", "ltt", "ltq", "close_price", "volume", "atp",
    "oi", "total_buy_quantity", "total_sell_quantity", "bid_price", "bid_quantity",
    "ask_price", "ask_quantity", "ts_init",
)  # fmt: skip
# the feature engine's columns of a ``ticks`` row (``EnrichedTick`` fields of the same name)
FEATURE_COLUMNS = (
    "session_vwap", "rolling_vwap", "imbalance_l1", "imbalance_d5", "imbalance_d30",
    "spread", "spread_bps", "microprice", "aggressor", "trade_quantity", "buy_volume",
    "sell_volume", "trade_intensity", "ts_enriched", "iv", "delta", "gamma", "theta", "vega",
)  # fmt: skip
TICK_COLUMNS = RAW_TICK_COLUMNS + FEATURE_COLUMNS
GREEKS_COLUMNS = (
    "ts", "instrument_key", "ltp", "iv", "delta", "gamma", "theta", "vega", "rho", "oi",
    "volume", "ts_init",
)  # fmt: skip
OHLC_COLUMNS = (
    "ts", "instrument_key", "interval_seconds", "open", "high", "low", "close", "volume",
    "oi", "trade_count",
)  # fmt: skip
FLOAT_COLUMNS = frozenset(
    {
        "iv", "delta", "gamma", "theta", "vega", "rho", "session_vwap", "rolling_vwap",
        "imbalance_l1", "imbalance_d5", "imbalance_d30", "spread_bps", "microprice",
        "trade_intensity",
    }
)  # fmt: skip
TABLES: dict[str, tuple[str, ...]] = {
    "ticks": TICK_COLUMNS,
    "option_greeks": GREEKS_COLUMNS,
    "ohlc": OHLC_COLUMNS,
}
DEDUP_KEYS: dict[str, tuple[str, ...]] = {
    "ticks": ("ts", "instrument_key"),
    "option_greeks": ("ts", "instrument_key"),
    "ohlc": ("ts", "instrument_key", "interval_seconds"),
}
QUOTE_FIELDS = (
    "instrument_key", "ts", "ts_init", "ltp", "ltq", "close_price", "volume", "atp", "oi",
    "bid_price", "bid_quantity", "ask_price", "ask_quantity", "total_buy_quantity",
    "total_sell_quantity",
)  # fmt: skip
GREEKS_FIELDS = (
    "instrument_key", "ts", "ts_init", "ltp", "iv", "delta", "gamma", "theta", "vega", "rho",
    "oi", "volume",
)  # fmt: skip
OHLC_FIELDS = (
    "instrument_key", "interval_seconds", "ts", "open", "high", "low", "close", "volume", "oi",
    "trade_count",
)  # fmt: skip


def select_list(fields: Sequence[str], ts_expr: str = "ts") -> str:
    """``fields`` as a SELECT list, ``ts`` rendered by ``ts_expr`` (must yield integer ns)."""
    return ", ".join(ts_expr if f == "ts" else f for f in fields)


_NO_LEVEL = DepthLevel(0, 0, 0, 0)


def _getters(cls: Any, fields: dict[str, str]) -> list[tuple[str, itemgetter[Any]]]:
    """(column, getter of the domain field feeding it) pairs, resolved once at import."""
    return [(col, itemgetter(cls._fields.index(field))) for col, field in fields.items()]


def _same(columns: Sequence[str], **renamed: str) -> dict[str, str]:
    return {c: renamed.get(c, c) for c in columns}


_TICK = _getters(
    Tick,
    _same(
        [c for c in RAW_TICK_COLUMNS if c not in RAW_TICK_COLUMNS[12:16]],  # best bid/ask
        ts="ts_event", ltt="ltt_ns",
    ),
)  # fmt: skip
_DEPTH = itemgetter(Tick._fields.index("depth"))
_LEVEL = [(c, itemgetter(i)) for i, c in enumerate(RAW_TICK_COLUMNS[12:16])]
_GREEKS = _getters(OptionGreeks, _same(GREEKS_COLUMNS, ts="ts_event"))
_FEATURES = _getters(EnrichedTick, _same(FEATURE_COLUMNS))
_CANDLE = _getters(Candle, _same(OHLC_COLUMNS, ts="ts_start"))
_MATCH = itemgetter(
    EnrichedTick._fields.index("instrument_key"), EnrichedTick._fields.index("ts_event")
)
_TICK_MATCH = itemgetter(Tick._fields.index("instrument_key"), Tick._fields.index("ts_event"))


_GETTERS = {"option_greeks": _GREEKS, "ohlc": _CANDLE}


def column_iterators(table: str, rows: Sequence[Any]) -> dict[str, Iterator[Any]]:
    """Lazy per-column iterators over a batch of ``table``'s domain rows (any order);
    for ``ticks`` the raw columns only (``feature_iterators`` gives the others).

    One ``map(itemgetter)`` per column: ``zip(*rows)`` is as fast in isolation but
    allocates a GC-tracked iterator per row, which sets off garbage collections.
    """
    if table == "ticks":
        out: dict[str, Iterator[Any]] = {col: map(get, rows) for col, get in _TICK}
        best = [d[0] if d else _NO_LEVEL for d in map(_DEPTH, rows)]
        out.update({col: map(get, best) for col, get in _LEVEL})
        return out
    return {col: map(get, rows) for col, get in _GETTERS[table]}


def _lists(table: str, rows: Sequence[Any]) -> Columns:
    return {col: list(values) for col, values in column_iterators(table, rows).items()}


def feature_iterators(
    ticks: Sequence[Tick], features: Sequence[EnrichedTick]
) -> dict[str, Iterator[Any]]:
    """Lazy iterators over the ``FEATURE_COLUMNS`` of ``features``, checked to be those of
    ``ticks`` row by row (same instrument and ``ts_event``): a ``ValueError`` if not."""
    if len(features) != len(ticks):
        raise ValueError(f"ticks: {len(ticks)} ticks but {len(features)} feature rows")
    if list(map(_MATCH, features)) != list(map(_TICK_MATCH, ticks)):
        raise ValueError("ticks: feature rows do not match the ticks (instrument, ts_event)")
    return {col: map(get, features) for col, get in _FEATURES}


def tick_columns(ticks: Sequence[Tick], features: Sequence[EnrichedTick] | None = None) -> Columns:
    """Column-major lists of ``ticks`` (best bid/ask from the first depth level), with
    the ``FEATURE_COLUMNS`` of ``features`` (one per tick, same order) when given."""
    out = _lists("ticks", ticks)
    if features is not None:
        out.update({c: list(v) for c, v in feature_iterators(ticks, features).items()})
    return out


def greeks_columns(greeks: Sequence[OptionGreeks]) -> Columns:
    return _lists("option_greeks", greeks)


def candle_columns(candles: Sequence[Candle]) -> Columns:
    return _lists("ohlc", candles)


def checked_columns(table: str, columns: Mapping[str, Any]) -> dict[str, Any] | None:
    """``columns`` of one ``table`` batch in table order, checked; ``None`` if empty.

    Every column of the table must be present (``ts`` in ns, ``instrument_key`` a list of
    str or an object array, the rest numeric arrays or lists) with the same length, except
    that ``ticks`` may leave out all of its ``FEATURE_COLUMNS`` (stored as NULL).
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    names = TABLES[table]
    if table == "ticks" and not any(c in columns for c in FEATURE_COLUMNS):
        names = RAW_TICK_COLUMNS
    missing = [c for c in names if c not in columns]
    if missing:
        raise ValueError(f"{table}: missing columns {missing}")
    unknown = [c for c in columns if c not in TABLES[table]]
    if unknown:
        raise ValueError(f"{table}: unknown columns {unknown}")
    lengths = {len(columns[c]) for c in names}
    if len(lengths) != 1:
        raise ValueError(f"{table}: columns of different lengths {sorted(lengths)}")
    if not lengths.pop():
        return None
    return {c: columns[c] for c in names}


def as_list(values: Any) -> list[Any]:
    """A column as a list of Python scalars (numpy arrays via ``tolist``)."""
    tolist = getattr(values, "tolist", None)
    return list(tolist()) if tolist is not None else list(values)


def _f(v: Any) -> float:
    return math.nan if v is None else float(v)


def _i(v: Any) -> int:
    return 0 if v is None else int(v)


def quote_from_row(row: Sequence[Any]) -> Quote:
    """A row selected with ``QUOTE_FIELDS`` -> ``Quote``."""
    return Quote(str(row[0]), *(_i(v) for v in row[1:]))


def greeks_from_row(row: Sequence[Any]) -> OptionGreeks:
    """A row selected with ``GREEKS_FIELDS`` -> ``OptionGreeks``."""
    return OptionGreeks(
        str(row[0]), _i(row[1]), _i(row[2]), _i(row[3]), _f(row[4]), _f(row[5]),
        _f(row[6]), _f(row[7]), _f(row[8]), _f(row[9]), _i(row[10]), _i(row[11]),
    )  # fmt: skip


def candle_from_row(row: Sequence[Any]) -> Candle:
    """A row selected with ``OHLC_FIELDS`` -> ``Candle``."""
    return Candle(str(row[0]), *(_i(v) for v in row[1:]))
