"""The SDK's ``MarketDataStreamerV3`` and our decoder read identical values from the same frames.

The SDK streamer is pointed at the simulator (its hard-coded ``wss://api.upstox.com`` URL
rewritten, nothing else changed) and subscribed in full, ltpc and option_greeks modes
to an equity, an index and options. Every raw frame it receives is recorded next to the
dict the SDK produced (``FeedResponse`` + ``MessageToDict``), then decoded again by
:func:`quant.upstox.wire.decode_frame` and compared field by field (prices via
``to_paise``, ms timestamps to ns).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import upstox_client
from sdk_compare import compare
from sim_fixtures import NIFTY, RELIANCE, sdk_client, sim_fixture  # noqa: F401
from upstox_client.feeder import market_data_feeder_v3
from upstox_client.feeder.market_data_streamer_v3 import MarketDataStreamerV3

from quant.sim.server import SimServer
from quant.upstox.wire import decode_frame

pytestmark = pytest.mark.conformance


def _option_keys(sim: SimServer) -> list[str]:
    rows = sim.state.universe.rows
    return [str(r["instrument_key"]) for r in rows if r.get("instrument_type") in ("CE", "PE")][:4]


async def test_streamer_and_our_decoder_agree_on_the_same_frames(
    sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw: list[bytes] = []
    dicts: list[dict[str, Any]] = []
    opened = threading.Event()
    real_app = market_data_feeder_v3.websocket.WebSocketApp
    real_handle = MarketDataStreamerV3.handle_message

    def local_app(url: str, *args: Any, **kwargs: Any) -> Any:
        ws_base = sim.base_url.replace("http", "ws", 1)
        return real_app(url.replace("wss://api.upstox.com", ws_base), *args, **kwargs)

    def recording(self: Any, ws: Any, message: bytes) -> None:
        raw.append(message)
        real_handle(self, ws, message)

    monkeypatch.setattr(market_data_feeder_v3.websocket, "WebSocketApp", local_app)
    monkeypatch.setattr(MarketDataStreamerV3, "handle_message", recording)
    options = _option_keys(sim)
    streamer = upstox_client.MarketDataStreamerV3(
        sdk_client(sim), [RELIANCE, NIFTY, *options[:2]], "full"
    )
    streamer.on("message", dicts.append)
    streamer.on("open", lambda: opened.set())
    await asyncio.to_thread(streamer.connect)
    try:
        assert await asyncio.to_thread(opened.wait, 10)
        await asyncio.to_thread(streamer.subscribe, ["NSE_EQ|INE009A01021"], "ltpc")
        await asyncio.to_thread(streamer.subscribe, options[2:], "option_greeks")
        for _ in range(100):
            if len(raw) >= 12:
                break
            await asyncio.sleep(0.1)
    finally:
        streamer.disconnect()
    n = min(len(raw), len(dicts))
    assert n >= 12
    kinds: set[str] = set()
    for data, d in zip(raw[:n], dicts[:n], strict=True):
        kinds |= compare(decode_frame(data, 0, None), d)
    assert kinds >= {"full_equity", "full_index", "full_option", "ltpc", "option_greeks"}
