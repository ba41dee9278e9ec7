"""The submit path: journal before broker and publish, rejections journaled with their
reason and never sent, idempotent sequences, fills from cumulative broker updates."""

from __future__ import annotations

import pytest
from engine_kit import EQ_KEY, at, intent, make_rig, msg, ready_rig

from quant.core.orders import OrderStatus
from quant.execution.engine import EngineNotReady
from quant.trading.risk_limits import RejectReason, RiskLimits


async def test_journal_append_comes_before_place_and_publish() -> None:
    rig = await ready_rig()
    sub = await rig.engine.submit(msg(intent()))
    cid = sub.client_order_id
    assert cid == "orb-261207-1"
    assert sub.rejected is None
    assert rig.calls.log == [
        ("journal", f"{cid}:PENDING_NEW"),
        ("publish", f"{cid}:PENDING_NEW"),
        ("place", cid),
        ("journal", f"{cid}:OPEN"),
        ("publish", f"{cid}:OPEN"),
    ]
    assert sub.orders[0].status is OrderStatus.OPEN
    assert rig.engine.submitted_at(cid) == at(10, 0)


async def test_rejected_intent_is_journaled_with_its_reason_and_never_sent() -> None:
    rig = await ready_rig(limits=RiskLimits(max_order_value=1_000_00))
    sub = await rig.engine.submit(msg(intent(qty=10)))
    assert sub.rejected is not None
    assert sub.rejected.reason is RejectReason.ORDER_VALUE
    assert rig.broker.placed == []
    (event,) = rig.journal.events
    assert event.status is OrderStatus.REJECTED
    assert event.reason == "ORDER_VALUE"
    assert rig.publisher.events == [event]


async def test_repeated_sequence_returns_the_same_order_and_places_nothing() -> None:
    rig = await ready_rig()
    first = await rig.engine.submit(msg(intent(), sequence=7))
    again = await rig.engine.submit(msg(intent(qty=99), sequence=7))
    assert again.client_order_id == first.client_order_id == "orb-261207-7"
    assert again.orders == first.orders
    assert len(rig.broker.placed) == 1
    nxt = await rig.engine.submit(msg(intent()))
    assert nxt.client_order_id == "orb-261207-8"


async def test_submit_before_recover_is_refused() -> None:
    rig = make_rig()
    with pytest.raises(EngineNotReady):
        await rig.engine.submit(msg(intent()))


async def test_cumulative_updates_make_fills_positions_pnl_and_charges() -> None:
    rig = await ready_rig()
    sub = await rig.engine.submit(msg(intent(qty=10, price=250_000)))
    cid = sub.client_order_id
    await rig.engine.on_broker_update(rig.broker.fill(cid, 4, 250_000))
    await rig.engine.on_broker_update(rig.broker.fill(cid, 4, 250_000))  # repeated: nothing
    await rig.engine.on_broker_update(rig.broker.fill(cid, 10, 249_900))
    order = rig.engine.order(cid)
    assert order is not None and order.status is OrderStatus.FILLED
    assert order.filled_quantity == 10
    assert order.filled_value == 2_499_000  # 10 x 2499.00
    trades = rig.engine.trades()
    assert [t.fill.quantity for t in trades] == [6, 4]  # newest first
    (pos,) = rig.engine.positions()
    assert pos.net_quantity == 10 and pos.cost == 2_499_000
    events = rig.journal.of(cid)
    assert [e.status for e in events] == [
        OrderStatus.PENDING_NEW,
        OrderStatus.OPEN,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    # charges: the two fills add up to the day's contract note of the order
    total = sum(t.charges.total for t in trades)
    assert rig.engine.charges("orb") == total > 0
    rig.engine.on_tick(tick_at(rig, 250_500))
    pnl = rig.engine.pnl()
    assert pnl.unrealised == 10 * 250_500 - 2_499_000
    assert pnl.charges == total


def tick_at(rig, ltp):  # type: ignore[no-untyped-def]
    from engine_kit import tick

    return tick(EQ_KEY, ltp, rig.clock.now_ns())
