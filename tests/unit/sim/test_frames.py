"""The hand-rolled feed encoder produces the same FeedResponse as protobuf-built messages."""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np
import pytest
from frames_reference import encode_reference
from upstox_client.feeder.proto import MarketDataFeedV3_pb2 as sdk_pb

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.sim import frames
from quant.sim.config import SimConfig
from quant.sim.market import Market
from quant.sim.master import build_universe

DAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def market() -> Market:
    cfg = SimConfig()
    clock = FakeClock(datetime_to_ns(datetime.combine(DAY, time(10, 0), tzinfo=IST)))
    m = Market(build_universe(cfg, DAY), clock, 7, cfg.calendar)
    for _ in range(5):
        clock.advance(3.0)
        m.step()
    return m


@pytest.fixture(scope="module")
def pre_open() -> Market:
    cfg = SimConfig()
    clock = FakeClock(datetime_to_ns(datetime.combine(DAY, time(9, 1), tzinfo=IST)))
    m = Market(build_universe(cfg, DAY), clock, 7, cfg.calendar)
    for _ in range(5):
        clock.advance(3.0)
        m.step()
    return m


@pytest.mark.parametrize("phase", ["open", "pre_open"])
@pytest.mark.parametrize("mode", frames.MODES)
def test_fast_encoder_matches_protobuf_oracle(
    market: Market, pre_open: Market, mode: str, phase: str
) -> None:
    m = market if phase == "open" else pre_open
    rows = np.concatenate(
        [
            np.nonzero(m.is_index)[0],
            np.arange(0, 700, 37),
            np.nonzero(m.is_fut)[0][:5],
            np.nonzero(m.is_opt)[0][::997],
        ]
    )
    fast = frames.frame(pb.live_feed, frames.encode(m, rows, mode), 123)
    ref = frames.frame(pb.live_feed, encode_reference(m, rows, mode), 123)
    got, want = pb.FeedResponse.FromString(fast), pb.FeedResponse.FromString(ref)
    assert got == want
    assert len(got.feeds) == len(rows)
    sdk = sdk_pb.FeedResponse()
    sdk.ParseFromString(fast)
    assert sdk.currentTs == 123 and len(sdk.feeds) == len(rows)
    feed = got.feeds[m.u.keys[0]]  # RELIANCE's NSE row
    union = feed.WhichOneof("FeedUnion")
    ltpc = {
        "ltpc": feed.ltpc,
        "fullFeed": feed.fullFeed.marketFF.ltpc,
        "firstLevelWithGreeks": feed.firstLevelWithGreeks.ltpc,
    }[str(union)]
    assert ltpc.HasField("iep") == (phase == "pre_open")


def test_pre_open_ltpc_carries_the_indicative_price(pre_open: Market) -> None:
    rows = np.asarray([0], dtype=np.int64)
    msg = pb.FeedResponse.FromString(
        frames.frame(pb.live_feed, frames.encode(pre_open, rows, "ltpc"), 0)
    )
    ltpc = msg.feeds[pre_open.u.keys[0]].ltpc
    assert ltpc.HasField("iep") and ltpc.iep.value == pre_open.iep[0] / 100
