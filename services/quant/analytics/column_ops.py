"""Row selection and concatenation of ``TickColumns`` batches (pure numpy).

The feature service holds early option ticks back and releases them with a later
batch, and puts every released batch into exchange-time order; these helpers do that on
columns. Depth arrays of batches with different level counts are zero-padded to the
wider one. Called by :mod:`quant.features.service`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quant.analytics.columns import TickColumns
from quant.analytics.segments import BoolArray, IntArray

_DEPTH = frozenset({"bid_price", "bid_qty", "ask_price", "ask_qty"})


def empty_columns() -> TickColumns:
    """A batch of no ticks."""
    z = np.zeros(0, dtype=np.int64)
    flat = np.zeros((0, 0), dtype=np.int64)
    return TickColumns([], z, z, z, z, z, z, z, flat, flat, flat, flat,
                       has_volume=np.zeros(0, dtype=np.bool_))  # fmt: skip


def take(t: TickColumns, rows: IntArray | BoolArray) -> TickColumns:
    """The batch's rows ``rows`` (indices or a mask), in that order."""
    idx: IntArray = np.flatnonzero(rows) if rows.dtype == np.bool_ else rows.astype(np.int64)
    keys = t.keys
    values: list[Any] = [[keys[i] for i in idx.tolist()]]
    for name in TickColumns._fields[1:]:
        column = getattr(t, name)
        values.append(None if column is None else column[idx])
    return TickColumns(*values)


def _pad(depth: IntArray, levels: int) -> IntArray:
    if depth.shape[1] == levels:
        return depth
    out = np.zeros((depth.shape[0], levels), dtype=depth.dtype)
    out[:, : depth.shape[1]] = depth
    return out


def concat(a: TickColumns, b: TickColumns) -> TickColumns:
    """``a``'s rows, then ``b``'s."""
    if not a.keys:
        return b
    if not b.keys:
        return a
    levels = max(a.bid_price.shape[1], b.bid_price.shape[1])
    values: list[Any] = [a.keys + b.keys]
    for name in TickColumns._fields[1:]:
        x, y = getattr(a, name), getattr(b, name)
        if x is None and y is None:
            values.append(None)
            continue
        if x is None or y is None:  # one side built without the optional column
            like = y if x is None else x
            side = a if x is None else b
            fill = (
                side.volume > 0  # what a missing has_volume means (columns.volume_mask)
                if name == "has_volume"
                else np.zeros(len(side.keys), dtype=like.dtype)
            )
            x, y = (fill, y) if x is None else (x, fill)
        if name in _DEPTH:
            x, y = _pad(x, levels), _pad(y, levels)
        values.append(np.concatenate([x, y]))
    return TickColumns(*values)
