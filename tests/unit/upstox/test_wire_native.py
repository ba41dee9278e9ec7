"""The native feed decoder (``quant_wire``) against the pure-Python (upb) decoder.

Differential, on the unchecked decoders (``bounds=None``; the checked ones are compared in
``test_wire_checks.py``): recorded conformance frames, hypothesis-generated ``FeedResponse``s (all
feed kinds, extreme and half-paise prices, duplicate map keys, unknown fields) and
randomly corrupted frames must decode identically (or fail identically) on both paths.
Malformed input (every truncation of a real frame, bad varints, lengths, wire types)
must raise ``ValueError`` from the extension, never crash. Locally the module skips when
the extension is not built; under ``CI=true`` it must be the active decoder.
"""

from __future__ import annotations

import base64
import importlib
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from upstox_frames import full_equity_frame, full_option_frame, greeks_frame, index_frame

from conftest import require
from quant.core.events import DepthLevel, FeedMode, FeedOhlc, OptionGreeks, Tick
from quant.core.money import to_paise
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.upstox import wire
from quant.upstox.errors import UpstoxDecodeError

quant_wire = importlib.import_module("quant_wire") if wire.DECODER == "native" else None
RECORDED = json.loads(
    (Path(__file__).parents[2] / "conformance" / "data" / "sim_feed_frames.json").read_text()
)
MODES = (FeedMode.LTPC, FeedMode.FULL, FeedMode.OPTION_GREEKS, FeedMode.FULL_D30)


@pytest.fixture(autouse=True)
def _native_required() -> None:
    require(wire.DECODER == "native", "the native decoder quant_wire is not installed")


def canonical(frame: wire.FeedFrame) -> str:
    """Order-free (map order is unspecified), exact (repr keeps float bits and NaN) form."""
    ticks = sorted(frame.ticks, key=lambda t: t.instrument_key)
    greeks = sorted(frame.greeks, key=lambda g: g.instrument_key)
    return repr((frame.kind, frame.ts_event, frame.ts_init, ticks, greeks, frame.segment_status))


def outcome(decode: object, data: bytes) -> str:
    try:
        return canonical(decode(data, 99, None))  # type: ignore[operator]
    except UpstoxDecodeError:
        return "UpstoxDecodeError"


def assert_same(data: bytes) -> str:
    native = outcome(wire.decode_frame_native, data)
    assert native == outcome(wire.decode_frame_python, data)
    return native


def raw(data: bytes) -> object:
    assert quant_wire is not None
    return quant_wire.decode_frame(data, 0, Tick, DepthLevel, FeedOhlc, OptionGreeks, MODES)


def test_native_is_the_active_decoder() -> None:
    assert wire.decode_frame is wire.decode_frame_native


@pytest.mark.parametrize("index", range(len(RECORDED)))
def test_recorded_frames_decode_identically(index: int) -> None:
    data = base64.b64decode(RECORDED[index]["frame"])
    assert assert_same(data) != "UpstoxDecodeError"
    frame = wire.decode_frame_native(data, 5)
    assert all(type(t) is Tick for t in frame.ticks)
    assert all(type(d) is DepthLevel for t in frame.ticks for d in t.depth)
    assert all(type(g) is OptionGreeks for g in frame.greeks)


def test_native_tuples_hash_and_compare_like_python_ones() -> None:
    for data in (full_equity_frame(), full_option_frame(), greeks_frame(), index_frame()):
        native, python = wire.decode_frame_native(data, 1), wire.decode_frame_python(data, 1)
        assert native.ticks == python.ticks and native.greeks == python.greeks
        assert [hash(t) for t in native.ticks] == [hash(t) for t in python.ticks]
        assert {*native.ticks, *python.ticks} == set(python.ticks)
        assert native.ticks[0]._replace(ltp=1).ltp == 1
        assert native.ticks[0].depth == tuple(DepthLevel(*d) for d in python.ticks[0].depth)


def test_bytes_like_input_is_accepted() -> None:
    data = full_option_frame()
    expected = canonical(wire.decode_frame_native(data, 3))
    for view in (bytearray(data), memoryview(data)):
        assert canonical(wire.decode_frame_native(view, 3)) == expected  # type: ignore[arg-type]


def test_feed_order_is_wire_order() -> None:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=1)
    for key in ("z", "a", "m"):
        msg.feeds[key].ltpc.ltp = 1.0
    ticks = wire.decode_frame_native(msg.SerializeToString(), 0).ticks
    assert sorted(t.instrument_key for t in ticks) == ["a", "m", "z"]


