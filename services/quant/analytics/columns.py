"""Columnar views of tick batches: ``Tick`` tuples in, numpy columns; columns out, ``EnrichedTick``.

The feature engine's math runs on columns. Converting a batch of ``Tick`` NamedTuples is
done with C-level transposes (``zip(*ticks)``, ``numpy.fromiter`` over chained depth
levels) rather than a per-tick Python loop, and ``EnrichedTick`` tuples are built the same
way (``tuple.__new__`` over zipped columns). Called by :mod:`quant.analytics.engine`.
Both conversions find the events' fields by name; ``scripts/gen_columns.py --check``
fails when ``TickColumns`` / ``EnrichedColumns`` stop covering ``Tick`` / ``EnrichedTick``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from quant.analytics.segments import BoolArray, IntArray
from quant.core.events import AggressorSide, EnrichedTick, FeedMode, Tick

FloatArray = npt.NDArray[np.float64]
MAX_LEVELS = 30
_LTPC = int(FeedMode.LTPC)  # the only feed mode without cumulative volume (vtt)
_SIDES = np.array([AggressorSide.NONE, *AggressorSide], dtype=object)
# The engine's aggressor codes (0: no trade seen yet, else an AggressorSide value) as the
# AggressorSide values stored and put on the wire: index this with the aggressor column.
AGGRESSOR_VALUES: IntArray = np.array([int(s) for s in _SIDES], dtype=np.int64)
_AT = {name: i for i, name in enumerate(Tick._fields)}  # a Tick field's position


class TickColumns(NamedTuple):
    """A batch of ticks as columns; depth arrays are (n, levels), 0 where a level is absent.

    ``has_volume`` comes from each tick's feed mode: LTPC ticks have no cumulative volume
    (``vtt``); FULL, FULL_D30 and OPTION_GREEKS ticks do, even when it is 0 (pre-open).
    """

    keys: list[str]
    ts_event: IntArray
    ts_init: IntArray
    ltp: IntArray
    ltt_ns: IntArray
    ltq: IntArray
    volume: IntArray
    oi: IntArray
    bid_price: IntArray
    bid_qty: IntArray
    ask_price: IntArray
    ask_qty: IntArray
    # Per tick: does ``volume`` carry the cumulative day volume (feed mode other than
    # LTPC), so that a 0 is a real 0? ``None`` (builders that predate the field) falls back
    # to ``volume > 0``, which loses a genuine zero baseline; see :func:`volume_mask`.
    has_volume: BoolArray | None = None
    # The rest of the ``Tick`` (the engine does not use them; the tick store writes them):
    # the feed mode as its ``FeedMode`` value, close price and ATP in paise, total buy and
    # sell quantity. ``None`` from builders that predate the fields.
    mode: IntArray | None = None
    close_price: IntArray | None = None
    atp: IntArray | None = None
    total_buy_quantity: IntArray | None = None
    total_sell_quantity: IntArray | None = None


def volume_mask(columns: TickColumns) -> BoolArray:
    """Per tick: does ``volume`` carry the cumulative day volume (even if it is 0)?"""
    if columns.has_volume is not None:
        return columns.has_volume
    mask: BoolArray = columns.volume > 0
    return mask


class EnrichedColumns(NamedTuple):
    """The engine's per-tick features as columns, in the batch's input order."""

    session_vwap: FloatArray
    rolling_vwap: FloatArray
    imbalance_l1: FloatArray
    imbalance_d5: FloatArray
    imbalance_d30: FloatArray
    spread: IntArray
    spread_bps: FloatArray
    microprice: FloatArray
    aggressor: IntArray
    trade_quantity: IntArray
    buy_volume: IntArray
    sell_volume: IntArray
    trade_intensity: FloatArray
    iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray


def _ints(values: Sequence[int], n: int) -> IntArray:
    return np.fromiter(values, dtype=np.int64, count=n)


def _depth(depths: Sequence[tuple[tuple[int, ...], ...]], max_levels: int) -> IntArray:
    """(n, levels, 4) array of (bid price, bid qty, ask price, ask qty)."""
    n = len(depths)
    lengths = np.fromiter(map(len, depths), dtype=np.int64, count=n)
    levels = min(int(lengths.max()) if n else 0, max_levels)
    out = np.zeros((n, levels, 4), dtype=np.int64)
    if levels == 0:
        return out
    for length in np.unique(lengths).tolist():
        if length == 0:
            continue
        if length == lengths[0] and bool(np.all(lengths == length)):
            rows: Sequence[tuple[tuple[int, ...], ...]] = depths
            idx: slice | IntArray = slice(None)
        else:
            idx = np.flatnonzero(lengths == length)
            rows = [depths[i] for i in idx.tolist()]
        flat = np.fromiter(
            chain.from_iterable(chain.from_iterable(rows)),
            dtype=np.int64,
            count=len(rows) * length * 4,
        ).reshape(len(rows), length, 4)
        use = min(length, levels)
        out[idx, :use] = flat[:, :use]
    return out


def from_ticks(ticks: Sequence[Tick], max_levels: int = MAX_LEVELS) -> TickColumns:
    """Columns of a batch of ticks (depth truncated to ``max_levels``)."""
    n = len(ticks)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        flat = np.zeros((0, 0), dtype=np.int64)
        return TickColumns(
            [], empty, empty, empty, empty, empty, empty, empty, *(flat,) * 4,
            has_volume=np.zeros(0, dtype=np.bool_), mode=empty, close_price=empty, atp=empty,
            total_buy_quantity=empty, total_sell_quantity=empty,
        )  # fmt: skip
    cols = list(zip(*ticks, strict=True))
    at = _AT
    depth = _depth(cols[at["depth"]], max_levels)
    modes = _ints(cols[at["mode"]], n)
    return TickColumns(
        keys=list(cols[at["instrument_key"]]),
        ts_event=_ints(cols[at["ts_event"]], n),
        ts_init=_ints(cols[at["ts_init"]], n),
        ltp=_ints(cols[at["ltp"]], n),
        ltt_ns=_ints(cols[at["ltt_ns"]], n),
        ltq=_ints(cols[at["ltq"]], n),
        volume=_ints(cols[at["volume"]], n),
        oi=_ints(cols[at["oi"]], n),
        bid_price=depth[:, :, 0],
        bid_qty=depth[:, :, 1],
        ask_price=depth[:, :, 2],
        ask_qty=depth[:, :, 3],
        has_volume=modes != _LTPC,
        mode=modes,
        close_price=_ints(cols[at["close_price"]], n),
        atp=_ints(cols[at["atp"]], n),
        total_buy_quantity=_ints(cols[at["total_buy_quantity"]], n),
        total_sell_quantity=_ints(cols[at["total_sell_quantity"]], n),
    )


# where each ``EnrichedTick`` field comes from, in field order: "keys", "ts_enriched",
# "aggressor" (engine codes -> AggressorSide), a ``TickColumns`` field or else the
# ``EnrichedColumns`` field of the same name
_ENRICHED_FROM = [
    ("keys", "") if name == "instrument_key" else
    (name, "") if name in ("ts_enriched", "aggressor") else
    ("ticks", name) if name in TickColumns._fields else
    ("features", name)
    for name in EnrichedTick._fields
]  # fmt: skip


def to_enriched(
    ticks: TickColumns, features: EnrichedColumns, ts_enriched: int
) -> list[EnrichedTick]:
    """``EnrichedTick`` events for a batch (input order)."""
    n = len(ticks.keys)
    columns: list[Iterable[object]] = []
    for source, name in _ENRICHED_FROM:
        if source == "keys":
            columns.append(ticks.keys)
        elif source == "ts_enriched":
            columns.append(repeat(ts_enriched, n))
        elif source == "aggressor":
            columns.append(_SIDES[features.aggressor].tolist())
        else:
            columns.append(getattr(ticks if source == "ticks" else features, name).tolist())
    make = tuple.__new__
    return list(map(make, repeat(EnrichedTick, n), zip(*columns, strict=False)))
