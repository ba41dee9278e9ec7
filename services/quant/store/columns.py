"""Table layouts of the tick store and domain <-> column conversions (pure, no I/O).

Both tick-store adapters (``questdb_ticks`` and ``sqlite_ticks``) take their column
names and orders from here, so the embedded store and QuestDB hold the same tables:
``ticks``, ``option_greeks``, ``enriched_ticks`` and ``ohlc``. ``ts`` is the designated
timestamp (``ts_event``, or ``ts_start`` for candles) in UTC nanoseconds.
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

TICK_COLUMNS = (
    "ts", "instrument_key", "mode", "ltp", "ltt", "ltq", "close_price", "volume", "atp",
    "oi", "total_buy_quantity", "total_sell_quantity", "bid_price", "bid_quantity",
    "ask_price", "ask_quantity", "ts_init",
)  # fmt: skip
GREEKS_COLUMNS = (
    "ts", "instrument_key", "ltp", "iv", "delta", "gamma", "theta", "vega", "rho", "oi",
    "volume", "ts_init",
)  # fmt: skip
ENRICHED_COLUMNS = (
    "ts", "instrument_key", "ltp", "volume", "session_vwap", "rolling_vwap", "imbalance_l1",
    "imbalance_d5", "imbalance_d30", "spread", "spread_bps", "microprice", "aggressor",
    "trade_quantity", "buy_volume", "sell_volume", "trade_intensity", "ts_enriched", "iv",
    "delta", "gamma", "theta", "vega", "ts_init",
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
    "enriched_ticks": ENRICHED_COLUMNS,
    "ohlc": OHLC_COLUMNS,
}
DEDUP_KEYS: dict[str, tuple[str, ...]] = {
    "ticks": ("ts", "instrument_key"),
    "option_greeks": ("ts", "instrument_key"),
    "enriched_ticks": ("ts", "instrument_key"),
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
        [c for c in TICK_COLUMNS if c not in TICK_COLUMNS[12:16]],  # best bid/ask: below
        ts="ts_event", ltt="ltt_ns",
    ),
)  # fmt: skip
_DEPTH = itemgetter(Tick._fields.index("depth"))
_LEVEL = [(c, itemgetter(i)) for i, c in enumerate(TICK_COLUMNS[12:16])]
_GREEKS = _getters(OptionGreeks, _same(GREEKS_COLUMNS, ts="ts_event"))
_ENRICHED = _getters(EnrichedTick, _same(ENRICHED_COLUMNS, ts="ts_event"))
_CANDLE = _getters(Candle, _same(OHLC_COLUMNS, ts="ts_start"))


_GETTERS = {"option_greeks": _GREEKS, "enriched_ticks": _ENRICHED, "ohlc": _CANDLE}


def column_iterators(table: str, rows: Sequence[Any]) -> dict[str, Iterator[Any]]:
    """Lazy per-column iterators over a batch of ``table``'s domain rows (any order).

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


def tick_columns(ticks: Sequence[Tick]) -> Columns:
    """Column-major lists of ``ticks`` (best bid/ask from the first depth level)."""
    return _lists("ticks", ticks)


def greeks_columns(greeks: Sequence[OptionGreeks]) -> Columns:
    return _lists("option_greeks", greeks)


def enriched_columns(ticks: Sequence[EnrichedTick]) -> Columns:
    return _lists("enriched_ticks", ticks)


def candle_columns(candles: Sequence[Candle]) -> Columns:
    return _lists("ohlc", candles)


def checked_columns(table: str, columns: Mapping[str, Any]) -> dict[str, Any] | None:
    """``columns`` of one ``table`` batch in table order, checked; ``None`` if empty.

    Every column of the table must be present (``ts`` in ns, ``instrument_key`` a list of
    str or an object array, the rest numeric arrays or lists) with the same length.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    names = TABLES[table]
    missing = [c for c in names if c not in columns]
    if missing:
        raise ValueError(f"{table}: missing columns {missing}")
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
