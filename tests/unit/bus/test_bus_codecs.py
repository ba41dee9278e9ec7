"""Codecs: every bus event survives encode -> decode unchanged; bad bytes raise CodecError."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant.bus import codecs, topics
from quant.core.control import KillSwitch, SubscriptionAction, SubscriptionRequest
from quant.core.events import (
    AggressorSide,
    Candle,
    DepthLevel,
    EnrichedTick,
    FeedMode,
    FeedOhlc,
    OptionGreeks,
    ScannerSuggestion,
    Tick,
)
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.pb.marketdata.v1 import marketdata_pb2

i64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
u63 = st.integers(min_value=0, max_value=2**63 - 1)
i32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
text = st.text(max_size=30)
floats = st.floats(allow_nan=False)
keys = st.sampled_from(["NSE_EQ|INE002A01018", "NSE_FO|45450", "NSE_INDEX|Nifty 50"])

depth = st.builds(DepthLevel, i64, i64, i64, i64)
ohlc = st.builds(FeedOhlc, st.sampled_from(["1d", "I1", "I30"]), i64, i64, i64, i64, i64, i64)
ticks = st.builds(
    Tick,
    keys,
    st.sampled_from(FeedMode),
    u63,
    u63,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    st.lists(depth, max_size=30).map(tuple),
    st.lists(ohlc, max_size=3).map(tuple),
)
greeks = st.builds(
    OptionGreeks, keys, u63, u63, i64, floats, floats, floats, floats, floats, floats, i64, i64
)
enriched = st.builds(
    EnrichedTick,
    keys,
    u63,
    u63,
    i64,
    i64,
    floats,
    floats,
    floats,
    floats,
    floats,
    i64,
    floats,
    floats,
    st.sampled_from(AggressorSide),
    i64,
    i64,
    i64,
    floats,
    u63,
    floats,
    floats,
    floats,
    floats,
    floats,
)
candles = st.builds(Candle, keys, i32, u63, i64, i64, i64, i64, i64, i64, i64)
suggestions = st.builds(
    ScannerSuggestion,
    keys,
    text,
    u63,
    i32,
    floats,
    st.lists(text, max_size=4).map(tuple),
    i64,
    st.sampled_from(FeedMode),
    st.lists(st.tuples(text, floats), max_size=8).map(tuple),
)
orders = st.builds(
    OrderEvent,
    client_order_id=text,
    instrument_key=keys,
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    quantity=i64,
    status=st.sampled_from(OrderStatus),
    ts_event=u63,
    ts_init=u63,
    broker_order_id=text,
    product=st.sampled_from(["I", "D"]),
    validity=st.sampled_from(["DAY", "IOC"]),
    price=i64,
    trigger_price=i64,
    filled_quantity=i64,
    filled_value=i64,
    message=text,
    strategy=text,
    mode=st.sampled_from(["paper", "live"]),
)
controls = st.one_of(
    st.builds(
        SubscriptionRequest,
        st.sampled_from(SubscriptionAction),
        st.lists(keys, max_size=5).map(tuple),
        st.sampled_from(FeedMode),
        text,
        u63,
    ),
    st.builds(KillSwitch, st.booleans(), st.booleans(), text, text, u63),
)


@pytest.mark.parametrize(
    ("codec", "strategy"),
    [
        (codecs.TICK_CODEC, ticks),
        (codecs.GREEKS_CODEC, greeks),
        (codecs.ENRICHED_CODEC, enriched),
        (codecs.CANDLE_CODEC, candles),
        (codecs.SUGGESTION_CODEC, suggestions),
        (codecs.ORDER_CODEC, orders),
        (codecs.CONTROL_CODEC, controls),
    ],
    ids=["tick", "greeks", "enriched", "candle", "suggestion", "order", "control"],
)
def test_every_event_round_trips_through_its_codec(codec: Any, strategy: Any) -> None:
    @given(strategy)
    def check(event: Any) -> None:
        data = codec.encode(event)
        assert isinstance(data, bytes)
        decoded = codec.decode(data)
        assert decoded == event
        assert type(decoded) is type(event)

    check()


def test_enriched_tick_keeps_nan_greeks_for_equities() -> None:
    e = EnrichedTick(
        "NSE_EQ|INE002A01018", 1, 2, 100, 5, 1.0, 1.0, 0.1, 0.2, 0.3, 5, 2.0, 100.5,
        AggressorSide.BUY, 1, 1, 0, 0.5, 3,
    )  # fmt: skip
    out = codecs.decode_enriched(codecs.encode_enriched(e))
    assert math.isnan(out.iv) and math.isnan(out.vega)
    assert out.aggressor is AggressorSide.BUY


def test_suggestion_keeps_signal_order_and_nan_values() -> None:
    signals = (("orb", 1.5), ("high_dist", -0.004), ("rel_volume", math.nan), ("gap", 0.0))
    s = ScannerSuggestion("NSE_EQ|X", "X", 5, 1, 2.25, ("r1", "r2"), 12345, FeedMode.FULL, signals)
    out = codecs.decode_suggestion(codecs.encode_suggestion(s))
    assert [name for name, _ in out.signals] == ["orb", "high_dist", "rel_volume", "gap"]
    assert out.signals[0] == ("orb", 1.5) and out.signals[1] == ("high_dist", -0.004)
    assert math.isnan(out.signals[2][1])
    assert out._replace(signals=()) == s._replace(signals=())


def test_decoded_enums_are_domain_enums() -> None:
    t = Tick("NSE_EQ|INE002A01018", FeedMode.LTPC, 1, 2, 24505)
    assert codecs.decode_tick(codecs.encode_tick(t)).mode is FeedMode.LTPC


def test_garbage_bytes_raise_codec_error() -> None:
    with pytest.raises(codecs.CodecError):
        codecs.decode_tick(b"\xff\xff\xff")


def test_unspecified_enum_on_the_wire_is_rejected() -> None:
    raw = marketdata_pb2.Tick(instrument_key="NSE_EQ|X", ltp_paise=1).SerializeToString()
    with pytest.raises(codecs.CodecError, match="feed mode"):
        codecs.decode_tick(raw)


def test_control_event_without_payload_is_rejected() -> None:
    with pytest.raises(codecs.CodecError, match="no payload"):
        codecs.decode_control(b"")


def test_every_registered_topic_has_a_codec() -> None:
    assert set(codecs.CODEC_FOR_TOPIC) == {t.name for t in topics.ALL_TOPICS}


def test_tick_with_five_depth_levels_is_about_two_hundred_bytes() -> None:
    t = Tick(
        "NSE_EQ|INE002A01018", FeedMode.FULL, 1_764_000_000_000_000_000,
        1_764_000_000_000_100_000, 245050, 1_764_000_000_000_000_000, 10, 244000, 1234567,
        244900, 0, 5000, 6000,
        tuple(DepthLevel(245000 - 5 * i, 100 + i, 245050 + 5 * i, 200 + i) for i in range(5)),
    )  # fmt: skip
    assert 120 <= len(codecs.encode_tick(t)) <= 260
