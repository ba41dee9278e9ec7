"""The columnar tick codecs against the tuple path they replace.

``decode_tick_columns`` must equal ``from_ticks`` over the decodable results of
``decode_ticks_python`` (upb, one message at a time) with the same ``(index, CodecError)``
list, and ``encode_enriched_columns`` must give, per row, the bytes of ``encode_enriched``
over ``to_enriched``. Both are run natively (``quant_wire``) and with the native functions
removed (the pure-Python fallback), on generated batches (every feed mode, 0..35 depth
levels, OHLC bars, extreme ints, unicode keys, arbitrary double bit patterns), malformed
messages in the middle of a batch, empty batches and non-finite / signed-zero features.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import quant.features.codec_columns as cm
from conftest import require
from quant.analytics.columns import EnrichedColumns, TickColumns, from_ticks, to_enriched
from quant.bus.codec_base import CodecError
from quant.bus.codec_marketdata import (
    decode_enriched,
    decode_ticks_python,
    encode_enriched,
    encode_tick,
)
from quant.core.events import AggressorSide, DepthLevel, FeedMode, FeedOhlc, Tick
from quant.features.codec_columns import decode_tick_columns, encode_enriched_columns

PATHS = ("native", "python")
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
EDGES = (0, 1, -1, 2, 127, 128, -128, I64_MAX, I64_MIN, 10**12, -(10**12))
I64 = st.one_of(st.sampled_from(EDGES), st.integers(min_value=I64_MIN, max_value=I64_MAX))


@contextmanager
def path(name: str) -> Iterator[None]:
    """Run with the native column codecs (required) or with them removed."""
    if name == "native":
        require(
            cm.TICK_COLUMN_DECODER == "native" and cm.ENRICHED_COLUMN_ENCODER == "native",
            "the native codec quant_wire (with the column codecs) is not installed",
        )
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cm, "_native_tick_columns", None)
        mp.setattr(cm, "_native_enriched_columns", None)
        yield


# --- references --------------------------------------------------------------------------


def reference(values: Sequence[Any], max_levels: int) -> tuple[TickColumns, list[tuple[int, str]]]:
    decoded = decode_ticks_python(values)
    ticks = [t for t in decoded if not isinstance(t, CodecError)]
    errors = [(i, str(e)) for i, e in enumerate(decoded) if isinstance(e, CodecError)]
    return from_ticks(ticks, max_levels), errors


def assert_columns_equal(got: TickColumns, want: TickColumns) -> None:
    assert type(got.keys) is list
    assert got.keys == want.keys
    assert all(type(k) is str for k in got.keys)
    for name in TickColumns._fields[1:]:
        a, b = getattr(got, name), getattr(want, name)
        assert a is not None, name
        assert b is not None, name
        assert (a.dtype, a.shape) == (b.dtype, b.shape), name
        assert np.array_equal(a, b), name


def assert_decodes_like_tuples(values: Sequence[Any], max_levels: int = 30) -> TickColumns:
    columns, errors = decode_tick_columns(values, max_levels)
    want, want_errors = reference(values, max_levels)
    assert_columns_equal(columns, want)
    assert all(type(e) is CodecError for _, e in errors)
    assert [(i, str(e)) for i, e in errors] == want_errors
    return columns


# --- generated ticks ---------------------------------------------------------------------


def make_depth(size: int, rnd: random.Random) -> tuple[DepthLevel, ...]:
    def value() -> int:
        if rnd.random() < 0.3:
            return rnd.choice(EDGES)
        return rnd.randint(I64_MIN, I64_MAX) if rnd.random() < 0.3 else rnd.randint(0, 10**7)

    return tuple(DepthLevel(value(), value(), value(), value()) for _ in range(size))


DEPTHS = st.builds(make_depth, st.integers(0, 35), st.randoms(use_true_random=False))
BARS = st.lists(
    st.builds(
        FeedOhlc, st.sampled_from(["1d", "I1", "I30", "", "é"]), I64, I64, I64, I64, I64, I64
    ),
    max_size=3,
).map(tuple)
KEYS = st.one_of(
    st.sampled_from(["NSE_EQ|INE002A01018", "NSE_FO|12345", "", "BSE|📈"]), st.text(max_size=12)
)
TICKS = st.builds(
    Tick, KEYS, st.sampled_from(list(FeedMode)),
    I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, DEPTHS, BARS,
)  # fmt: skip
ENCODED = TICKS.map(encode_tick)


def _varint(v: int) -> bytes:
    v &= 2**64 - 1
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


MESSAGES = st.one_of(
    ENCODED,
    ENCODED,
    # the native reader refuses these; upb decodes them (a known field with another wire
    # type is an unknown field to upb) or raises: either way the upb result must be kept
    ENCODED.map(lambda b: b + b"\x1a\x01x"),
    ENCODED.map(bytearray),
    # an invalid feed mode: CodecError from upb's path
    st.tuples(ENCODED, st.sampled_from([0, 5, -1, 2**31])).map(
        lambda p: p[0] + b"\x10" + _varint(p[1])
    ),
    st.tuples(ENCODED, st.integers(1, 40)).map(lambda p: p[0][: -p[1]]),  # truncated
    st.binary(max_size=24),  # garbage
)


@pytest.mark.parametrize("which", PATHS)
@settings(max_examples=150, deadline=None)
@given(batch=st.lists(MESSAGES, max_size=10), max_levels=st.integers(0, 40))
def test_generated_batches_decode_like_the_tuple_path(
    which: str, batch: list[Any], max_levels: int
) -> None:
    with path(which):
        assert_decodes_like_tuples(batch, max_levels)


@pytest.mark.parametrize("which", PATHS)
@settings(max_examples=100, deadline=None)
@given(ticks=st.lists(TICKS, max_size=8))
def test_well_formed_ticks_round_trip(which: str, ticks: list[Tick]) -> None:
    with path(which):
        columns, errors = decode_tick_columns([encode_tick(t) for t in ticks])
    assert errors == []
    assert_columns_equal(columns, from_ticks(ticks))


# --- hand-built batches ------------------------------------------------------------------


def tick(key: str, mode: FeedMode, levels: int, *, seed: int = 0) -> Tick:
    depth = tuple(DepthLevel(100 + seed + j, 10 + j, 200 + seed + j, 20 + j) for j in range(levels))
    bars = (FeedOhlc("1d", 1, 2, 3, 4, 5, 6),) if levels % 2 else ()
    return Tick(
        key, mode, 10 + seed, 20 + seed, 30 + seed, 40, 50, 60 + seed, 70 + seed, 80 + seed,
        90, 100 + seed, 110 + seed, depth, bars,
    )  # fmt: skip


@pytest.mark.parametrize("which", PATHS)
def test_malformed_messages_mid_batch(which: str) -> None:
    good = [tick(f"NSE_EQ|{i}", mode, i % 4, seed=i) for i, mode in enumerate(FeedMode)]
    wide = encode_tick(tick("wide", FeedMode.FULL_D30, 7, seed=9)) + b"\x1a\x01x"
    values: list[Any] = [
        encode_tick(good[0]),
        encode_tick(good[1])[:-3],  # truncated
        b"\xff\xff\xff",  # garbage
        encode_tick(good[2]),
        wide,  # refused natively, decoded by upb, and deeper than every other tick
        b"",  # mode 0
        encode_tick(good[3]) + b"\x10\x05",  # mode 5
        bytearray(encode_tick(good[0])),  # not bytes: upb decodes it
        encode_tick(good[3]),
    ]
    with path(which):
        columns, errors = decode_tick_columns(values, max_levels=5)
        assert_decodes_like_tuples(values, max_levels=5)
        assert_decodes_like_tuples(values, max_levels=30)
        assert_decodes_like_tuples(tuple(values), max_levels=2)  # any sequence
    assert [i for i, _ in errors] == [1, 2, 5, 6]
    assert "invalid feed mode 0" in str(errors[2][1])
    assert columns.keys == ["NSE_EQ|0", "NSE_EQ|2", "wide", "NSE_EQ|0", "NSE_EQ|3"]
    assert columns.bid_price.shape == (5, 5)  # the upb-decoded row widened the depth
    assert columns.bid_price[2].tolist() == [109, 110, 111, 112, 113]
    assert columns.bid_price[1].tolist() == [102, 103, 0, 0, 0]  # zero-filled
    assert columns.mode.tolist() == [1, 3, 4, 1, 4]  # type: ignore[union-attr]
    assert columns.has_volume.tolist() == [False, True, True, False, True]  # type: ignore[union-attr]
    assert columns.close_price.tolist() == [60, 62, 69, 60, 63]  # type: ignore[union-attr]


@pytest.mark.parametrize("which", PATHS)
def test_only_undecodable_messages(which: str) -> None:
    with path(which):
        columns = assert_decodes_like_tuples([b"\xff", b"", b"\x0a\x05ab"])
    assert columns.keys == []
    assert columns.bid_price.shape == (0, 0)


@pytest.mark.parametrize("which", PATHS)
def test_empty_batch(which: str) -> None:
    with path(which):
        columns, errors = decode_tick_columns([])
        assert_decodes_like_tuples([])
    assert errors == []
    assert columns.ltp.shape == (0,)
    assert columns.ask_qty.shape == (0, 0)
    assert columns.has_volume is not None and columns.has_volume.dtype == np.bool_


@pytest.mark.parametrize("which", PATHS)
def test_depth_levels_are_capped_and_zero_filled(which: str) -> None:
    values = [encode_tick(tick("a", FeedMode.FULL, n, seed=n)) for n in (3, 0, 35, 1)]
    with path(which):
        for max_levels in (0, 1, 3, 30, 35, 50):
            columns = assert_decodes_like_tuples(values, max_levels)
            assert columns.bid_qty.shape == (4, min(35, max_levels))
        flat = assert_decodes_like_tuples(
            [encode_tick(tick("b", FeedMode.LTPC, 0))] * 3
        )  # no depth at all
        assert flat.bid_price.shape == (3, 0)
        with pytest.raises(ValueError, match="max_levels"):
            decode_tick_columns(values, -1)


def test_native_columns_are_writable_int64_views() -> None:
    values = [encode_tick(tick(str(i), FeedMode.FULL, 5, seed=i)) for i in range(4)]
    with path("native"):
        columns, _ = decode_tick_columns(values)
    for name in TickColumns._fields[1:]:
        array = getattr(columns, name)
        assert array.flags.writeable, name
        assert array.dtype == (np.bool_ if name == "has_volume" else np.int64), name
    columns.ltp[0] = 7  # the engine may treat its columns as its own
    assert columns.ltp.base is not None  # a view of the native buffer, not a copy


# --- EnrichedTick from columns -----------------------------------------------------------


def from_bits(bits: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return value


SPECIAL = (
    0.0, -0.0, float("nan"), -float("nan"), float("inf"), -float("inf"), 5e-324, -5e-324,
    from_bits(0x7FF0000000000001), from_bits(0xFFF8000000000123), 1.5, -1e300,
)  # fmt: skip
FLOATS = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(0, 2**64 - 1).map(from_bits),  # every bit pattern: NaN payloads, subnormals
)
INT_FIELDS = ("spread", "aggressor", "trade_quantity", "buy_volume", "sell_volume")
FLOAT_FIELDS = tuple(n for n in EnrichedColumns._fields if n not in INT_FIELDS)


@st.composite
def features_for(draw: st.DrawFn, n: int) -> EnrichedColumns:
    values: dict[str, Any] = {}
    for name in EnrichedColumns._fields:
        if name == "aggressor":  # the engine's codes 0..3; negatives index from the end
            codes = draw(st.lists(st.integers(-4, 3), min_size=n, max_size=n))
            values[name] = np.array(codes, dtype=np.int64)
        elif name in FLOAT_FIELDS:
            column = draw(st.lists(FLOATS, min_size=n, max_size=n))
            values[name] = np.array(column, dtype=np.float64)
        else:
            values[name] = np.array(draw(st.lists(I64, min_size=n, max_size=n)), dtype=np.int64)
    return EnrichedColumns(**values)


def reference_enriched(ticks: TickColumns, features: EnrichedColumns, ts: int) -> list[bytes]:
    return [encode_enriched(e) for e in to_enriched(ticks, features, ts)]


@pytest.mark.parametrize("which", PATHS)
@settings(max_examples=150, deadline=None)
@given(data=st.data(), ticks=st.lists(TICKS, max_size=8), ts=I64)
def test_enriched_encodes_like_the_tuple_path(
    which: str, data: st.DataObject, ticks: list[Tick], ts: int
) -> None:
    features = data.draw(features_for(len(ticks)))
    with path(which):
        columns, _ = decode_tick_columns([encode_tick(t) for t in ticks])
        got = encode_enriched_columns(columns, features, ts)
        from_tuples = encode_enriched_columns(from_ticks(ticks), features, ts)
    want = reference_enriched(columns, features, ts)
    assert got == want
    assert from_tuples == want
    assert all(type(b) is bytes for b in got)


def batch(n: int) -> TickColumns:
    ticks = [tick(k, FeedMode.FULL, 2, seed=i) for i, k in enumerate(["a", "", "ü", "NSE|x"])]
    return from_ticks((ticks * n)[:n])


def features_of(n: int, value: float, aggressor: int = 1) -> EnrichedColumns:
    f = np.full(n, value, dtype=np.float64)
    i = np.arange(n, dtype=np.int64) - 1
    sides = np.full(n, aggressor, dtype=np.int64)
    return EnrichedColumns(f, f, f, f, f, i, f, f, sides, i, i, i, f, f, f, f, f, f)


def varied(n: int) -> EnrichedColumns:
    """Features that differ in every row and column (so a shuffled or shifted one shows)."""
    rows = np.arange(n)
    columns: list[Any] = [
        (rows * 7 - 3 * j).astype(np.int64) % 4
        if name == "aggressor"
        else (rows * 1000 - 17 * j).astype(np.int64)
        if name in INT_FIELDS
        else rows * 1.25 + j / 3 - 2
        for j, name in enumerate(EnrichedColumns._fields)
    ]
    return EnrichedColumns(*columns)


@pytest.mark.parametrize("which", PATHS)
@pytest.mark.parametrize("value", SPECIAL, ids=[struct.pack("<d", v).hex() for v in SPECIAL])
def test_special_doubles(which: str, value: float) -> None:
    ticks, features = batch(4), features_of(4, value)
    with path(which):
        got = encode_enriched_columns(ticks, features, 123)
    assert got == reference_enriched(ticks, features, 123)
    bits = struct.pack("<d", value)
    # upb omits a double only when all its bits are zero: -0.0 and every NaN are written
    assert (b"\x31" + bits in got[0]) == (bits != bytes(8))


@pytest.mark.parametrize("which", PATHS)
def test_empty_and_default_rows(which: str) -> None:
    empty = from_ticks([])
    empties: list[Any] = [np.zeros(0, dtype=a.dtype) for a in features_of(0, 0.0)]
    zero = EnrichedColumns(*empties)
    blank = from_ticks([Tick("", FeedMode.LTPC, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (), ())])
    with path(which):
        assert encode_enriched_columns(empty, zero, 5) == []
        defaults = features_of(1, 0.0, aggressor=0)._replace(spread=np.zeros(1, np.int64))
        defaults = defaults._replace(trade_quantity=defaults.spread)
        got = encode_enriched_columns(blank, defaults, 0)
    # only the aggressor (NONE = 3, never the enum default) and the -1 volumes remain
    assert got == reference_enriched(blank, defaults, 0)
    assert got[0].startswith(b"\x70\x03")


def unaligned(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out = np.frombuffer(b"\0" + a.tobytes(), dtype=a.dtype, offset=1)
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("which", PATHS)
def test_other_dtypes_and_layouts_encode_identically(which: str) -> None:
    n = 6
    wide = batch(2 * n)
    strided = wide._replace(
        keys=wide.keys[::2], ts_event=wide.ts_event[::2], ts_init=wide.ts_init[::2],
        ltp=wide.ltp[::2], volume=wide.volume[::2],
    )  # fmt: skip
    base = varied(n)
    ints_as_floats: Any = np.arange(n, dtype=np.int64)  # .tolist() gives ints: still doubles
    variants = {
        "strided": (strided, base),
        "int32/float32": (
            batch(n),
            base._replace(
                spread=base.spread.astype(np.int32),
                microprice=base.microprice.astype(np.float32) / 3,
                aggressor=np.array([0, 1, 2, 3, -1, -4], dtype=np.int8),
            ),
        ),
        "uint64": (batch(n), base._replace(buy_volume=np.arange(n, dtype=np.uint64))),
        "unaligned": (batch(n), base._replace(delta=unaligned(base.delta))),
        "read-only": (batch(n), base._replace(gamma=np.frombuffer(base.gamma.tobytes()))),
        "int columns as floats": (batch(n), base._replace(iv=ints_as_floats)),
        "a short feature column": (batch(n), base._replace(vega=base.vega[:4])),
        "short keys": (batch(n)._replace(keys=batch(n).keys[:3]), base),
    }
    for name, (ticks, features) in variants.items():
        with path(which):
            got = encode_enriched_columns(ticks, features, 99)
        assert got == reference_enriched(ticks, features, 99), name


def test_native_encoder_takes_the_ordinary_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid int / float columns must not silently go through the per-row fallback."""

    def no_fallback(*args: object) -> list[bytes]:
        raise AssertionError("fell back to the per-row encoder")

    ticks, features = batch(5), varied(5)._replace(delta=np.full(5, -0.0))
    want = reference_enriched(ticks, features, 1)
    with path("native"):
        monkeypatch.setattr(cm, "encode_enriched_columns_python", no_fallback)
        assert encode_enriched_columns(ticks, features, 1) == want
        int32 = features._replace(spread=features.spread.astype(np.int32))
        assert encode_enriched_columns(ticks, int32, 1) == reference_enriched(ticks, int32, 1)
        columns, _ = decode_tick_columns([encode_tick(tick("k", FeedMode.FULL, 1))] * 5)
        assert encode_enriched_columns(columns, features, 1) == reference_enriched(
            columns, features, 1
        )