@pytest.mark.parametrize(
    "rupees",
    [0.0, -0.0, 0.005, -0.005, 1.005, -1.005, 2.675, -2.675, 0.125, -0.125, 1234.555,
     -1234.555, 1e-9, -1e-9, 92233720368547.75, 1e17, -1e17, 1.7e306, -1.7e306, 5e-324],
)  # fmt: skip
def test_price_rounding_matches_to_paise(rupees: float) -> None:
    msg = pb.FeedResponse(type=pb.live_feed)
    msg.feeds["k"].ltpc.ltp = rupees
    msg.feeds["k"].ltpc.cp = -rupees
    (tick,) = wire.decode_frame_native(msg.SerializeToString(), 0, None).ticks
    assert (tick.ltp, tick.close_price) == (to_paise(rupees), to_paise(-rupees))
    assert type(tick.ltp) is int


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e307])
def test_non_finite_prices_are_decode_errors_on_both_paths(bad: float) -> None:
    msg = pb.FeedResponse(type=pb.live_feed)
    msg.feeds["k"].fullFeed.marketFF.atp = bad
    assert assert_same(msg.SerializeToString()) == "UpstoxDecodeError"


@pytest.mark.parametrize(
    "data",
    [
        b"\x08",  # truncated varint (type)
        b"\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # varint longer than 10 bytes
        b"\x12\x05ab",  # length past the end
        b"\x12\x03\x12\x01",  # nested length past the end of its parent
        b"\x0f",  # wire type 7
        b"\x0e\x00",  # wire type 6
        b"\x00\x00",  # field number 0
        b"\x0c",  # end-group without a start
        b"\x0b\x08\x01",  # unterminated group
        b"\x0b\x14",  # mismatched end-group
        b"\x11\x01\x02",  # truncated fixed64
        b"\x15\x01",  # truncated fixed32
        b"\x12\x04\x0a\x02\xc3\x28",  # map key not UTF-8
    ],
)
def test_malformed_input_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="malformed feed frame"):
        raw(data)
    assert assert_same(data) == "UpstoxDecodeError"


def test_every_truncation_of_a_real_frame_raises_or_matches_upb() -> None:
    for data in (full_equity_frame(), full_option_frame(), base64.b64decode(RECORDED[-1]["frame"])):
        raised = 0
        for cut in range(len(data)):
            prefix = data[:cut]
            try:
                raw(prefix)
                failed = False
            except ValueError:
                failed = True
            raised += failed
            assert (assert_same(prefix) == "UpstoxDecodeError") is failed
        # Only cuts at a top-level field boundary (at most one per field) are valid.
        top_level_fields = len(pb.FeedResponse.FromString(data).feeds) + 3
        assert raised >= len(data) - top_level_fields


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = b"\xc8\x06\x05" + b"\xc9\x06" + bytes(8) + b"\xca\x06\x02ab" + b"\xcd\x06" + bytes(4)
    unknown += b"\xcb\x06\x08\x01\xcc\x06"  # a group (field 105) holding a varint
    for data in (full_equity_frame(), greeks_frame(), index_frame()):
        base = canonical(wire.decode_frame_native(data, 99, None))
        assert assert_same(data + unknown) == base
        assert base != "UpstoxDecodeError"


def test_a_map_entry_with_an_unknown_field_is_dropped_like_upb() -> None:
    feed = pb.Feed()
    feed.ltpc.cp = 5.0
    value = feed.SerializeToString()
    entry = b"\x0a\x01k\x12" + bytes([len(value)]) + value
    plain = b"\x12" + bytes([len(entry)]) + entry
    with_unknown = b"\x12" + bytes([len(entry) + 2]) + entry + b"\x28\x01"
    assert len(wire.decode_frame_native(plain, 0, None).ticks) == 1
    assert wire.decode_frame_native(with_unknown, 0, None).ticks == []
    assert_same(plain + with_unknown)
    assert_same(with_unknown + plain)


def test_wrong_wire_type_on_a_known_field_is_treated_as_unknown() -> None:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=7)
    msg.feeds["k"].ltpc.ltp = 1.5
    data = msg.SerializeToString() + b"\x1a\x01x"  # currentTs (3) as length-delimited
    assert assert_same(data) != "UpstoxDecodeError"


def _len_delimited(tag: bytes, body: bytes) -> bytes:
    out = bytearray()
    n = len(body)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return tag + bytes(out) + body


@pytest.mark.parametrize("levels", [96, 97, 98, 100, 101])
def test_nested_unknown_groups_hit_the_same_depth_limit_as_upb(levels: int) -> None:
    groups = b"\xcb\x06" * levels + b"\xcc\x06" * levels  # field 105 start/end group
    feed = _len_delimited(b"\x0a", groups)  # inside Feed.ltpc, 3 messages down
    frame = _len_delimited(b"\x12", b"\x0a\x01k" + _len_delimited(b"\x12", feed))
    assert_same(groups)
    assert_same(frame)


