"""In-process simulator server: instrument files, token auth, quotes, feed via redirect."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
import websockets

from quant.core.clock import IST
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

RELIANCE = "NSE_EQ|INE002A01018"
NIFTY = "NSE_INDEX|Nifty 50"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    cfg = SimConfig(
        start=datetime(2026, 11, 24, 9, 15, 30, tzinfo=IST),
        speed=10.0,
        step_interval=0.1,
        ping_interval=None,
    )
    async with SimServer(cfg) as server:
        yield server


def _sub(mode: str, keys: list[str], method: str = "sub") -> bytes:
    return json.dumps(
        {"guid": "t", "method": method, "data": {"mode": mode, "instrumentKeys": keys}}
    ).encode()


async def test_instrument_master_is_served_gzipped(sim: SimServer) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        resp = await client.get("/market-quote/instruments/exchange/complete.json.gz")
        nse = await client.get("/market-quote/instruments/exchange/NSE.json.gz")
    rows = json.loads(gzip.decompress(resp.content))
    assert len(rows) >= 20_000
    assert {r["exchange"] for r in json.loads(gzip.decompress(nse.content))} == {"NSE"}
    assert any(r["instrument_key"] == RELIANCE for r in rows)


async def test_ltp_requires_a_valid_token(sim: SimServer) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        bad = await client.get(
            "/v3/market-quote/ltp",
            params={"instrument_key": RELIANCE},
            headers={"Authorization": "Bearer nope"},
        )
        sim.clock.set_speed(1e-9)  # all but stop the market: the LTP read below is the answer's
        good = await client.get(
            "/v3/market-quote/ltp",
            params={"instrument_key": RELIANCE},
            headers={"Authorization": f"Bearer {sim.mint_token()}"},
        )
    assert bad.status_code == 401
    err = bad.json()["errors"][0]
    assert err["error_code"] == err["errorCode"] == "UDAPI100050"
    data = good.json()["data"]["NSE_EQ:RELIANCE"]
    assert data["instrument_token"] == RELIANCE
    assert data["last_price"] == sim.market.ltp[sim.state.universe.index_of[RELIANCE]] / 100


async def test_feed_handshake_redirects_then_streams(sim: SimServer) -> None:
    headers = {"Authorization": f"Bearer {sim.mint_token()}"}
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        resp = await client.get("/v3/feed/market-data-feed", headers=headers)
    assert resp.status_code == 302
    assert "/market-data-feeder/v3/upstox-developer-api/feeds?" in resp.headers["location"]
    async with websockets.connect(sim.ws_url, additional_headers=headers) as ws:
        first = pb.FeedResponse.FromString(await ws.recv())
        assert first.type == pb.market_info
        assert first.marketInfo.segmentStatus["NSE_EQ"] == pb.NORMAL_OPEN
        await ws.send(_sub("full", [RELIANCE, NIFTY]))
        snap = pb.FeedResponse.FromString(await ws.recv())
        assert snap.type == pb.initial_feed
        assert set(snap.feeds) == {RELIANCE, NIFTY}
        ff = snap.feeds[RELIANCE].fullFeed.marketFF
        assert len(ff.marketLevel.bidAskQuote) == 5
        assert snap.feeds[NIFTY].fullFeed.indexFF.ltpc.ltp > 1000
        live = pb.FeedResponse.FromString(await ws.recv())
        assert live.type == pb.live_feed


async def test_authorized_url_is_single_use(sim: SimServer) -> None:
    headers = {"Authorization": f"Bearer {sim.mint_token()}"}
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        resp = await client.get("/v3/feed/market-data-feed/authorize", headers=headers)
    url = resp.json()["data"]["authorized_redirect_uri"]
    async with websockets.connect(url) as ws:
        await ws.recv()
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(url):
            pass
    assert info.value.response.status_code == 401
