"""Table layouts of the tick store and domain <-> column conversions (pure, no I/O).

Both tick-store adapters (``questdb_ticks`` and ``sqlite_ticks``) take their column
names and orders from here. The ``*_columns`` converters transpose a batch with one
``zip(*batch)`` (NamedTuples have fixed arity, so ``strict`` checking, which costs 2x
here, buys nothing), so the embedded store and QuestDB hold the same tables:
``ticks``, ``option_greeks``, ``enriched_ticks`` and ``ohlc``. ``ts`` is the designated
timestamp (``ts_event``, or ``ts_start`` for candles) in UTC nanoseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def tick_columns(ticks: Sequence[Tick]) -> Columns:
    """Column-major view of ``ticks`` (best bid/ask from the first depth level)."""
    (keys, modes, ts_event, ts_init, ltp, ltt, ltq, close, vol, atp, oi, tbq, tsq, depth, _) = zip(
        *ticks, strict=False
    )
    bp, bq, ap, aq = zip(*[d[0] if d else _NO_LEVEL for d in depth], strict=False)
    return {
        "ts": ts_event, "instrument_key": keys, "mode": [int(m) for m in modes], "ltp": ltp,
        "ltt": ltt, "ltq": ltq, "close_price": close, "volume": vol, "atp": atp, "oi": oi,
        "total_buy_quantity": tbq, "total_sell_quantity": tsq, "bid_price": bp,
        "bid_quantity": bq, "ask_price": ap, "ask_quantity": aq, "ts_init": ts_init,
    }  # fmt: skip


def greeks_columns(greeks: Sequence[OptionGreeks]) -> Columns:
    (keys, ts_event, ts_init, ltp, iv, delta, gamma, theta, vega, rho, oi, vol) = zip(
        *greeks, strict=False
    )
    return {
        "ts": ts_event, "instrument_key": keys, "ltp": ltp, "iv": iv, "delta": delta,
        "gamma": gamma, "theta": theta, "vega": vega, "rho": rho, "oi": oi, "volume": vol,
        "ts_init": ts_init,
    }  # fmt: skip


def enriched_columns(ticks: Sequence[EnrichedTick]) -> Columns:
    cols = list(zip(*ticks, strict=False))
    named = dict(zip(EnrichedTick._fields, cols, strict=False))
    return {
        "ts": named["ts_event"],
        "instrument_key": named["instrument_key"],
        **{
            c: named[c]
            for c in ENRICHED_COLUMNS
            if c not in ("ts", "instrument_key", "aggressor", "spread")
        },
        "spread": named["spread"],
        "aggressor": [int(a) for a in named["aggressor"]],
    }


def candle_columns(candles: Sequence[Candle]) -> Columns:
    (keys, interval, ts_start, o, h, low, c, vol, oi, n) = zip(*candles, strict=False)
    return {
        "ts": ts_start, "instrument_key": keys, "interval_seconds": interval, "open": o,
        "high": h, "low": low, "close": c, "volume": vol, "oi": oi, "trade_count": n,
    }  # fmt: skip


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