prices = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
    st.integers(-(10**9), 10**9).map(lambda k: k / 200),
    st.sampled_from([0.0, -0.0, 0.005, -0.005, 2.675, 1e17, math.nan]),
)
any_float = st.floats(allow_nan=True, allow_infinity=True)
i64 = st.integers(-(2**63), 2**63 - 1)


def fill_ltpc(m: pb.LTPC, d: st.DataObject) -> None:
    m.ltp, m.cp = d.draw(prices), d.draw(prices)
    m.ltt, m.ltq = d.draw(i64), d.draw(i64)
    if d.draw(st.booleans()):
        m.iep.value = d.draw(any_float)


def fill_quote(q: pb.Quote, d: st.DataObject) -> None:
    q.bidP, q.askP = d.draw(prices), d.draw(prices)
    q.bidQ, q.askQ = d.draw(i64), d.draw(i64)


def fill_greeks(g: pb.OptionGreeks, d: st.DataObject) -> None:
    g.delta, g.theta, g.gamma, g.vega, g.rho = (d.draw(any_float) for _ in range(5))


def fill_ohlc(m: pb.MarketOHLC, d: st.DataObject) -> None:
    for _ in range(d.draw(st.integers(0, 3))):
        m.ohlc.add(
            interval=d.draw(st.text(max_size=4)),
            open=d.draw(prices),
            high=d.draw(prices),
            low=d.draw(prices),
            close=d.draw(prices),
            vol=d.draw(i64),
            ts=d.draw(i64),
        )


def fill_feed(feed: pb.Feed, d: st.DataObject) -> None:
    feed.requestMode = d.draw(st.integers(-2, 6))  # type: ignore[assignment]
    kind = d.draw(st.sampled_from(["none", "ltpc", "market", "index", "unset_full", "first"]))
    if kind == "ltpc":
        fill_ltpc(feed.ltpc, d)
    elif kind == "market":
        m = feed.fullFeed.marketFF
        fill_ltpc(m.ltpc, d)
        for _ in range(d.draw(st.integers(0, 5))):
            fill_quote(m.marketLevel.bidAskQuote.add(), d)
        if d.draw(st.booleans()):
            fill_greeks(m.optionGreeks, d)
        fill_ohlc(m.marketOHLC, d)
        m.atp, m.oi, m.tbq, m.tsq = (d.draw(prices) for _ in range(4))
        m.iv, m.rp = d.draw(any_float), d.draw(any_float)
        m.vtt, m.iiqTotal = d.draw(i64), d.draw(i64)
        m.casEligible = d.draw(st.booleans())
    elif kind == "index":
        fill_ltpc(feed.fullFeed.indexFF.ltpc, d)
        fill_ohlc(feed.fullFeed.indexFF.marketOHLC, d)
    elif kind == "unset_full":
        feed.fullFeed.SetInParent()
    elif kind == "first":
        f = feed.firstLevelWithGreeks
        fill_ltpc(f.ltpc, d)
        fill_quote(f.firstDepth, d)
        fill_greeks(f.optionGreeks, d)
        f.vtt, f.oi, f.iv = d.draw(i64), d.draw(prices), d.draw(any_float)


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    d = draw(st.data())
    msg = pb.FeedResponse(type=draw(st.integers(0, 3)), currentTs=draw(i64))  # type: ignore[arg-type]
    for key in draw(st.lists(st.text(max_size=12), max_size=4, unique=True)):
        fill_feed(msg.feeds[key], d)
    if draw(st.booleans()):
        for seg in draw(st.lists(st.text(max_size=6), max_size=3)):
            msg.marketInfo.segmentStatus[seg] = draw(st.integers(0, 7))  # type: ignore[assignment]
        msg.marketInfo.casMarketStatus["x"].status = draw(st.text(max_size=3))
    data = msg.SerializeToString()
    if draw(st.booleans()) and msg.feeds:  # a repeated map entry: the last one wins
        extra = pb.FeedResponse()
        fill_feed(extra.feeds[next(iter(msg.feeds))], d)
        data += extra.SerializeToString()
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_generated_frames_decode_identically(data: bytes) -> None:
    assert_same(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([full_equity_frame(), full_option_frame(), greeks_frame(), index_frame()]),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_corrupted_frames_fail_or_decode_identically(
    data: bytes, edits: list[tuple[int, int]]
) -> None:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    assert_same(bytes(buf))
