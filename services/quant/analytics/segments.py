"""Segmented array primitives: running sums, previous values and forward fills per segment.

The feature engine sorts a batch of ticks by instrument (stably, so each instrument keeps
its arrival order) and then computes every running feature for all instruments at once.
A *segment* is a contiguous run of one instrument (and trading day); ``starts`` marks its
first element. Each function also takes the value carried in from the previous batch for
every segment, which is what makes batch boundaries (and snapshot/restore) invisible.

Used by :mod:`quant.analytics.features`, :mod:`quant.analytics.candles` and the engine.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def segment_ids(starts: BoolArray) -> IntArray:
    """Index of the segment of every element (``starts[0]`` must be True)."""
    ids: IntArray = np.cumsum(starts, dtype=np.int64) - 1
    return ids


class Segments(NamedTuple):
    """A batch's segmentation, derived once from ``starts`` and shared by every call that
    takes it (the engine makes ~25 segmented calls per batch over two segmentations)."""

    starts: BoolArray
    first: IntArray  # index of each segment's first element
    ids: IntArray  # segment of every element

    @classmethod
    def of(cls, starts: BoolArray) -> Segments:
        return cls(starts, np.flatnonzero(starts), segment_ids(starts))


Starts = BoolArray | Segments
"""Where segments start: the boolean marks, or their :class:`Segments`."""


def _segments(starts: Starts) -> Segments:
    return starts if isinstance(starts, Segments) else Segments.of(starts)


def seg_cumsum(values: IntArray, starts: Starts, carry: IntArray) -> IntArray:
    """Inclusive running sum within each segment, plus that segment's carried-in total.

    Exact in int64 (wrap-around cancels in the differences as long as each segment's own
    total fits), so results do not depend on how a stream is cut into batches.
    """
    if values.size == 0:
        return values.copy()
    total = np.cumsum(values, dtype=np.int64)
    first, ids = _segments(starts)[1:]
    before = total[first] - values[first]
    out: IntArray = total - before[ids] + carry[ids]
    return out


def seg_previous(values: IntArray, starts: Starts, carry: IntArray) -> IntArray:
    """The previous element within the segment; the segment's carry for its first element."""
    out = np.empty_like(values)
    if values.size == 0:
        return out
    out[1:] = values[:-1]
    out[_segments(starts).first] = carry
    return out


def seg_last_where(values: IntArray, mask: BoolArray, starts: Starts, carry: IntArray) -> IntArray:
    """Forward fill: the value of the last element with ``mask`` set, up to and including each.

    A segment with no marked element yet takes its carry. Unlike :func:`seg_last_nonzero`
    a marked zero is a value like any other.
    """
    n = values.size
    if n == 0:
        return values.copy()
    positions = np.arange(n, dtype=np.int64)
    marks = np.where(mask, positions, -1)
    first, ids = _segments(starts)[1:]
    latest = np.maximum.accumulate(marks)
    has_own = latest >= first[ids]
    out: IntArray = np.where(has_own, values[np.maximum(latest, 0)], carry[ids])
    return out


def seg_last_where_before(
    values: IntArray, mask: BoolArray, starts: Starts, carry: IntArray
) -> IntArray:
    """Like :func:`seg_last_where` but strictly before each element."""
    filled = seg_last_where(values, mask, starts, carry)
    return seg_previous(filled, starts, carry)


def seg_last_nonzero(values: IntArray, starts: Starts, carry: IntArray) -> IntArray:
    """Forward fill: the last non-zero value up to and including each element.

    Zeros mean "no value here"; a segment with no non-zero value yet takes its carry.
    """
    return seg_last_where(values, values != 0, starts, carry)


def seg_last_nonzero_before(values: IntArray, starts: Starts, carry: IntArray) -> IntArray:
    """Like :func:`seg_last_nonzero` but strictly before each element."""
    filled = seg_last_nonzero(values, starts, carry)
    return seg_previous(filled, starts, carry)


def seg_running_max(values: IntArray, starts: Starts, carry: IntArray) -> IntArray:
    """Running maximum within each segment, starting from the carry (for monotone time)."""
    n = values.size
    out = values.copy()
    if n == 0:
        return out
    seg = _segments(starts)
    first, starts = seg.first, seg.starts
    out[first] = np.maximum(out[first], carry)
    # Fast path: already non-decreasing inside every segment (the normal case for time).
    drops = np.flatnonzero(out[1:] < out[:-1]) + 1
    if drops.size == 0 or bool(np.all(starts[drops])):
        return out
    bounds = np.append(first, n)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        out[lo:hi] = np.maximum.accumulate(out[lo:hi])
    return out


def seg_window_starts(
    keys_ts: IntArray, group: IntArray, window_ns: int, query: IntArray
) -> IntArray:
    """For each query index, the first index of its group with ``ts > ts[query] - window``.

    ``group`` must be non-decreasing and ``keys_ts`` non-decreasing within each group.
    """
    if query.size == 0:
        return np.zeros(0, dtype=np.int64)
    t0 = int(keys_ts.min())
    rel = keys_ts - t0
    span = int(rel.max()) + window_ns + 1
    groups = int(group[-1]) + 1
    if groups * span < (1 << 62):
        key = group * span + rel
        lo: IntArray = np.searchsorted(key, key[query] - window_ns, side="right")
        return lo
    # Too wide to pack into one int64 key: search group by group.
    lo = np.empty(query.size, dtype=np.int64)
    bounds = np.searchsorted(group, np.arange(groups + 1))
    qgroup = group[query]
    for g in np.unique(qgroup).tolist():
        sel = np.flatnonzero(qgroup == g)
        a, b = int(bounds[g]), int(bounds[g + 1])
        lo[sel] = a + np.searchsorted(keys_ts[a:b], keys_ts[query[sel]] - window_ns, "right")
    return lo


def window_sum(values: IntArray, starts_at: IntArray, query: IntArray) -> IntArray:
    """``values[starts_at[i] : query[i] + 1].sum()`` for every i, via one cumulative sum."""
    if query.size == 0:
        return np.zeros(0, dtype=np.int64)
    total = np.cumsum(values, dtype=np.int64)
    before = np.where(starts_at > 0, total[np.maximum(starts_at - 1, 0)], 0)
    out: IntArray = total[query] - before
    return out


def seg_window_sum(
    keys_ts: IntArray,
    group: IntArray,
    values: IntArray,
    window_ns: int,
    query: IntArray,
) -> IntArray:
    """Sum of ``values`` over ``(ts - window, ts]`` within the group, at each query index."""
    return window_sum(values, seg_window_starts(keys_ts, group, window_ns, query), query)
