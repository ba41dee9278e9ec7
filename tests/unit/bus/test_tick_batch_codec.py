"""The batch tick codecs (native ``quant_wire``) against upb's per-message ones.

Differential: every outcome (the ``Tick``, or the ``CodecError`` message) of
``decode_ticks`` must equal ``decode_ticks_python`` (``decode_tick`` per message) for
generated ticks, hand-built wire edge cases and mutated/garbage bytes; ``encode_ticks``
(the ingestor's publish path) must give the bytes of ``encode_tick`` per tick.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import require
from quant.bus.codec_base import CodecError
from quant.bus.codec_marketdata import (
    TICK_BATCH_DECODER,
    TICK_BATCH_ENCODER,
    decode_tick,
    decode_ticks,
    decode_ticks_python,
    encode_tick,
    encode_ticks,
)
from quant.core.events import DepthLevel, FeedMode, FeedOhlc, Tick
from quant.pb.marketdata.v1 import marketdata_pb2

I64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@pytest.fixture
def _native_required() -> None:
    require(TICK_BATCH_DECODER == "native", "the native decoder quant_wire is not installed")


def outcomes(results: list[Tick | CodecError]) -> list[object]:
    return [repr(r) if isinstance(r, Tick) else f"CodecError: {r}" for r in results]


def assert_same(values: list[bytes]) -> list[Tick | CodecError]:
    native = decode_ticks(values)
    assert outcomes(native) == outcomes(decode_ticks_python(values))
    for got in native:  # the native tuples are real NamedTuples of the right classes
        if isinstance(got, Tick):
            assert type(got.mode) is FeedMode
            assert all(type(d) is DepthLevel for d in got.depth)
            assert all(type(o) is FeedOhlc for o in got.ohlc)
    return native


BARS = st.builds(FeedOhlc, st.text(max_size=4), I64, I64, I64, I64, I64, I64)
ticks = st.builds(
    Tick,
    st.text(max_size=30),
    st.sampled_from(list(FeedMode)),
    I64,
    I64,
    I64,
    I64,
    I64,
    I64,
    I64,
    I64,
    I64,
    I64,
    I64,
    st.lists(st.builds(DepthLevel, I64, I64, I64, I64), max_size=6).map(tuple),
    st.lists(BARS, max_size=3).map(tuple),
)


@pytest.mark.usefixtures("_native_required")
@settings(max_examples=300, deadline=None)
@given(st.lists(ticks, max_size=8))
def test_generated_ticks_decode_identically(batch: list[Tick]) -> None:
    values = [encode_tick(t) for t in batch]
    decoded = assert_same(values)
    assert decoded == batch


@pytest.mark.usefixtures("_native_required")
def test_wire_edge_cases_decode_identically() -> None:
    full = marketdata_pb2.Tick(
        instrument_key="NSE_EQ|INE002A01018", mode=2, ltp_paise=123, ts_event=5
    )
    full.depth.add(bid_price_paise=1, bid_quantity=2, ask_price_paise=3, ask_quantity=4)
    base = full.SerializeToString()
    unknown_field = marketdata_pb2.Tick.FromString(base)
    values = [
        b"",  # every field default: mode 0 is rejected
        base,
        base + base,  # scalars: last wins; depth: appended
        base + b"\xa8\x06\x07",  # unknown varint field 101
        base + b"\xaa\x06\x02ab",  # unknown length-delimited field 101
        base + b"\x10\x05",  # mode 5: unknown
        base + b"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # mode -1
        base + b"\x18\x05\x00",  # trailing zero byte: field number 0
        base + b"\x1a\x01x",  # ts_event with a length-delimited wire type
        base + b"\x0a\x02\xff\xfe",  # a key that is not UTF-8
        base[:-1],  # truncated
        b"\x72\x03\x08\x01",  # depth length past the end
        b"\x0a\x04\xf0\x9f\x93\x88\x10\x01",  # emoji key, LTPC
        unknown_field.SerializeToString(),
    ]
    assert_same(values)
    assert decode_ticks([base]) == [decode_tick(base)]


@pytest.mark.usefixtures("_native_required")
def test_mutated_and_random_bytes_decode_identically() -> None:
    rng = random.Random(20261124)
    seeds = [
        encode_tick(
            Tick(
                f"NSE_FO|{i}", FeedMode.FULL, i, i + 1, 100 * i, 5, 6, 7, 8, 9, 10, 11, 12,
                (DepthLevel(1, 2, 3, 4),) * (i % 6),
                (FeedOhlc("1d", 1, 2, 3, 4, 5, 6),) * (i % 2),
            )
        )
        for i in range(20)
    ]  # fmt: skip
    values: list[bytes] = []
    for _ in range(2000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(3)
            if op == 0 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op == 1 and data:
                del data[rng.randrange(len(data)) :]
            else:
                data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        values.append(bytes(data))
    values += [rng.randbytes(rng.randrange(40)) for _ in range(500)]
    decoded = assert_same(values)
    assert any(isinstance(d, Tick) for d in decoded)
    assert any(isinstance(d, CodecError) for d in decoded)


# --- Tick batches encoded natively (the ingestor's publish path) ---------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(ticks, max_size=12))
def test_native_batch_encode_equals_the_upb_encoder_tick_by_tick(batch: list[Tick]) -> None:
    require(TICK_BATCH_ENCODER == "native", "quant_wire (with encode_ticks) is not installed")
    assert encode_ticks(batch) == [encode_tick(t) for t in batch]


def test_a_batch_the_native_encoder_refuses_is_encoded_in_python() -> None:
    good = Tick("NSE_EQ|INE002A01018", FeedMode.FULL, 1, 2, 3, depth=(DepthLevel(1, 2, 3, 4),))
    # a depth level as a list: the native encoder wants tuples, the upb one unpacks any
    odd = good._replace(ltp=np.int64(5), depth=([5, 6, 7, 8],))  # type: ignore[list-item]
    assert encode_ticks([good, odd]) == [encode_tick(good), encode_tick(odd)]
    with pytest.raises((TypeError, ValueError)):
        encode_ticks([good._replace(ltp="5")])  # upb refuses it too
    assert encode_ticks([]) == []
    assert encode_ticks(tuple([good])) == [encode_tick(good)]
