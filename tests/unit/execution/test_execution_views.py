"""The JSON contract: rupee strings with two places, ISO UTC times with Z, enum names."""

from __future__ import annotations

import json

from engine_kit import EQ_KEY, intent, msg, quote, ready_rig

from quant.core.orders import OrderType, Side
from quant.execution import views


async def test_orders_trades_positions_and_pnl_render_as_the_contract_says() -> None:
    rig = await ready_rig()
    sub = await rig.engine.submit(msg(intent(qty=100, price=100_050)))
    await rig.engine.on_broker_update(rig.broker.fill(sub.client_order_id, 100, 100_050))
    rejected = await rig.engine.submit(msg(intent(Side.SELL, 1, OrderType.SL_M, trigger_price=1)))
    quote(rig, eq=101_000)

    (order, bad) = views.orders_json(rig.engine)[::-1]
    assert order == {
        "client_order_id": "orb-261207-1",
        "broker_order_id": "B1",
        "strategy": "orb",
        "instrument_key": EQ_KEY,
        "side": "BUY",
        "order_type": "LIMIT",
        "product": "I",
        "validity": "DAY",
        "quantity": 100,
        "filled_quantity": 100,
        "price": "1000.50",
        "trigger_price": "0.00",
        "average_price": "1000.50",
        "status": "FILLED",
        "reason": "",
        "message": "",
        "submitted_at": "2026-12-07T04:30:00Z",
        "updated_at": "2026-12-07T04:30:00Z",
        "mode": "paper",
        "algo_name": "",
    }
    assert (bad["order_type"], bad["status"]) == ("SL-M", "REJECTED")
    assert bad["reason"] == rejected.rejected.reason.value  # type: ignore[union-attr]
    assert bad["submitted_at"] is None

    (trade,) = views.trades_json(rig.engine)
    assert (trade["price"], trade["value"], trade["time"]) == (
        "1000.50",
        "100050.00",
        "2026-12-07T04:30:00Z",
    )
    assert set(trade["charges"]) >= {
        "brokerage", "stt", "exchange", "sebi", "stamp", "gst", "ipft", "total",
    }  # fmt: skip
    (position,) = views.positions_json(rig.engine)
    assert position == {
        "strategy": "orb",
        "instrument_key": EQ_KEY,
        "product": "I",
        "quantity": 100,
        "average_price": "1000.50",
        "last_price": "1010.00",
        "realised": "0.00",
        "unrealised": "950.00",
    }
    pnl = views.pnl_json(rig.engine)
    charges = trade["charges"]["total"]
    assert pnl["charges"] == charges
    assert pnl["strategies"]["orb"]["unrealised"] == "950.00"
    assert pnl["state"] == {"account": "ACTIVE", "strategies": {}}
    await rig.engine.request_kill("halt", strategy="orb")
    assert views.pnl_json(rig.engine)["state"]["strategies"] == {"orb": "HALTED"}
    json.dumps([order, trade, position, pnl])  # plain JSON
