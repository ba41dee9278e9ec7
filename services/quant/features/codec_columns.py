"""Columnar batch codecs of the feature service: bus Tick messages <-> numpy columns.

:func:`decode_tick_columns` decodes a polled batch of Tick messages straight into
``TickColumns`` (:mod:`quant.analytics.columns`; numpy views of the native decoder's
buffers) and :func:`encode_enriched_columns` encodes ``EnrichedTick`` messages from
``TickColumns`` plus ``EnrichedColumns``. Both give exactly what the tuple path of the bus
codecs gives (``from_ticks`` over :func:`quant.bus.codec_marketdata.decode_ticks`;
``encode_enriched`` over ``to_enriched``), which is also their fallback without
``quant_wire`` (``*_python``). Called by :mod:`quant.features.service` (and bench/);
they live here, not in the bus, because the bus knows only domain events.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Final, cast

import numpy as np

from quant import native
from quant.analytics.columns import (
    AGGRESSOR_VALUES,
    MAX_LEVELS,
    EnrichedColumns,
    FloatArray,
    TickColumns,
    from_ticks,
    to_enriched,
)
from quant.analytics.segments import IntArray
from quant.bus.codec_base import CodecError
from quant.bus.codec_marketdata import (
    NATIVE_MODES,
    decode_tick,
    decode_ticks_python,
    encode_enriched,
)
from quant.core.events import FeedMode, Tick

__all__ = [
    "ENRICHED_COLUMN_ENCODER",
    "TICK_COLUMN_DECODER",
    "TickCodecErrors",
    "decode_tick_columns",
    "decode_tick_columns_python",
    "encode_enriched_columns",
    "encode_enriched_columns_python",
]

# --- Tick batches as columns ------------------------------------------------------------

# (messages, max_levels, FeedMode values of wire modes 1..4) -> (keys, (12, len(messages))
# int64 matrix of which n columns are used, (n, levels, 4) int64 depth, levels, rejected)
_NativeTickColumns = Callable[
    [list[bytes], int, tuple[int, ...]],
    tuple[list[str], bytearray, bytearray, int, list[int]],
]
# (keys, 9 int64 columns, 13 float64 columns, ts_enriched) -> one message per row
_NativeEnrichedColumns = Callable[
    [list[str], list[IntArray], list[FloatArray], int],
    list[bytes],
]


_native_function = native.function


_native_tick_columns = cast(_NativeTickColumns | None, _native_function("decode_tick_columns"))
_native_enriched_columns = cast(
    _NativeEnrichedColumns | None, _native_function("encode_enriched_columns")
)

TICK_COLUMN_DECODER: Final[str] = "native" if _native_tick_columns is not None else "python"
"""Which decoder :func:`decode_tick_columns` uses first: ``"native"`` or ``"python"``."""
ENRICHED_COLUMN_ENCODER: Final[str] = "native" if _native_enriched_columns is not None else "python"
"""Which encoder :func:`encode_enriched_columns` uses: ``"native"`` or ``"python"``."""

_MODE_VALUES = tuple(int(m) for m in NATIVE_MODES)  # as decode_ticks maps wire modes 1..4
_LTPC = int(FeedMode.LTPC)
# Rows of the native int matrix: Tick fields 1..12 (mode, ts_event, ts_init, ltp, ltt_ns,
# ltq, close price, volume, atp, oi, total buy quantity, total sell quantity).
_INT_ROWS = 12
TickCodecErrors = list[tuple[int, CodecError]]


def _tick_columns(keys: list[str], ints: IntArray, depth: IntArray) -> TickColumns:
    """``TickColumns`` viewing a (12, n) matrix of Tick fields 1..12 and (n, levels, 4) depth."""
    mode = ints[0]
    return TickColumns(
        keys=keys,
        ts_event=ints[1],
        ts_init=ints[2],
        ltp=ints[3],
        ltt_ns=ints[4],
        ltq=ints[5],
        volume=ints[7],
        oi=ints[9],
        bid_price=depth[:, :, 0],
        bid_qty=depth[:, :, 1],
        ask_price=depth[:, :, 2],
        ask_qty=depth[:, :, 3],
        has_volume=mode != _LTPC,
        mode=mode,
        close_price=ints[6],
        atp=ints[8],
        total_buy_quantity=ints[10],
        total_sell_quantity=ints[11],
    )


def _merge(
    size: int,
    keys: list[str],
    ints: IntArray,
    depth: IntArray,
    rejected: list[int],
    fallback: list[tuple[int, Tick]],
    max_levels: int,
) -> tuple[list[str], IntArray, IntArray]:
    """Natively decoded rows plus the rejected messages upb decoded, in input order."""
    source = np.ones(size, dtype=np.int8)  # 1: native, 2: upb, 0: undecodable
    source[rejected] = 0
    source[[i for i, _ in fallback]] = 2
    rows = source[source != 0]
    native_at = np.flatnonzero(rows == 1)
    upb_at = np.flatnonzero(rows == 2)
    ticks = [t for _, t in fallback]
    upb = from_ticks(ticks, max_levels)  # the depth exactly as the tuple path cuts it
    upb_depth = np.stack((upb.bid_price, upb.bid_qty, upb.ask_price, upb.ask_qty), axis=-1)
    native_levels, upb_levels = depth.shape[1], upb_depth.shape[1]

    merged_ints = np.empty((_INT_ROWS, rows.size), dtype=np.int64)
    merged_ints[:, native_at] = ints
    merged_ints[:, upb_at] = np.array([t[1:13] for t in ticks], dtype=np.int64).T
    merged_depth = np.zeros((rows.size, max(native_levels, upb_levels), 4), dtype=np.int64)
    merged_depth[native_at, :native_levels] = depth
    merged_depth[upb_at, :upb_levels] = upb_depth
    native_keys, upb_keys = iter(keys), iter(upb.keys)
    merged_keys = [next(native_keys) if r == 1 else next(upb_keys) for r in rows.tolist()]
    return merged_keys, merged_ints, merged_depth


def _check_levels(max_levels: int) -> None:
    if max_levels < 0:
        raise ValueError(f"max_levels must not be negative, got {max_levels}")


def decode_tick_columns_python(
    values: Sequence[bytes], max_levels: int = MAX_LEVELS
) -> tuple[TickColumns, TickCodecErrors]:
    """:func:`decode_tick_columns` as ``from_ticks`` over :func:`decode_ticks_python`."""
    _check_levels(max_levels)
    ticks: list[Tick] = []
    errors: TickCodecErrors = []
    for i, decoded in enumerate(decode_ticks_python(values)):
        if isinstance(decoded, CodecError):
            errors.append((i, decoded))
        else:
            ticks.append(decoded)
    return from_ticks(ticks, max_levels), errors


def decode_tick_columns(
    values: Sequence[bytes], max_levels: int = MAX_LEVELS
) -> tuple[TickColumns, TickCodecErrors]:
    """Decode a batch of Tick messages into columns, plus ``(index, error)`` per bad one.

    The columns hold the decodable messages in input order and equal
    ``from_ticks([t for t in decode_ticks(values) if not isinstance(t, CodecError)],
    max_levels)``: depth has min(deepest tick, ``max_levels``) levels, zero-filled. The
    native decoder writes int64 buffers that the arrays view without copying (writable);
    a message it does not accept is decoded (or rejected) by upb, as in
    :func:`decode_ticks`. Raises ``ValueError`` for a negative ``max_levels``.
    """
    native = _native_tick_columns
    if native is None:
        return decode_tick_columns_python(values, max_levels)
    _check_levels(max_levels)
    batch = values if type(values) is list else list(values)
    keys, int_buffer, depth_buffer, levels, rejected = native(batch, max_levels, _MODE_VALUES)
    n = len(keys)
    # rows of stride len(batch) (the native decoder fills them in one pass): n are used
    ints = np.frombuffer(int_buffer, dtype=np.int64).reshape(_INT_ROWS, -1)[:, :n]
    depth = np.frombuffer(depth_buffer, dtype=np.int64).reshape(n, levels, 4)
    errors: TickCodecErrors = []
    if rejected:
        fallback: list[tuple[int, Tick]] = []
        for i in rejected:
            try:
                fallback.append((i, decode_tick(batch[i])))
            except CodecError as e:
                errors.append((i, e))
        if fallback:
            keys, ints, depth = _merge(
                len(batch), keys, ints, depth, rejected, fallback, max_levels
            )
    return _tick_columns(keys, ints, depth), errors


# --- EnrichedTick batches from columns ---------------------------------------------------

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _int64_column(a: IntArray, n: int) -> IntArray | None:
    """1-d ``a[:n]`` as C-contiguous int64, or None where ``.tolist()`` could differ."""
    kind, size = a.dtype.kind, a.dtype.itemsize
    if not (kind == "i" or (kind == "u" and size < 8)):
        return None
    return np.require(a if len(a) == n else a[:n], np.int64, ("C", "A"))


def _float64_column(a: FloatArray, n: int) -> FloatArray | None:
    """1-d ``a[:n]`` as C-contiguous float64, or None where ``.tolist()`` could differ."""
    if a.dtype.kind != "f" or a.dtype.itemsize > 8:
        return None
    return np.require(a if len(a) == n else a[:n], np.float64, ("C", "A"))


def encode_enriched_columns_python(
    ticks: TickColumns, features: EnrichedColumns, ts_enriched: int
) -> list[bytes]:
    """:func:`encode_enriched_columns` as :func:`encode_enriched` over ``to_enriched``."""
    return list(map(encode_enriched, to_enriched(ticks, features, ts_enriched)))


def encode_enriched_columns(
    ticks: TickColumns, features: EnrichedColumns, ts_enriched: int
) -> list[bytes]:
    """``EnrichedTick`` messages for a batch's columns (input order).

    Message ``i`` is byte for byte ``encode_enriched(to_enriched(ticks, features,
    ts_enriched)[i])``, encoded natively from the arrays when ``quant_wire`` is installed
    (int64 / float64 columns as they are, other int / float kinds converted first).
    Anything else goes through that per-row path, which also gives the errors of invalid
    input (an aggressor code outside -4..3, a key that is not a str, ...).
    """
    native = _native_enriched_columns
    f = features
    aggressor = f.aggressor
    if (
        native is None
        or type(ticks.keys) is not list
        or aggressor.ndim != 1
        or aggressor.dtype.kind not in "iu"
    ):
        return encode_enriched_columns_python(ticks, features, ts_enriched)
    try:
        ts = operator.index(ts_enriched)
    except TypeError:
        return encode_enriched_columns_python(ticks, features, ts_enriched)
    if not _I64_MIN <= ts <= _I64_MAX:
        return encode_enriched_columns_python(ticks, features, ts_enriched)
    int_columns = [
        ticks.ts_event, ticks.ts_init, ticks.ltp, ticks.volume, f.spread,
        AGGRESSOR_VALUES[aggressor], f.trade_quantity, f.buy_volume, f.sell_volume,
    ]  # fmt: skip
    float_columns = [
        f.session_vwap, f.rolling_vwap, f.imbalance_l1, f.imbalance_d5, f.imbalance_d30,
        f.spread_bps, f.microprice, f.trade_intensity, f.iv, f.delta, f.gamma, f.theta, f.vega,
    ]  # fmt: skip
    try:  # as they are: the native encoder takes 1-d C-contiguous int64 / float64 only
        return native(ticks.keys, int_columns, float_columns, ts)
    except (BufferError, TypeError, ValueError):
        pass  # another dtype or layout (or invalid input, which the reference reports)
    if any(c.ndim != 1 for c in (*int_columns, *float_columns)):
        return encode_enriched_columns_python(ticks, features, ts_enriched)
    # to_enriched zips the columns: the shortest one sets the batch size
    n = min(len(ticks.keys), *map(len, int_columns), *map(len, float_columns))
    ints = [_int64_column(c, n) for c in int_columns]
    floats = [_float64_column(c, n) for c in float_columns]
    if any(c is None for c in (*ints, *floats)):
        return encode_enriched_columns_python(ticks, features, ts_enriched)
    try:
        return native(ticks.keys, cast(list[IntArray], ints), cast(list[FloatArray], floats), ts)
    except (BufferError, TypeError, ValueError):
        return encode_enriched_columns_python(ticks, features, ts_enriched)
