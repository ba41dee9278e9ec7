"""Token-request webhook, TLS, market-info endpoints, portfolio redirect, CLI registration."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from datetime import datetime

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from quant.cli import build_parser
from quant.core.clock import IST
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

START = datetime(2026, 11, 24, 9, 20, tzinfo=IST)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_token_request_posts_the_token_to_the_notifier() -> None:
    received: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def hook(request: Request) -> PlainTextResponse:
        await received.put(json.loads(await request.body()))
        return PlainTextResponse("ok")

    port = _free_port()
    hook_server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    serve = asyncio.create_task(hook_server.serve())
    try:
        while not hook_server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
            await asyncio.sleep(0.01)
        cfg = SimConfig(
            start=START, notifier_url=f"http://127.0.0.1:{port}/hook", ping_interval=None
        )
        async with SimServer(cfg) as sim, httpx.AsyncClient(base_url=sim.base_url) as c:
            bad = await c.post(
                f"/v3/login/auth/token/request/{cfg.client_id}", json={"client_secret": "wrong"}
            )
            resp = await c.post(
                f"/v3/login/auth/token/request/{cfg.client_id}",
                json={"client_secret": cfg.client_secret},
            )
            payload = await asyncio.wait_for(received.get(), 5)
            ltp = await c.get(
                "/v3/market-quote/ltp",
                params={"instrument_key": "NSE_EQ|INE002A01018"},
                headers={"Authorization": f"Bearer {payload['access_token']}"},
            )
    finally:
        hook_server.should_exit = True
        await serve
    assert bad.status_code == 401
    data = resp.json()["data"]
    assert data["notifier_url"].endswith("/hook")
    expiry = datetime.fromtimestamp(int(data["authorization_expiry"]) / 1000, IST)
    assert (expiry.day, expiry.hour, expiry.minute) == (25, 3, 30)
    assert payload["message_type"] == "access_token" and payload["token_type"] == "Bearer"
    assert ltp.status_code == 200


async def test_tls_with_verification_against_the_sim_ca() -> None:
    async with SimServer(SimConfig(start=START, tls=True, ping_interval=None)) as sim:
        assert sim.ca_file is not None and sim.base_url.startswith("https://")
        async with httpx.AsyncClient(
            base_url=sim.base_url, verify=ssl.create_default_context(cafile=str(sim.ca_file))
        ) as c:
            resp = await c.get("/market-quote/instruments/exchange/BSE.json.gz")
        assert resp.status_code == 200
        async with httpx.AsyncClient(base_url=sim.base_url) as c:
            try:
                await c.get("/v2/market/holidays")
                raise AssertionError("an unknown CA must not verify")
            except httpx.ConnectError:
                pass


async def test_market_info_endpoints() -> None:
    async with SimServer(SimConfig(start=START, ping_interval=None)) as sim:
        h = {"Authorization": f"Bearer {sim.mint_token()}"}
        async with httpx.AsyncClient(base_url=sim.base_url) as c:
            status = await c.get("/v2/market/status/NSE", headers=h)
            timings = await c.get("/v2/market/timings/2026-11-24")
            holiday = await c.get("/v2/market/timings/2026-12-25")
            holidays = await c.get("/v2/market/holidays")
    assert status.json()["data"]["status"] == "NORMAL_OPEN"
    nse = next(t for t in timings.json()["data"] if t["exchange"] == "NSE")
    assert datetime.fromtimestamp(nse["start_time"] / 1000, IST).hour == 9
    assert holiday.json()["data"] == []
    assert any(h["date"] == "2026-12-25" for h in holidays.json()["data"])


async def test_portfolio_stream_handshake_redirects() -> None:
    async with SimServer(SimConfig(start=START, ping_interval=None)) as sim:
        url = sim.base_url.replace("http", "ws") + "/v2/feed/portfolio-stream-feed"
        h = {"Authorization": f"Bearer {sim.mint_token()}"}
        async with websockets.connect(url + "?update_types=order", additional_headers=h) as ws:
            assert ws.state is websockets.State.OPEN


def test_quant_sim_is_a_cli_command() -> None:
    args = build_parser().parse_args(
        [
            "sim",
            "--port",
            "0",
            "--seed",
            "3",
            "--speed",
            "60",
            "--start",
            "2026-11-24T09:14:00+05:30",
            "--tls",
        ]
    )
    assert args.seed == 3 and args.speed == 60.0 and args.tls
    assert args.start == datetime(2026, 11, 24, 9, 14, tzinfo=IST)
