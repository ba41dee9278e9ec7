"""OHLC candles from ticks, aligned to IST boundaries, vectorised over many instruments.

A candle's ``ts_start`` is the tick's ``ts_event`` floored to the interval on the IST clock
(IST is UTC+05:30, so 1-minute candles align to the same instants as UTC minutes, while a
15-minute or hourly interval lines up with 09:15, 09:30, ... IST). OHLC come from ``ltp``
(ticks with ``ltp <= 0`` are ignored), volume is the sum of the ticks' trade quantities
(the deltas of cumulative volume, see :mod:`quant.analytics.features`), ``oi`` the last
open interest and ``trade_count`` the number of ticks that carried a trade.

Candles are handled as rows of an int64 table (:data:`COLUMNS`) so a batch's candles for
all instruments are built with a handful of ``reduceat`` calls. Called by the engine.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quant.analytics.segments import BoolArray, IntArray
from quant.core.events import Candle

IST_OFFSET_NS = (5 * 3600 + 30 * 60) * 1_000_000_000
COLUMNS = ("group", "start", "open", "high", "low", "close", "volume", "oi", "count")
GROUP, START, OPEN, HIGH, LOW, CLOSE, VOLUME, OI, COUNT = range(len(COLUMNS))
Table = npt.NDArray[np.int64]


def align_ist(ts_ns: IntArray, interval_ns: int) -> IntArray:
    """Start of the IST-aligned interval containing each timestamp."""
    out: IntArray = (ts_ns + IST_OFFSET_NS) // interval_ns * interval_ns - IST_OFFSET_NS
    return out


def empty_table() -> Table:
    """A candle table with no rows."""
    return np.zeros((0, len(COLUMNS)), dtype=np.int64)


def build_runs(
    group: IntArray,
    ts_ns: IntArray,
    ltp: IntArray,
    qty: IntArray,
    oi: IntArray,
    interval_ns: int,
) -> Table:
    """One row per (group, interval) run of ticks; ``group`` and time non-decreasing."""
    keep = ltp > 0
    if not bool(keep.all()):
        group, ts_ns, ltp, qty, oi = group[keep], ts_ns[keep], ltp[keep], qty[keep], oi[keep]
    n = ltp.size
    if n == 0:
        return empty_table()
    start = align_ist(ts_ns, interval_ns)
    run_start: BoolArray = np.empty(n, dtype=np.bool_)
    run_start[0] = True
    run_start[1:] = (group[1:] != group[:-1]) | (start[1:] != start[:-1])
    first = np.flatnonzero(run_start)
    last = np.append(first[1:] - 1, n - 1)
    table = np.empty((first.size, len(COLUMNS)), dtype=np.int64)
    table[:, GROUP] = group[first]
    table[:, START] = start[first]
    table[:, OPEN] = ltp[first]
    table[:, HIGH] = np.maximum.reduceat(ltp, first)
    table[:, LOW] = np.minimum.reduceat(ltp, first)
    table[:, CLOSE] = ltp[last]
    table[:, VOLUME] = np.add.reduceat(qty, first)
    table[:, OI] = oi[last]
    table[:, COUNT] = np.add.reduceat((qty > 0).astype(np.int64), first)
    return table


def merge_open(runs: Table, carried: Table) -> tuple[Table, Table]:
    """Merge a batch's runs with the candles left open by earlier batches.

    ``carried`` has at most one row per group. A carried candle for the same interval as
    the group's first run is merged into it; an older one is closed. Within each group
    every run but the last is closed; the last stays open. Returns (closed, open), both
    sorted by (group, start).
    """
    if carried.shape[0]:
        in_batch = np.isin(carried[:, GROUP], runs[:, GROUP])
        idle = carried[~in_batch]
        carried = carried[in_batch]
    else:
        idle = carried
    if carried.shape[0]:
        first_of_group = np.ones(runs.shape[0], dtype=np.bool_)
        first_of_group[1:] = runs[1:, GROUP] != runs[:-1, GROUP]
        firsts = np.flatnonzero(first_of_group)
        pos = firsts[np.searchsorted(runs[firsts, GROUP], carried[:, GROUP])]
        same = runs[pos, START] == carried[:, START]
        m, c = pos[same], carried[same]
        runs = runs.copy()
        runs[m, OPEN] = c[:, OPEN]
        runs[m, HIGH] = np.maximum(runs[m, HIGH], c[:, HIGH])
        runs[m, LOW] = np.minimum(runs[m, LOW], c[:, LOW])
        runs[m, VOLUME] += c[:, VOLUME]
        runs[m, COUNT] += c[:, COUNT]
        older = carried[~same]
    else:
        older = carried
    last_of_group = np.ones(runs.shape[0], dtype=np.bool_)
    last_of_group[:-1] = runs[1:, GROUP] != runs[:-1, GROUP]
    closed = np.concatenate((older, runs[~last_of_group]))
    order = np.lexsort((closed[:, START], closed[:, GROUP]))
    still_open = np.concatenate((idle, runs[last_of_group]))
    open_order = np.argsort(still_open[:, GROUP], kind="stable")
    return closed[order], still_open[open_order]


def to_candles(table: Table, keys: list[str], interval_seconds: int) -> list[Candle]:
    """Candle events for table rows; ``keys[group]`` names each row's instrument."""
    return [
        Candle(keys[g], interval_seconds, s, o, h, lo, c, v, oi, n)
        for g, s, o, h, lo, c, v, oi, n in table.tolist()
    ]


def candles_from_ticks(
    instrument_key: str,
    ts_ns: npt.ArrayLike,
    ltp: npt.ArrayLike,
    qty: npt.ArrayLike,
    oi: npt.ArrayLike | None = None,
    interval_seconds: int = 60,
) -> list[Candle]:
    """All candles (the last one included) of one instrument's ticks in time order."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    oi_arr = np.zeros_like(ts) if oi is None else np.asarray(oi, dtype=np.int64)
    runs = build_runs(
        np.zeros_like(ts),
        ts,
        np.asarray(ltp, dtype=np.int64),
        np.asarray(qty, dtype=np.int64),
        oi_arr,
        interval_seconds * 1_000_000_000,
    )
    return to_candles(runs, [instrument_key], interval_seconds)
