"""In-process simulator REST: quotes' circuit limits, X-Algo-Name and tag per order, slice,
positions after fills and the brokerage-charges endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
import websockets

from quant.core.clock import IST
from quant.core.instruments import InstrumentType
from quant.core.orders import Side
from quant.sim.config import SimConfig
from quant.sim.matching import FREEZE_QTY, MAX_SLICES
from quant.sim.server import SimServer
from quant.trading.charges import charges_for_fill

RELIANCE = "NSE_EQ|INE002A01018"
START = datetime(2026, 11, 24, 9, 15, 30, tzinfo=IST)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    # a frozen market (one step an hour): quotes, books and LTPs hold still for the checks
    cfg = SimConfig(start=START, speed=1.0, step_interval=3600.0, ping_interval=None)
    async with SimServer(cfg) as server:
        await asyncio.sleep(0.2)
        yield server


def _auth(sim: SimServer, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.mint_token()}", "Accept": "application/json", **extra}


def _order(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "instrument_token": RELIANCE,
        "quantity": 1,
        "product": "I",
        "validity": "DAY",
        "price": 0,
        "order_type": "MARKET",
        "transaction_type": "BUY",
        "trigger_price": 0,
        "disclosed_quantity": 0,
        "is_amo": False,
    }
    body.update(kw)
    return body


async def test_full_quotes_carry_the_circuit_limits_the_engine_enforces(sim: SimServer) -> None:
    m = sim.market
    row = sim.state.universe.index_of[RELIANCE]
    index = "NSE_INDEX|Nifty 50"
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        for path in ("/v2/market-quote/quotes", "/v3/market-quote/quotes"):
            r = await c.get(path, params={"instrument_key": f"{RELIANCE},{index}"},
                            headers=_auth(sim))  # fmt: skip
            data = {v["instrument_token"]: v for v in r.json()["data"].values()}
            q = data[RELIANCE]
            assert q["lower_circuit_limit"] == int(m.circuit_lo[row]) / 100
            assert q["upper_circuit_limit"] == int(m.circuit_hi[row]) / 100
            assert q["lower_circuit_limit"] < q["last_price"] < q["upper_circuit_limit"]
            assert data[index]["upper_circuit_limit"] == 0.0
        above = q["upper_circuit_limit"] + 0.1
        r = await c.post("/v3/order/place", json=_order(order_type="LIMIT", price=above),
                         headers=_auth(sim))  # fmt: skip
    assert r.status_code == 400
    err = r.json()["errors"][0]
    assert err["property_path"] == "price" and "circuit" in err["message"]


async def test_tag_and_algo_name_are_recorded_per_order(sim: SimServer) -> None:
    engine = sim.state.engine
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        r = await c.post("/v3/order/place", json=_order(tag="s1-000001"),
                         headers=_auth(sim, **{"X-Algo-Name": "momentum-v1"}))  # fmt: skip
        plain = await c.post("/v3/order/place", json=_order(tag="s1-000002"), headers=_auth(sim))
        multi = await c.post(
            "/v2/order/multi/place",
            json=[_order(tag="s2-000001", correlation_id="x")],
            headers=_auth(sim, **{"X-Algo-Name": "pairs"}),
        )
        book = (await c.get("/v2/order/retrieve-all", headers=_auth(sim))).json()["data"]
    (oid,) = r.json()["data"]["order_ids"]
    (plain_id,) = plain.json()["data"]["order_ids"]
    multi_id = multi.json()["data"][0]["order_id"]
    assert (engine.orders[oid].algo_name, engine.orders[oid].tag) == ("momentum-v1", "s1-000001")
    assert engine.orders[plain_id].algo_name is None
    assert engine.orders[multi_id].algo_name == "pairs"
    assert {o["order_id"]: o["tag"] for o in book} == {
        oid: "s1-000001",
        plain_id: "s1-000002",
        multi_id: "s2-000001",
    }


async def test_slice_returns_every_child_order_id(sim: SimServer) -> None:
    u, m = sim.state.universe, sim.market
    row = u.index_of[RELIANCE]
    freeze, tick = int(u.freeze[row]), int(m.tick[row])
    low = (int(m.circuit_lo[row]) + tick) / 100  # rests: no fills, no book interaction
    qty = 2 * freeze + 3 * int(u.lot[row])
    headers = _auth(sim, **{"X-Algo-Name": "slicer"})
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        unsliced = await c.post(
            "/v3/order/place",
            headers=headers,
            json=_order(quantity=qty, order_type="LIMIT", price=low),
        )
        sliced = await c.post("/v3/order/place", headers=headers,
                              json=_order(quantity=qty, order_type="LIMIT", price=low,
                                          slice=True, tag="big"))  # fmt: skip
        too_many = await c.post("/v3/order/place", headers=headers,
                                json=_order(quantity=(MAX_SLICES + 1) * freeze,
                                            order_type="LIMIT", price=low, slice=True))  # fmt: skip
    assert unsliced.status_code == 400
    assert unsliced.json()["errors"][0]["error_code"] == FREEZE_QTY
    ids = sliced.json()["data"]["order_ids"]
    children = [sim.state.engine.orders[i] for i in ids]
    assert [o.quantity for o in children] == [freeze, freeze, qty - 2 * freeze]
    assert {(o.tag, o.algo_name, o.status) for o in children} == {("big", "slicer", "open")}
    assert too_many.status_code == 400


async def test_positions_follow_the_matching_engines_fills(sim: SimServer) -> None:
    engine = sim.state.engine
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        for side, qty in (("BUY", 10), ("SELL", 4), ("BUY", 2)):
            r = await c.post("/v3/order/place", json=_order(transaction_type=side, quantity=qty),
                             headers=_auth(sim))  # fmt: skip
            assert r.status_code == 200, r.text
        (pos,) = (await c.get("/v2/portfolio/short-term-positions", headers=_auth(sim))).json()[
            "data"
        ]
    fills = [(engine.orders[f.order_id].side, f.qty, f.price) for f in engine.fills]
    assert sum(q for _, q, _ in fills) == 16  # every order filled completely
    bq = sum(q for s, q, _ in fills if s > 0)
    sq = sum(q for s, q, _ in fills if s < 0)
    bv = sum(q * p for s, q, p in fills if s > 0)
    sv = sum(q * p for s, q, p in fills if s < 0)
    assert (pos["instrument_token"], pos["product"]) == (RELIANCE, "I")
    assert (pos["quantity"], pos["day_buy_quantity"], pos["day_sell_quantity"]) == (8, bq, sq)
    assert Decimal(str(pos["day_buy_value"])) == Decimal(bv) / 100
    assert Decimal(str(pos["day_sell_value"])) == Decimal(sv) / 100
    realised = sq * (sv / sq / 100 - bv / bq / 100)
    assert pos["realised"] == pytest.approx(round(realised, 2), abs=0.011)


async def test_brokerage_endpoint_prices_from_the_tariff_table(sim: SimServer) -> None:
    m = sim.market
    row = sim.state.universe.index_of[RELIANCE]
    ltp = int(m.ltp[row])
    params = {"instrument_token": RELIANCE, "quantity": "25", "product": "D",
              "transaction_type": "BUY", "price": "1503.40"}  # fmt: skip
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        r = await c.get("/v2/charges/brokerage", params=params, headers=_auth(sim))
        at_ltp = await c.get("/v2/charges/brokerage", params={**params, "price": "0"},
                             headers=_auth(sim))  # fmt: skip
        bad = [
            await c.get("/v2/charges/brokerage", params={**params, **change}, headers=_auth(sim))
            for change in (
                {"instrument_token": "NSE_INDEX|Nifty 50"},
                {"product": "MTF"},
                {"price": "1503.405"},
                {"quantity": "ten"},
                {"transaction_type": "HOLD"},
            )
        ]
        anonymous = await c.get("/v2/charges/brokerage", params=params)
    assert r.status_code == 200, r.text
    charges = r.json()["data"]["charges"]
    expected = charges_for_fill(
        "NSE_EQ", InstrumentType.EQUITY, "D", Side.BUY, 25, 150340, START.date()
    )
    assert Decimal(str(charges["total"])) == Decimal(expected.total) / 100
    assert Decimal(str(charges["taxes"]["stt"])) == Decimal(expected.stt) / 100
    assert Decimal(str(charges["taxes"]["stamp_duty"])) == Decimal(expected.stamp) / 100
    assert charges["other_taxes"] == charges["otherTaxes"]
    assert charges["dp_plan"] == charges["dpPlan"]
    assert Decimal(str(charges["other_taxes"]["transaction"])) == Decimal(expected.exchange) / 100
    parts = (charges["brokerage"], *charges["taxes"].values(),
             *(v for v in charges["other_taxes"].values()))  # fmt: skip
    assert Decimal(str(charges["total"])) == sum(Decimal(str(p)) for p in parts)
    assert expected.stt > 0 and expected.stamp > 0
    ltp_expected = charges_for_fill(
        "NSE_EQ", InstrumentType.EQUITY, "D", Side.BUY, 25, ltp, START.date()
    )
    assert Decimal(str(at_ltp.json()["data"]["charges"]["total"])) == (
        Decimal(ltp_expected.total) / 100
    )
    assert [b.status_code for b in bad] == [400] * len(bad)
    assert all(b.json()["errors"][0]["message"] for b in bad)
    assert anonymous.status_code == 401


async def _updates(ws: websockets.ClientConnection, until: int) -> list[dict[str, object]]:
    """Every message on ``ws`` until ``until`` order updates have said 'complete'."""
    out: list[dict[str, object]] = []
    while sum(1 for u in out if u.get("status") == "complete") < until:
        out.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    return out


async def test_portfolio_stream_sends_position_updates_to_who_asked(sim: SimServer) -> None:
    headers = _auth(sim)
    async with httpx.AsyncClient(base_url=sim.base_url) as c:
        urls = []
        for types in ("order,position", None):
            params = {"update_types": types} if types else {}
            auth = await c.get("/v2/feed/portfolio-stream-feed/authorize", params=params,
                               headers=headers)  # fmt: skip
            urls.append(auth.json()["data"]["authorized_redirect_uri"])
        async with websockets.connect(urls[0]) as both, websockets.connect(urls[1]) as orders:
            for side, qty in (("BUY", 5), ("SELL", 2)):
                r = await c.post("/v3/order/place", headers=headers,
                                 json=_order(transaction_type=side, quantity=qty))  # fmt: skip
                assert r.status_code == 200, r.text
            with_positions = await _updates(both, 2)
            only_orders = await _updates(orders, 2)
        (pos,) = (await c.get("/v2/portfolio/short-term-positions", headers=headers)).json()["data"]
    positions = [u for u in with_positions if u["update_type"] == "position"]
    assert positions and {u["update_type"] for u in only_orders} == {"order"}
    fills = len(sim.state.engine.fills)
    assert len(positions) == fills  # one per fill
    last = positions[-1]
    assert (last["instrument_key"], last["quantity"], last["product"]) == (RELIANCE, 3, "I")
    assert {k: v for k, v in last.items() if k not in ("update_type", "user_id",
            "instrument_key")} == pos  # fmt: skip
