"""Decoding feed frames straight into domain ticks/greeks, and building requests."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from upstox_frames import (
    TS_MS,
    full_equity_frame,
    full_option_frame,
    greeks_frame,
    index_frame,
    ltpc_frame,
    market_info_frame,
)

from quant.core.events import DepthLevel, FeedMode
from quant.core.money import to_paise
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.upstox.errors import UpstoxDecodeError
from quant.upstox.wire import FrameKind, decode_frame, encode_request


def test_full_equity_frame_becomes_one_tick_with_depth_and_ohlc() -> None:
    frame = decode_frame(full_equity_frame(), ts_init=42)
    assert frame.kind is FrameKind.LIVE
    assert frame.ts_event == TS_MS * 1_000_000
    assert frame.greeks == []
    (tick,) = frame.ticks
    assert tick.instrument_key == "NSE_EQ|INE002A01018"
    assert tick.mode is FeedMode.FULL
    assert (tick.ts_event, tick.ts_init) == (TS_MS * 1_000_000, 42)
    assert tick.ltp == 123455
    assert tick.ltt_ns == (TS_MS - 5) * 1_000_000
    assert (tick.ltq, tick.close_price, tick.volume, tick.atp) == (25, 120010, 123456, 123012)
    assert (tick.total_buy_quantity, tick.total_sell_quantity) == (5000, 6000)
    assert tick.depth[0] == DepthLevel(123450, 100, 123460, 200)
    assert tick.depth[4] == DepthLevel(123430, 104, 123480, 204)
    assert [o.interval for o in tick.ohlc] == ["1d", "I1", "I30"]
    assert tick.ohlc[0][1:] == (122000, 124050, 121025, 123455, 999, TS_MS * 1_000_000)


def test_full_option_frame_emits_tick_and_greeks() -> None:
    frame = decode_frame(full_option_frame(), ts_init=7)
    (tick,) = frame.ticks
    (greeks,) = frame.greeks
    assert tick.oi == 2_500_000
    assert greeks.instrument_key == "NSE_FO|43919"
    assert greeks.ltp == 10135
    assert (greeks.iv, greeks.delta, greeks.theta, greeks.gamma, greeks.vega, greeks.rho) == (
        0.1543, 0.52, -12.5, 0.0011, 8.2, 1.1,
    )  # fmt: skip
    assert (greeks.oi, greeks.volume, greeks.ts_init) == (2_500_000, 1_000_000, 7)


def test_ltpc_index_and_greeks_modes() -> None:
    ticks = decode_frame(ltpc_frame({"NSE_EQ|A1": 10.0, "NSE_EQ|B2": 20.05}), 0).ticks
    assert {t.instrument_key: (t.mode, t.ltp, t.close_price) for t in ticks} == {
        "NSE_EQ|A1": (FeedMode.LTPC, 1000, 900),
        "NSE_EQ|B2": (FeedMode.LTPC, 2005, 1905),
    }
    (idx,) = decode_frame(index_frame(), 0).ticks
    assert (idx.mode, idx.ltp, idx.depth, idx.ohlc[0].high) == (FeedMode.FULL, 2401235, (), 2410000)
    frame = decode_frame(greeks_frame(), 0)
    (tick,) = frame.ticks
    assert tick.mode is FeedMode.OPTION_GREEKS
    assert tick.depth == (DepthLevel(5500, 75, 5510, 50),)
    assert frame.greeks[0].delta == -0.31
    assert (frame.greeks[0].oi, frame.greeks[0].volume) == (150000, 4200)


def test_market_info_frame_reports_segment_status() -> None:
    frame = decode_frame(market_info_frame(), 0)
    assert frame.kind is FrameKind.MARKET_INFO
    assert frame.ticks == []
    assert frame.segment_status == (("NSE_EQ", "NORMAL_OPEN"), ("NSE_FO", "NORMAL_CLOSE"))


@pytest.mark.parametrize("data", [b"\xff\xff\xff", full_equity_frame()[:100], b"\x12\x05abc"])
def test_malformed_frames_raise_decode_error(data: bytes) -> None:
    with pytest.raises(UpstoxDecodeError, match="malformed feed frame"):
        decode_frame(data, 0)


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
def test_prices_round_exactly_like_to_paise(price: float) -> None:
    msg = pb.FeedResponse(type=pb.live_feed, currentTs=1)
    feed = msg.feeds["NSE_EQ|X1"]
    mff = feed.fullFeed.marketFF
    mff.ltpc.ltp = price
    mff.atp = price
    mff.marketLevel.bidAskQuote.add(bidP=price, askP=-price)
    mff.marketOHLC.ohlc.add(open=price, high=price, low=-price, close=price)
    (tick,) = decode_frame(msg.SerializeToString(), 0, None).ticks  # unchecked: any sign
    expected = to_paise(price)
    assert tick.ltp == tick.atp == tick.depth[0].bid_price == tick.ohlc[0].open == expected
    assert tick.depth[0].ask_price == tick.ohlc[0].low == to_paise(-price)


def test_encode_request_is_binary_json_with_mode() -> None:
    raw = encode_request("sub", ["NSE_INDEX|Nifty Bank"], FeedMode.FULL)
    doc = json.loads(raw)
    assert doc["method"] == "sub"
    assert doc["data"] == {"instrumentKeys": ["NSE_INDEX|Nifty Bank"], "mode": "full"}
    assert len(doc["guid"]) == 20
    assert "mode" not in json.loads(encode_request("unsub", ["NSE_EQ|A1"]))["data"]
