"""Exact trailing-time-window sums for many instruments, carried across batches.

Each instrument keeps running totals (``Σ price·qty``, ``Σ qty``, trade count) since the
engine started, and a *history* of its recent trades: one row per trade with the totals
just *before* it. The sum over ``(t - W, t]`` at a tick is its running total minus the
total before the first trade with ``ts > t - W``; that trade is found by binary search,
first among the batch's own ticks and, only when the window reaches back past the batch,
in the history. Totals are int64 and may wrap on a very long run; the differences stay
exact.

The history is a short tuple of *levels* (oldest first), each sorted by (code, ts), like
a log-structured merge tree: a batch's trades become a new level, and the two newest are
merged while the older one is at most twice the newer one's size, dropping rows older than
the longest window before the instrument's latest tick (those never answer a query). So a
batch costs O(n log m) searches over O(log m) levels plus amortised O(n log m) merging,
independent of how many trades the window holds (a single sorted history had to be
re-merged whole for every batch: milliseconds per batch at 100k trades, growing with the
window). Per instrument, an older level's trades all precede a newer level's.

Called by :mod:`quant.analytics.engine`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from quant.analytics.segments import BoolArray, IntArray, Segments, Starts, seg_cumsum

HISTORY_COLUMNS = ("code", "ts", "pv_before", "qty_before", "count_before")


class History(NamedTuple):
    """Trade rows sorted by (code, ts); the three totals are those before each trade."""

    code: IntArray
    ts: IntArray
    pv: IntArray
    qty: IntArray
    trades: IntArray

    @classmethod
    def empty(cls) -> History:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z, z)

    @classmethod
    def from_rows(cls, rows: IntArray) -> History:
        table = rows.reshape(-1, len(HISTORY_COLUMNS))
        return cls(*(np.ascontiguousarray(table[:, i]) for i in range(len(HISTORY_COLUMNS))))

    def rows(self) -> IntArray:
        out: IntArray = np.stack(self, axis=1) if self.code.size else np.zeros((0, 5), np.int64)
        return out


_KEY_LIMIT = 1 << 62


@dataclass(frozen=True, slots=True)
class Level:
    """One level of the history and its search key, built once (a level never changes).

    ``key`` is ``code * span + (ts - t0)`` over the level's own time range, so a query
    is a single ``searchsorted`` of O(log m), not an O(m) pass over the level per batch
    (at full feed rates the oldest level holds millions of trades). ``None`` when the
    range is too wide for an int64 key; those levels are searched per code.
    ``ident`` names this level's rows for good (random, kept across a snapshot and
    restore): a snapshot store keeps a level it already holds instead of writing it again.
    """

    rows: History
    key: IntArray | None
    t0: int
    span: int
    code_max: int
    ident: str

    @classmethod
    def of(cls, rows: History, ident: str | None = None) -> Level:
        """The level of ``rows`` (sorted by (code, ts)), with its key; a new ``ident``
        unless given (a restored level keeps its own)."""
        name = ident or uuid.uuid4().hex
        if not rows.code.size:
            return cls(rows, None, 0, 1, -1, name)
        t0 = int(rows.ts.min())
        span = int(rows.ts.max()) - t0 + 1
        code_max = int(rows.code.max())
        if (code_max + 2) * (span + 1) >= _KEY_LIMIT:
            return cls(rows, None, t0, span, code_max, name)
        return cls(rows, rows.code * span + (rows.ts - t0), t0, span, code_max, name)

    @property
    def size(self) -> int:
        return int(self.rows.code.size)


Levels = tuple[Level, ...]
"""The history as levels, oldest (and largest) first; ``()`` when empty."""

Totals = tuple[IntArray, IntArray, IntArray]


class WindowSums(NamedTuple):
    """Per-tick trailing sums (in the batch's instrument-sorted order)."""

    rolling_pv: IntArray
    rolling_qty: IntArray
    trade_count: IntArray


def _search_level(level: Level, c: IntArray, t: IntArray) -> tuple[IntArray, BoolArray]:
    """Per query (code ``c``, time ``t``): index of the level's first row of that code with
    ``ts > t``, and whether there is one."""
    history = level.rows
    m = history.code.size
    if level.key is not None:
        # times outside the level's range clamp to its ends: before it, every row of the
        # code is later; after it, none is (the search lands past the code's rows); codes
        # above the level's clamp to one past its last (no hit, and no int64 overflow:
        # the times are clamped before the level's t0 is subtracted)
        rel = np.clip(t, level.t0 - 1, level.t0 + level.span - 1) - level.t0
        code = np.minimum(c, level.code_max + 1)
        jh = np.searchsorted(level.key, code * level.span + rel, side="right")
    else:  # a range too wide for one int64 key (e.g. months of history): per code
        jh = np.empty(c.size, dtype=np.int64)
        for code in np.unique(c).tolist():
            sel = np.flatnonzero(c == code)
            a = int(np.searchsorted(history.code, code, side="left"))
            b = int(np.searchsorted(history.code, code, side="right"))
            jh[sel] = a + np.searchsorted(history.ts[a:b], t[sel], side="right")
    jh_ok = np.minimum(jh, m - 1)
    hit: BoolArray = (jh < m) & (history.code[jh_ok] == c)
    return jh_ok, hit


def _first_after(
    c: IntArray,
    ts: IntArray,
    inst_start: Segments,
    window_ns: int,
    levels: Levels,
    before: tuple[IntArray, ...],
) -> tuple[IntArray, ...]:
    """Totals before the first trade of each tick's instrument with ``ts > t - window``."""
    _, first, seg = inst_start
    t0 = int(ts.min()) - window_ns
    span = int(ts.max()) - t0 + 1
    key = seg * span + (ts - t0)
    j = np.searchsorted(key, key - window_ns, side="right")  # first batch row with ts > t - W
    out = [b[j] for b in before]
    back = np.flatnonzero(j == first[seg])  # the window may reach into the history
    for level in levels:  # oldest first: the first level with a hit has the earliest
        if not back.size:
            break
        if not level.size:
            continue
        history = level.rows
        jh, hit = _search_level(level, c[back], ts[back] - window_ns)
        rows = back[hit]
        for o, h in zip(out, (history.pv, history.qty, history.trades), strict=False):
            o[rows] = h[jh[hit]]
        back = back[~hit]
    return tuple(out)


def window_sums(
    history: Levels,
    c: IntArray,
    ts: IntArray,
    inst_start: Starts,
    totals: tuple[IntArray, IntArray, IntArray],
    values: tuple[IntArray, IntArray, IntArray],
    windows_ns: tuple[int, int],
) -> tuple[WindowSums, Totals, Totals]:
    """Trailing sums for a batch sorted by instrument code (time non-decreasing per code).

    ``totals`` are the per-segment running totals carried in (pv, qty, count), ``values``
    the per-tick increments; ``windows_ns`` = (rolling window, intensity window).
    Returns the sums and the running totals after and before every tick.
    """
    inst = inst_start if isinstance(inst_start, Segments) else Segments.of(inst_start)
    pv_a, qty_a, count_a = (seg_cumsum(v, inst, t) for v, t in zip(values, totals, strict=True))
    before = (pv_a - values[0], qty_a - values[1], count_a - values[2])
    rolling_ns, intensity_ns = windows_ns
    pv0, qty0, _ = _first_after(c, ts, inst, rolling_ns, history, before)
    _, _, count0 = _first_after(c, ts, inst, intensity_ns, history, before)
    sums = WindowSums(pv_a - pv0, qty_a - qty0, count_a - count0)
    return sums, (pv_a, qty_a, count_a), before


def merge_levels(older: History, newer: History) -> History:
    """One level of two; per code, ``older``'s rows first (they are the earlier trades)."""
    codes = np.concatenate((older.code, newer.code))
    order = np.argsort(codes, kind="stable")
    return History(
        codes[order],
        *(np.concatenate((a, b))[order] for a, b in zip(older[1:], newer[1:], strict=True)),
    )


def flatten(levels: Levels) -> History:
    """All levels as one history sorted by (code, ts)."""
    if not levels:
        return History.empty()
    merged = levels[0].rows
    for level in levels[1:]:
        merged = merge_levels(merged, level.rows)
    return merged


def extend_history(
    levels: Levels,
    c: IntArray,
    ts: IntArray,
    qty: IntArray,
    before: tuple[IntArray, IntArray, IntArray],
    last_ts_by_code: IntArray,
    horizon_ns: int,
) -> Levels:
    """Add the batch's trades as a new level, merging and pruning (module docstring)."""
    trade = qty > 0
    if not trade.any():
        return levels
    out = [level.rows for level in levels]
    built = len(out)  # levels from here on are new (their keys are built at the end)
    out.append(History(c[trade], ts[trade], before[0][trade], before[1][trade],
                       before[2][trade]))  # fmt: skip
    while len(out) >= 2 and out[-2].code.size <= 2 * out[-1].code.size:
        newer = out.pop()
        merged = merge_levels(out.pop(), newer)
        built = min(built, len(out))
        keep = merged.ts > last_ts_by_code[merged.code] - horizon_ns
        if not keep.all():
            merged = History(*(column[keep] for column in merged))
        out.append(merged)
    kept = [*levels[:built], *(Level.of(rows) for rows in out[built:])]
    return tuple(level for level in kept if level.size)
