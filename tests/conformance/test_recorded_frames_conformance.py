"""Recorded simulator frames: our decoder and the SDK's own decode path must agree.

``data/sim_feed_frames.json`` holds frames recorded from the simulator's feed (market_info,
initial snapshots and live frames; full equity/index/option, ltpc and option_greeks
feeds) with the SDK's ``MessageToDict`` output at recording time. Each frame is checked
against both that recording and a fresh decode by upstox-python-sdk 2.30.0, so this
runs without a simulator and catches drift on either side. Decoded unchecked
(``bounds=None``): the value checks have their own tests (unit/upstox/test_wire_checks.py).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from sdk_compare import compare
from upstox_client.feeder.proto import MarketDataFeedV3_pb2 as sdk_pb

from quant.upstox.wire import decode_frame

pytestmark = pytest.mark.conformance
RECORDED = json.loads((Path(__file__).parent / "data" / "sim_feed_frames.json").read_text())


def test_recording_covers_every_frame_and_feed_kind() -> None:
    kinds: set[str] = set()
    for item in RECORDED:
        kinds |= compare(decode_frame(base64.b64decode(item["frame"]), 0, None), item["sdk"])
    assert kinds >= {"full_equity", "full_index", "full_option", "ltpc", "option_greeks"}
    types = {item["sdk"].get("type", "initial_feed") for item in RECORDED}
    assert types == {"market_info", "initial_feed", "live_feed"}


@pytest.mark.parametrize("index", range(len(RECORDED)))
def test_recorded_frame_matches_a_fresh_sdk_decode(index: int) -> None:
    data = base64.b64decode(RECORDED[index]["frame"])
    fresh = json_format.MessageToDict(sdk_pb.FeedResponse.FromString(data))
    assert fresh == RECORDED[index]["sdk"]
    compare(decode_frame(data, 123, None), fresh)
