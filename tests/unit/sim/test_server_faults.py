"""Feed limits and fault hooks: key limits, connection cap, drop, silence, refuse, 307, slow."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
import websockets
from websockets.frames import Frame, Opcode

from quant.core.clock import IST
from quant.pb.upstox.v3 import market_data_feed_pb2 as pb
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

START = datetime(2026, 11, 24, 9, 20, tzinfo=IST)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    cfg = SimConfig(start=START, speed=5.0, step_interval=0.05, ping_interval=0.3)
    async with SimServer(cfg) as server:
        yield server


def _h(sim: SimServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.mint_token()}"}


def _sub(mode: str, keys: list[str], method: str = "sub") -> bytes:
    return json.dumps(
        {"guid": "g", "method": method, "data": {"mode": mode, "instrumentKeys": keys}}
    ).encode()


def _options(sim: SimServer, n: int) -> list[str]:
    m = sim.market
    return [m.u.keys[i] for i in m.is_opt.nonzero()[0][:n].tolist()]


async def _next(ws: websockets.ClientConnection) -> pb.FeedResponse:
    return pb.FeedResponse.FromString(await asyncio.wait_for(ws.recv(), 5))


async def test_individual_and_combined_key_limits(sim: SimServer) -> None:
    keys = _options(sim, 5001)
    async with websockets.connect(sim.ws_url, additional_headers=_h(sim)) as ws:
        await _next(ws)
        await ws.send(_sub("ltpc", keys[:5000]))
        snap = await _next(ws)
        assert snap.type == pb.initial_feed and len(snap.feeds) == 5000
        # a second category makes the combined limits apply: 5000 ltpc > 2000
        await ws.send(_sub("full", keys[5000:5001]))
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:
                await _next(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008


async def test_unsub_and_change_mode(sim: SimServer) -> None:
    key = "NSE_EQ|INE002A01018"
    async with websockets.connect(sim.ws_url, additional_headers=_h(sim)) as ws:
        await _next(ws)
        await ws.send(_sub("ltpc", [key]))
        snap = await _next(ws)
        assert snap.feeds[key].WhichOneof("FeedUnion") == "ltpc"
        await ws.send(_sub("full", [key], "change_mode"))
        while True:
            msg = await _next(ws)
            if msg.type == pb.initial_feed:
                break
        assert msg.feeds[key].requestMode == pb.full_d5
        await ws.send(_sub("full", [key], "unsub"))
        await asyncio.sleep(0.3)
        while ws.recv_messages is not None:  # drain whatever was queued before the unsub
            try:
                await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)


async def test_third_connection_is_refused_with_403(sim: SimServer) -> None:
    h = _h(sim)
    async with (
        websockets.connect(sim.ws_url, additional_headers=h) as a,
        websockets.connect(sim.ws_url, additional_headers=h) as b,
    ):
        await _next(a)
        await _next(b)
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(sim.ws_url, additional_headers=h):
                pass
        assert info.value.response.status_code == 403


async def test_refuse_then_recover(sim: SimServer) -> None:
    sim.refuse_feeds(403, count=1)
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(sim.ws_url, additional_headers=_h(sim)):
            pass
    assert info.value.response.status_code == 403
    async with websockets.connect(sim.ws_url, additional_headers=_h(sim)) as ws:
        assert (await _next(ws)).type == pb.market_info


async def test_expired_token_handshake_is_401(sim: SimServer) -> None:
    h = _h(sim)
    sim.expire_tokens()
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(sim.ws_url, additional_headers=h):
            pass
    assert info.value.response.status_code == 401


async def test_drop_closes_abruptly(sim: SimServer) -> None:
    async with websockets.connect(sim.ws_url, additional_headers=_h(sim)) as ws:
        await _next(ws)
        await ws.send(_sub("ltpc", ["NSE_EQ|INE002A01018"]))
        await _next(ws)
        assert sim.drop_feeds() == 1
        with pytest.raises(websockets.ConnectionClosedError) as info:
            while True:
                await _next(ws)
        assert info.value.rcvd is None  # no close frame: the TCP connection just died


async def test_silence_stops_data_and_pongs(sim: SimServer) -> None:
    async with websockets.connect(
        sim.ws_url, additional_headers=_h(sim), ping_interval=None, close_timeout=0.5
    ) as ws:
        await _next(ws)
        await ws.send(_sub("full", ["NSE_EQ|INE002A01018"]))
        await _next(ws)
        pong = await ws.ping()
        await asyncio.wait_for(pong, 2)
        assert sim.silence_feeds() == 1
        await asyncio.sleep(0.2)
        while True:  # drain frames already in flight
            try:
                await asyncio.wait_for(ws.recv(), 0.3)
            except TimeoutError:
                break
        pong = await ws.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pong, 1.0)


async def test_server_sends_standard_pings(sim: SimServer) -> None:
    async with websockets.connect(sim.ws_url, additional_headers=_h(sim), ping_interval=None) as ws:
        pings: list[bytes] = []
        original = ws.process_event

        def spy(event: Frame) -> None:
            if event.opcode is Opcode.PING:
                pings.append(event.data)
            original(event)

        ws.process_event = spy  # type: ignore[method-assign]
        await _next(ws)
        await asyncio.sleep(1.0)  # idle: no subscription, so only pings arrive
        assert len(pings) >= 2  # ping_interval is 0.3 s


async def test_307_redirect_status_is_configurable() -> None:
    cfg = SimConfig(start=START, redirect_status=307, ping_interval=None)
    async with SimServer(cfg) as sim, httpx.AsyncClient(base_url=sim.base_url) as c:
        resp = await c.get("/v3/feed/market-data-feed", headers=_h(sim))
    assert resp.status_code == 307


async def test_slow_feed_delays_frames(sim: SimServer) -> None:
    async with websockets.connect(sim.ws_url, additional_headers=_h(sim)) as ws:
        await _next(ws)
        sim.slow_feeds(0.4)
        await ws.send(_sub("ltpc", ["NSE_EQ|INE002A01018"]))
        started = time.monotonic()
        await _next(ws)
        assert time.monotonic() - started >= 0.35
        sim.slow_feeds(0.0)


async def test_a_silenced_socket_ends_when_the_client_goes_away(sim: SimServer) -> None:
    """A stalled server still sees its TCP connection close: the count stays true."""
    h = _h(sim)
    ws = await websockets.connect(sim.ws_url, additional_headers=h, close_timeout=0.2)
    await _next(ws)
    assert sim.silence_feeds() == 1
    ws.transport.abort()  # what our client does with a silent socket
    async with asyncio.timeout(3):
        while True:
            if not sim.feed_hub.conns:
                break
            await asyncio.sleep(0.02)
    async with (  # both of the user's two connections are free again
        websockets.connect(sim.ws_url, additional_headers=h) as a,
        websockets.connect(sim.ws_url, additional_headers=h) as b,
    ):
        assert (await _next(a)).type == pb.market_info
        assert (await _next(b)).type == pb.market_info


async def test_the_embedded_token_source_logs_in_again_once_refused(sim: SimServer) -> None:
    source = sim.token_source()
    first = source()
    source.reload()
    assert source() == first  # still valid: kept
    sim.expire_tokens()
    source.reload()
    renewed = source()
    assert renewed != first
    sim.state.tokens.validate(f"Bearer {renewed}")  # valid (raises if not)
