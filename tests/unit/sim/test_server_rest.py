"""In-process simulator REST: auth flows, orders + portfolio stream, candles, options, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest
import websockets

from quant.core.clock import IST, datetime_to_ns
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

RELIANCE = "NSE_EQ|INE002A01018"
START = datetime(2026, 11, 24, 9, 15, 30, tzinfo=IST)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    cfg = SimConfig(start=START, speed=30.0, step_interval=0.05, ping_interval=None)
    async with SimServer(cfg) as server:
        await asyncio.sleep(0.3)
        yield server


def _auth(sim: SimServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.mint_token()}", "Accept": "application/json"}


async def test_oauth_code_flow_and_single_use_code(sim: SimServer) -> None:
    cfg = sim.config
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        resp = await c.get(
            "/v2/login/authorization/dialog",
            params={
                "response_type": "code",
                "client_id": cfg.client_id,
                "redirect_uri": cfg.redirect_uri,
                "state": "xyz",
            },
        )
        assert resp.status_code == 302
        query = parse_qs(urlparse(resp.headers["location"]).query)
        assert query["state"] == ["xyz"]
        form = {
            "code": query["code"][0],
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "redirect_uri": cfg.redirect_uri,
            "grant_type": "authorization_code",
        }
        tok = await c.post("/v2/login/authorization/token", data=form)
        again = await c.post("/v2/login/authorization/token", data=form)
        body = tok.json()
        ltp = await c.get(
            "/v3/market-quote/ltp",
            params={"instrument_key": RELIANCE},
            headers={"Authorization": f"Bearer {body['access_token']}"},
        )
    assert tok.status_code == 200 and body["user_id"] == cfg.user_id
    assert again.status_code == 401
    assert ltp.status_code == 200


async def test_token_expires_at_0330_ist_on_the_simulated_clock(sim: SimServer) -> None:
    headers = _auth(sim)
    params = {"instrument_key": RELIANCE}
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        assert (
            await c.get("/v3/market-quote/ltp", params=params, headers=headers)
        ).status_code == 200
        sim.clock.jump_to(datetime_to_ns(datetime(2026, 11, 25, 3, 30, 1, tzinfo=IST)))
        resp = await c.get("/v3/market-quote/ltp", params=params, headers=headers)
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["error_code"] == "UDAPI100050"


async def test_orders_round_trip_with_portfolio_updates(sim: SimServer) -> None:
    headers = _auth(sim)
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        auth = await c.get("/v2/feed/portfolio-stream-feed/authorize", headers=headers)
        url = auth.json()["data"]["authorized_redirect_uri"]
        async with websockets.connect(url) as ws:
            body = {
                "instrument_token": RELIANCE,
                "quantity": 5,
                "product": "I",
                "validity": "DAY",
                "price": 0,
                "order_type": "MARKET",
                "transaction_type": "BUY",
                "trigger_price": 0,
                "tag": "abc",
                "disclosed_quantity": 0,
                "is_amo": False,
            }
            placed = await c.post("/v3/order/place", json=body, headers=headers)
            assert placed.status_code == 200, placed.text
            (oid,) = placed.json()["data"]["order_ids"]
            assert placed.json()["metadata"]["latency"] >= 1
            statuses = []
            while "complete" not in statuses:
                statuses.append(json.loads(await asyncio.wait_for(ws.recv(), 5))["status"])
        book = await c.get("/v2/order/retrieve-all", headers=headers)
        trades = await c.get("/v2/order/trades/get-trades-for-day", headers=headers)
        hist = await c.get("/v2/order/history", params={"order_id": oid}, headers=headers)
        bad = await c.post("/v3/order/place", json={**body, "price": 10.0}, headers=headers)
        sold = await c.post(
            "/v3/order/place",
            json={**body, "transaction_type": "SELL", "quantity": 2},
            headers=headers,
        )
        assert sold.status_code == 200
        pos = await c.get("/v2/portfolio/short-term-positions", headers=headers)
    assert statuses[0] == "put order req received"
    assert book.json()["data"][0]["filled_quantity"] == 5
    assert sum(t["quantity"] for t in trades.json()["data"]) == 5
    assert [h["status"] for h in hist.json()["data"]][-1] == "complete"
    assert bad.status_code == 400 and bad.json()["errors"][0]["error_code"] == "UDAPI1040"
    (position,) = pos.json()["data"]
    assert position["instrument_token"] == RELIANCE and position["quantity"] == 3
    assert position["day_buy_quantity"] == 5 and position["day_sell_quantity"] == 2


async def test_order_rate_limit_is_a_separate_bucket(sim: SimServer) -> None:
    headers = _auth(sim)
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        codes = [
            (
                await c.delete("/v3/order/cancel", params={"order_id": "x"}, headers=headers)
            ).status_code
            for _ in range(12)
        ]
        quote_ok = await c.get(
            "/v3/market-quote/ltp", params={"instrument_key": RELIANCE}, headers=headers
        )
    assert codes[:10] == [404] * 10
    assert 429 in codes[10:]
    assert quote_ok.status_code == 200


async def test_historical_candles_and_range_rule(sim: SimServer) -> None:
    headers = _auth(sim)
    key = quote(RELIANCE, safe="")
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        day = await c.get(
            f"/v3/historical-candle/{key}/minutes/5/2026-11-23/2026-11-20", headers=headers
        )
        daily = await c.get(
            f"/v3/historical-candle/{key}/days/1/2026-11-23/2026-01-01", headers=headers
        )
        too_long = await c.get(
            f"/v3/historical-candle/{key}/minutes/1/2026-11-23/2026-09-01", headers=headers
        )
        bad_interval = await c.get(
            f"/v3/historical-candle/{key}/hours/7/2026-11-23", headers=headers
        )
        await asyncio.sleep(2.5)  # > 1 simulated minute at speed 30
        intraday = await c.get(f"/v3/historical-candle/intraday/{key}/minutes/1", headers=headers)
    candles = day.json()["data"]["candles"]
    assert len(candles) == 2 * 75  # two trading days (20th and 23rd) of 5-minute bars
    assert candles[0][0] > candles[-1][0]  # newest first
    ts = datetime.fromisoformat(candles[-1][0])
    assert ts.utcoffset() == timedelta(hours=5, minutes=30) and ts.hour == 9 and ts.minute == 15
    for _, o, h, lo, c_, v, _ in candles:
        assert lo <= min(o, c_) and h >= max(o, c_) and v >= 0
    assert len(daily.json()["data"]["candles"]) > 200
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["error_code"] == "UDAPI1148"
    assert bad_interval.status_code == 400
    assert intraday.status_code == 200 and len(intraday.json()["data"]["candles"]) >= 1


async def test_option_chain_and_greeks(sim: SimServer) -> None:
    headers = _auth(sim)
    u = sim.state.universe
    exp_ms = next(
        r["expiry"] for r in u.rows if r.get("name") == "NIFTY" and r.get("instrument_type") == "CE"
    )
    expiry = datetime.fromtimestamp(int(str(exp_ms)) / 1000, IST).date().isoformat()
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        chain = await c.get(
            "/v2/option/chain",
            headers=headers,
            params={"instrument_key": "NSE_INDEX|Nifty 50", "expiry_date": expiry},
        )
        rows = chain.json()["data"]
        keys = [r["call_options"]["instrument_key"] for r in rows]
        greeks = await c.get(
            "/v3/market-quote/option-greek",
            headers=headers,
            params={"instrument_key": ",".join(keys[:50])},
        )
        too_many = await c.get(
            "/v3/market-quote/option-greek",
            headers=headers,
            params={"instrument_key": ",".join(keys[:51])},
        )
    assert len(rows) == 61
    deltas = [r["call_options"]["option_greeks"]["delta"] for r in rows]
    assert all(0 <= d <= 1 for d in deltas) and deltas == sorted(deltas, reverse=True)
    assert deltas[0] > 0.9 and deltas[-1] < 0.1
    assert len(greeks.json()["data"]) == 50
    assert too_many.status_code == 400


async def test_multi_place_cancel_all_and_exit_positions(sim: SimServer) -> None:
    headers = _auth(sim)
    row = sim.state.universe.index_of[RELIANCE]
    far = int(sim.market.close_prev[row] * 0.85) // 10 * 10 / 100  # inside the band, no fill
    base = {
        "instrument_token": RELIANCE,
        "product": "I",
        "validity": "DAY",
        "trigger_price": 0,
        "disclosed_quantity": 0,
        "is_amo": False,
    }
    orders = [
        {
            **base,
            "correlation_id": "a",
            "quantity": 4,
            "price": 0,
            "order_type": "MARKET",
            "transaction_type": "BUY",
        },
        {
            **base,
            "correlation_id": "b",
            "quantity": 1,
            "price": far,
            "order_type": "LIMIT",
            "transaction_type": "BUY",
            "tag": "rest",
        },
        {
            **base,
            "correlation_id": "c",
            "quantity": 1,
            "price": 1.03,
            "order_type": "LIMIT",
            "transaction_type": "BUY",
        },
    ]
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        multi = await c.post("/v2/order/multi/place", json=orders, headers=headers)
        cancel = await c.delete("/v2/order/multi/cancel", params={"tag": "rest"}, headers=headers)
        exit_ = await c.post("/v2/order/positions/exit", headers=headers)
        pos = await c.get("/v2/portfolio/short-term-positions", headers=headers)
    body = multi.json()
    assert body["status"] == "partial_success"
    assert [d["correlation_id"] for d in body["data"]] == ["a", "b"]
    assert body["errors"][0]["correlation_id"] == "c"
    assert body["summary"] == {"total": 3, "success": 2, "error": 1, "payload_error": 0}
    assert len(cancel.json()["data"]["order_ids"]) == 1
    assert exit_.status_code == 200 and len(exit_.json()["data"]["order_ids"]) == 1
    assert pos.json()["data"][0]["quantity"] == 0
