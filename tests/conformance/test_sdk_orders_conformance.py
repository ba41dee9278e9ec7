"""The official SDK against the simulator's order extras: the brokerage-charges call,
Orders V3 with ``market_protection`` and ``slice`` (plus ``X-Algo-Name``), and positions
after fills. Host changed only; the SDK runs in worker threads.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import upstox_client
from sim_fixtures import (  # fixtures are used by name
    RELIANCE,
    frozen_sim_fixture,  # noqa: F401
    sdk_client,
    sim_fixture,  # noqa: F401
)

from quant.core.clock import IST, ns_to_datetime
from quant.core.instruments import InstrumentType
from quant.core.orders import Side
from quant.sim.server import SimServer
from quant.trading.charges import charges_for_fill

pytestmark = pytest.mark.conformance


def _rupees(value: float) -> Decimal:
    return Decimal(str(value))


async def test_sdk_brokerage_call_prices_from_the_tariff_table(frozen_sim: SimServer) -> None:
    sim = frozen_sim
    token = sim.mint_token()
    fut = next(
        k
        for k, r in zip(sim.state.universe.keys, sim.state.universe.rows, strict=True)
        if k.startswith("NSE_FO") and r.get("instrument_type") == "FUT"
    )
    cases = [(RELIANCE, 25, "D", "BUY", 1503.4), (RELIANCE, 10, "I", "SELL", 1499.9)]
    lot = int(sim.state.universe.lot[sim.state.universe.index_of[fut]])
    cases.append((fut, lot, "I", "BUY", 26100.0))

    def sdk_charges() -> list[Any]:
        api = upstox_client.ChargeApi(sdk_client(sim, token))
        return [api.get_brokerage(k, q, p, s, px, "2.0") for k, q, p, s, px in cases]

    answers = await asyncio.to_thread(sdk_charges)
    day = ns_to_datetime(sim.market.now_ns(), IST).date()
    for (key, qty, product, side, price), answer in zip(cases, answers, strict=True):
        assert answer.status == "success"
        got = answer.data.charges
        kind = InstrumentType.FUTURE if key == fut else InstrumentType.EQUITY
        want = charges_for_fill(
            key.split("|")[0], kind, product, Side[side], qty, round(price * 100), day
        )
        assert _rupees(got.total) == Decimal(want.total) / 100
        assert _rupees(got.brokerage) == Decimal(want.brokerage) / 100
        assert _rupees(got.taxes.gst) == Decimal(want.gst) / 100
        assert _rupees(got.taxes.stt) == Decimal(want.stt) / 100
        assert _rupees(got.taxes.stamp_duty) == Decimal(want.stamp) / 100
        assert got.other_taxes is not None  # the SDK reads the camelCase key
        assert _rupees(got.other_taxes.transaction) == Decimal(want.exchange) / 100
        assert _rupees(got.other_taxes.sebi_turnover) == Decimal(want.sebi) / 100
        assert got.dp_plan.name and got.dp_plan.min_expense > 0
        assert want.total > 0


async def test_sdk_places_with_market_protection_slice_and_algo_name(sim: SimServer) -> None:
    token = sim.mint_token()
    u, m, engine = sim.state.universe, sim.market, sim.state.engine
    row = u.index_of[RELIANCE]
    freeze, tick = int(u.freeze[row]), int(m.tick[row])
    low = (int(m.circuit_lo[row]) + tick) / 100

    def sdk_orders() -> tuple[Any, Any, Any]:
        api = upstox_client.OrderApiV3(sdk_client(sim, token))
        protected = api.place_order(
            upstox_client.PlaceOrderV3Request(
                quantity=1, product="I", validity="DAY", price=0, tag="mp",
                instrument_token=RELIANCE, order_type="MARKET", transaction_type="BUY",
                disclosed_quantity=0, trigger_price=0, is_amo=False, market_protection=2,
            ),
            algo_name="sdk-algo",
        )  # fmt: skip
        sliced = api.place_order(
            upstox_client.PlaceOrderV3Request(
                quantity=freeze + 1, product="D", validity="DAY", price=low, tag="sl",
                instrument_token=RELIANCE, order_type="LIMIT", transaction_type="BUY",
                disclosed_quantity=0, trigger_price=0, is_amo=False, slice=True,
            ),
            algo_name="sdk-algo",
        )  # fmt: skip
        try:
            api.place_order(
                upstox_client.PlaceOrderV3Request(
                    quantity=1, product="I", validity="DAY", price=0, tag="bad",
                    instrument_token=RELIANCE, order_type="MARKET", transaction_type="BUY",
                    disclosed_quantity=0, trigger_price=0, is_amo=False, market_protection=40,
                )
            )  # fmt: skip
        except upstox_client.rest.ApiException as exc:
            return protected, sliced, exc
        raise AssertionError("market_protection=40 was accepted")

    protected, sliced, refused = await asyncio.to_thread(sdk_orders)
    (pid,) = protected.data.order_ids
    o = engine.orders[pid]
    assert (o.market_protection, o.algo_name, o.tag) == (2, "sdk-algo", "mp")
    assert o.protection_price > 0 and o.status == "complete"
    assert all(f.price <= o.protection_price for f in engine.fills if f.order_id == pid)
    ids = sliced.data.order_ids
    assert [engine.orders[i].quantity for i in ids] == [freeze, 1]
    assert {engine.orders[i].algo_name for i in ids} == {"sdk-algo"}
    assert refused.status == 400 and b"market_protection" in refused.body


async def test_sdk_positions_after_fills(sim: SimServer) -> None:
    token = sim.mint_token()
    engine = sim.state.engine

    def sdk_trade() -> Any:
        client = sdk_client(sim, token)
        orders = upstox_client.OrderApiV3(client)
        for side, qty in (("BUY", 7), ("SELL", 3)):
            orders.place_order(
                upstox_client.PlaceOrderV3Request(
                    quantity=qty, product="I", validity="DAY", price=0, tag="pos",
                    instrument_token=RELIANCE, order_type="MARKET", transaction_type=side,
                    disclosed_quantity=0, trigger_price=0, is_amo=False, market_protection=-1,
                )
            )  # fmt: skip
        return upstox_client.PortfolioApi(client).get_positions("2.0")

    answer = await asyncio.to_thread(sdk_trade)
    (pos,) = answer.data
    filled = {
        side: sum(f.qty for f in engine.fills if engine.orders[f.order_id].side == side)
        for side in (1, -1)
    }
    assert (pos.instrument_token, pos.product) == (RELIANCE, "I")
    assert (pos.day_buy_quantity, pos.day_sell_quantity) == (filled[1], filled[-1])
    assert pos.quantity == filled[1] - filled[-1]
    assert filled[1] > 0  # the protected MARKET buy filled at least in part
