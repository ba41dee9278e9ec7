"""The submit path: journal before broker and publish, rejections journaled with their
reason and never sent, idempotent sequences, fills from cumulative broker updates."""

from __future__ import annotations

import pytest
from engine_kit import EQ_KEY, Rig, at, intent, make_rig, msg, quote, ready_rig, tick

from quant.core.events import Tick
from quant.core.orders import OrderStatus, OrderType, Side
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


def tick_at(rig: Rig, ltp: int) -> Tick:
    return tick(EQ_KEY, ltp, rig.clock.now_ns())


async def test_charges_match_the_charges_md_intraday_example() -> None:
    """CHARGES.md §7 example 1: intraday buy 100 @1000, sell 100 @1010 costs ₹82.68."""
    rig = await ready_rig()
    quote(rig, eq=100_000)
    buy = await rig.engine.submit(msg(intent(Side.BUY, 100, price=100_000)))
    await rig.engine.on_broker_update(rig.broker.fill(buy.client_order_id, 100, 100_000))
    quote(rig, eq=101_000)
    sell = await rig.engine.submit(msg(intent(Side.SELL, 100, price=101_000)))
    await rig.engine.on_broker_update(rig.broker.fill(sell.client_order_id, 100, 101_000))
    assert rig.engine.charges() == 82_68
    pnl = rig.engine.pnl("orb")
    assert (pnl.realised, pnl.unrealised, pnl.net) == (1_000_00, 0, 1_000_00 - 82_68)


async def test_broker_rejection_is_journaled_as_broker_rejected() -> None:
    rig = await ready_rig()
    rig.broker.reject = 1
    sub = await rig.engine.submit(msg(intent()))
    order = rig.engine.order(sub.client_order_id)
    assert order is not None and order.status is OrderStatus.REJECTED
    assert "insufficient funds" in order.message
    assert rig.journal.events[-1].reason == "BROKER_REJECTED"


async def test_unknown_placement_stays_pending_and_is_resolved_by_tag_never_placed_twice() -> None:
    rig = await ready_rig()
    rig.broker.unknown = 1
    sub = await rig.engine.submit(msg(intent()))
    cid = sub.client_order_id
    assert sub.orders[0].status is OrderStatus.PENDING_NEW
    assert len(rig.broker.placed) == 1
    for _ in range(30):  # 3 s of on_time calls
        rig.clock.advance(0.1)
        await rig.engine.on_time()
    order = rig.engine.order(cid)
    assert order is not None and order.status is OrderStatus.OPEN
    assert order.broker_order_id == "B1"
    assert rig.broker.tag_lookups == [cid]  # resolved at the first look
    assert len(rig.broker.placed) == 1


async def test_unknown_placement_the_broker_never_got_is_looked_up_again_not_resent() -> None:
    rig = await ready_rig()
    rig.broker.unknown, rig.broker.reached = 1, False
    sub = await rig.engine.submit(msg(intent()))
    for _ in range(25):
        rig.clock.advance(0.1)
        await rig.engine.on_time()
    assert rig.engine.order(sub.client_order_id).status is OrderStatus.PENDING_NEW  # type: ignore[union-attr]
    assert len(rig.broker.placed) == 1
    assert 2 <= len(rig.broker.tag_lookups) <= 4  # about once a second


async def test_market_order_goes_with_its_protection_and_paper_mode_without_algo_name() -> None:
    rig = await ready_rig()
    await rig.engine.submit(msg(intent(order_type=OrderType.MARKET)))
    (req,) = rig.broker.placed
    assert req.market_protection == 5
    assert req.algo_name is None


async def test_live_mode_without_an_algo_name_is_rejected() -> None:
    rig = await ready_rig(mode="live")
    sub = await rig.engine.submit(msg(intent()))
    assert sub.rejected is not None and sub.rejected.reason is RejectReason.NO_ALGO_NAME
    assert rig.broker.placed == []
    assert rig.journal.events[-1].reason == "NO_ALGO_NAME"
    live = await ready_rig(mode="live", algo_names={"orb": "ORB-1"}, default_algo_name="ANY")
    await live.engine.submit(msg(intent()))
    await live.engine.submit(msg(intent(strategy="other")))
    assert [r.algo_name for r in live.broker.placed] == ["ORB-1", "ANY"]
    assert live.journal.events[-1].algo_name == "ANY"
