"""The official upstox-python-sdk against the in-process simulator (host/URL changed only).

The SDK is synchronous, so each call runs in a worker thread while the server runs on the
test's event loop. The full conformance suite lives in tests/conformance; this is the
simulator's own smoke check of its response shapes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import upstox_client

from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

RELIANCE = "NSE_EQ|INE002A01018"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    cfg = SimConfig(
        start=datetime(2026, 11, 24, 9, 30, tzinfo=IST),
        speed=5.0,
        step_interval=0.05,
        ping_interval=None,
    )
    async with SimServer(cfg) as server:
        yield server


def _client(sim: SimServer) -> Any:
    conf = upstox_client.Configuration()
    conf.host = sim.base_url
    conf.order_host = sim.base_url
    conf.access_token = sim.mint_token()
    return upstox_client.ApiClient(conf)


async def test_sdk_market_quotes_history_and_orders(sim: SimServer) -> None:
    client = _client(sim)

    def calls() -> dict[str, Any]:
        quote = upstox_client.MarketQuoteV3Api(client)
        ltp = quote.get_ltp(instrument_key=RELIANCE)
        ohlc = quote.get_market_quote_ohlc("1d", instrument_key=RELIANCE)
        full = upstox_client.MarketQuoteApi(client).get_full_market_quote(RELIANCE, "2.0")
        hist = upstox_client.HistoryV3Api(client).get_historical_candle_data1(
            RELIANCE, "minutes", "15", "2026-11-23", "2026-11-20"
        )
        body = upstox_client.PlaceOrderV3Request(
            quantity=1,
            product="I",
            validity="DAY",
            price=0,
            instrument_token=RELIANCE,
            order_type="MARKET",
            transaction_type="BUY",
            disclosed_quantity=0,
            trigger_price=0,
            is_amo=False,
            tag="sdk",
        )
        placed = upstox_client.OrderApiV3(client).place_order(body)
        book = upstox_client.OrderApi(client).get_order_book("2.0")
        return {
            "ltp": ltp,
            "ohlc": ohlc,
            "full": full,
            "hist": hist,
            "placed": placed,
            "book": book,
        }

    out = await asyncio.to_thread(calls)
    assert out["ltp"].data["NSE_EQ:RELIANCE"].instrument_token == RELIANCE
    assert out["ohlc"].data["NSE_EQ:RELIANCE"].live_ohlc.high > 0
    assert len(out["full"].data["NSE_EQ:RELIANCE"].depth.buy) == 5
    assert len(out["hist"].data.candles) == 2 * 25
    assert len(out["placed"].data.order_ids) == 1
    assert out["book"].data[0].status == "complete"


async def test_sdk_streamer_via_redirect(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from upstox_client.feeder import market_data_feeder_v3

    client = _client(sim)
    got = threading.Event()
    messages: list[dict[str, Any]] = []
    real_app = market_data_feeder_v3.websocket.WebSocketApp

    def local_app(url: str, *args: Any, **kwargs: Any) -> Any:
        return real_app(
            url.replace("wss://api.upstox.com", sim.base_url.replace("http", "ws")), *args, **kwargs
        )

    monkeypatch.setattr(market_data_feeder_v3.websocket, "WebSocketApp", local_app)
    streamer = upstox_client.MarketDataStreamerV3(client, [RELIANCE], "full")

    def on_message(msg: dict[str, Any]) -> None:
        messages.append(msg)
        if msg.get("type") == "live_feed":
            got.set()

    streamer.on("message", on_message)
    await asyncio.to_thread(streamer.connect)
    try:
        assert await asyncio.to_thread(got.wait, 10)
    finally:
        streamer.disconnect()
    assert messages[0]["type"] == "market_info"
    live = next(m for m in messages if m.get("type") == "live_feed")
    assert "ltpc" in live["feeds"][RELIANCE]["fullFeed"]["marketFF"]