@pytest.mark.parametrize("which", PATHS)
def test_invalid_input_fails_like_the_tuple_path(which: str) -> None:
    ticks, features = batch(3), features_of(3, 1.0)
    cases: list[tuple[TickColumns, EnrichedColumns, int]] = [
        (ticks, features._replace(aggressor=np.array([0, 4, 1])), 1),  # no such side
        (ticks._replace(keys=["a", 5, "c"]), features, 1),  # type: ignore[list-item]
        (ticks._replace(keys=["a", "\ud800", "c"]), features, 1),  # not encodable
        (ticks, features, 2**63),  # ts_enriched out of int64
        (ticks, features._replace(spread=features.spread.astype(np.float64)), 1),
        (ticks, features._replace(iv=np.zeros((3, 2))), 1),  # a 2-d column
    ]
    for t, f, ts in cases:
        with pytest.raises(Exception) as want:
            reference_enriched(t, f, ts)
        with path(which), pytest.raises(want.type):
            encode_enriched_columns(t, f, ts)


@pytest.mark.parametrize("which", PATHS)
def test_encoded_enriched_ticks_decode_back(which: str) -> None:
    ticks, features = batch(4), features_of(4, 0.25, aggressor=2)
    with path(which):
        values = encode_enriched_columns(ticks, features, 42)
    decoded = [decode_enriched(v) for v in values]
    assert decoded == to_enriched(ticks, features, 42)
    assert decoded[0].aggressor is AggressorSide.SELL
    assert [d.instrument_key for d in decoded] == ["a", "", "ü", "NSE|x"]
