"""The generated protobuf code under services/quant/pb must match proto/."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_protobuf_code_matches_proto_sources() -> None:
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_proto"] = module
    spec.loader.exec_module(module)
    assert module.drift() == []


def test_upstox_feed_schema_loads_beside_the_official_sdk() -> None:
    # Both descriptors must coexist in the default pool (the SDK's known clash).
    from upstox_client.feeder.proto import MarketDataFeedV3_pb2 as sdk_pb

    from quant.pb.upstox.v3 import market_data_feed_pb2 as ours

    ours_msg = ours.FeedResponse()
    ours_msg.currentTs = 1_700_000_000_000
    feed = ours_msg.feeds["NSE_EQ|INE002A01018"]
    feed.fullFeed.marketFF.ltpc.ltp = 2845.5
    feed.fullFeed.marketFF.iiqTotal = 42
    feed.fullFeed.marketFF.casEligible = True
    feed.fullFeed.marketFF.ltpc.iep.value = 2840.0
    ours_msg.marketInfo.preOpenSessionStatus["NSE_EQ"].status = "OPEN"

    theirs = sdk_pb.FeedResponse.FromString(ours_msg.SerializeToString())
    ff = theirs.feeds["NSE_EQ|INE002A01018"].fullFeed.marketFF
    assert ff.ltpc.ltp == 2845.5
    assert ff.iiqTotal == 42
    assert ff.casEligible is True
    assert ff.ltpc.iep.value == 2840.0
    assert theirs.marketInfo.preOpenSessionStatus["NSE_EQ"].status == "OPEN"
    assert theirs.SerializeToString() == ours_msg.SerializeToString()
