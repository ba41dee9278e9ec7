"""recover(): orders, positions and sequences rebuilt from the journal; fills the broker has
and the journal lacks applied (found by tag); a PENDING_NEW the broker never saw rejected
LOST_BEFORE_SEND; position mismatches reported; the submit path waits for it."""

from __future__ import annotations

from engine_kit import EQ_KEY, FO_KEY, FakeBroker, RecordingMetrics, intent, msg, quote, ready_rig

from quant.core.orders import OrderStatus, Side
from quant.trading.broker import BrokerPosition
from quant.trading.intent import Product
from quant.trading.risk_limits import RejectReason, RiskLimits


async def test_recover_rebuilds_orders_positions_and_sequences() -> None:
    rig = await ready_rig()
    a = await rig.engine.submit(msg(intent(qty=10)))
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 10, 250_000))
    b = await rig.engine.submit(msg(intent(Side.SELL, 4, price=251_000)))
    await rig.engine.on_broker_update(rig.broker.fill(b.client_order_id, 2, 251_000))
    bad = await rig.engine.submit(msg(intent(price=250_005)))  # off the tick: rejected
    assert bad.rejected is not None
    before = (rig.engine.orders(), rig.engine.positions(), rig.engine.pnl())

    again = rig.restart()
    report = await again.engine.recover()
    assert again.engine.ready
    assert (again.engine.orders(), again.engine.positions(), again.engine.pnl()) == before
    assert report.orders_loaded == 3
    assert report.open_orders == 1
    assert report.fills_applied == report.found_by_tag == report.lost_before_send == 0
    assert report.position_mismatches == ()
    quote(again)
    placed = len(rig.broker.placed)
    repeat = await again.engine.submit(msg(intent(), sequence=1))  # already used: same order
    assert repeat.orders[0].client_order_id == a.client_order_id
    assert len(rig.broker.placed) == placed
    nxt = await again.engine.submit(msg(intent()))
    assert nxt.client_order_id == "orb-261207-4"
    assert rig.engine.trades()[0].charges == again.engine.trades()[0].charges


async def test_recover_applies_fills_the_journal_lacks_and_finds_sent_orders_by_tag() -> None:
    rig = await ready_rig()
    a = await rig.engine.submit(msg(intent(qty=10)))
    rig.broker.fill(a.client_order_id, 6, 250_000)  # the process died before it saw this
    rig.broker.unknown = 1  # the broker has it, the answer was lost, then the process died
    b = await rig.engine.submit(msg(intent(qty=3)))
    assert b.orders[0].status is OrderStatus.PENDING_NEW

    again = rig.restart()
    report = await again.engine.recover()
    assert report.fills_applied == 1
    assert report.found_by_tag == 1
    assert again.engine.order(a.client_order_id).filled_quantity == 6  # type: ignore[union-attr]
    assert again.engine.order(b.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]
    (pos,) = again.engine.positions()
    assert pos.net_quantity == 6
    assert len(rig.broker.placed) == 2  # nothing placed again


async def test_pending_new_the_broker_never_saw_is_rejected_lost_before_send() -> None:
    rig = await ready_rig()
    rig.broker.unknown, rig.broker.reached = 1, False
    sub = await rig.engine.submit(msg(intent()))
    again = rig.restart()
    report = await again.engine.recover()
    assert report.lost_before_send == 1
    order = again.engine.order(sub.client_order_id)
    assert order is not None and order.status is OrderStatus.REJECTED
    assert rig.journal.events[-1].reason == RejectReason.LOST_BEFORE_SEND.value
    assert again.engine.order_info(sub.client_order_id).reason == "LOST_BEFORE_SEND"  # type: ignore[union-attr]
    assert len(rig.broker.placed) == 1  # the one attempt; never placed again
    quote(again)
    repeat = await again.engine.submit(msg(intent(), sequence=1))
    assert repeat.rejected is not None
    assert repeat.rejected.reason is RejectReason.LOST_BEFORE_SEND
    assert len(rig.broker.placed) == 1


async def test_live_recovery_reports_position_mismatches() -> None:
    rig = await ready_rig(mode="live", default_algo_name="A1")
    a = await rig.engine.submit(msg(intent(qty=10)))
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 10, 250_000))
    rig.broker.positions_ = [BrokerPosition(EQ_KEY, "I", 7, 7, 0, 7 * 250_000, 0)]
    again = rig.restart(mode="live", default_algo_name="A1")
    report = await again.engine.recover()
    assert report.position_mismatches == (f"{EQ_KEY} I: journal 10 units, broker 7 units today",)
    rig.broker.positions_ = [BrokerPosition(EQ_KEY, "I", 10, 10, 0, 10 * 250_000, 0)]
    third = rig.restart(mode="live", default_algo_name="A1")
    assert (await third.engine.recover()).position_mismatches == ()


async def test_a_delivery_position_carried_from_an_earlier_day_is_not_a_mismatch() -> None:
    rig = await ready_rig(mode="live", default_algo_name="A1")
    a = await rig.engine.submit(msg(intent(qty=10, product=Product.DELIVERY)))
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 10, 250_000))
    # the broker's net holds 25 units bought on earlier days besides today's 10
    carried = BrokerPosition(EQ_KEY, "D", 35, 10, 0, 10 * 250_000, 0)
    rig.broker.positions_ = [carried]
    again = rig.restart(mode="live", default_algo_name="A1")
    assert (await again.engine.recover()).position_mismatches == ()
    # a carried position sold today: the day's net is -5 and the journal has no order
    rig.broker.positions_ = [carried, BrokerPosition(FO_KEY, "D", 20, 0, 5, 0, 5 * 10_000)]
    third = rig.restart(mode="live", default_algo_name="A1")
    assert (await third.engine.recover()).position_mismatches == (
        f"{FO_KEY} D: journal 0 units, broker -5 units today",
    )


async def test_paper_recovery_cancels_working_orders_the_new_paper_broker_lacks() -> None:
    rig = await ready_rig()
    a = await rig.engine.submit(msg(intent(qty=10)))
    again = rig.restart(broker=FakeBroker(rig.clock))
    report = await again.engine.recover()
    assert report.open_orders == 0
    assert again.engine.order(a.client_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]


async def test_metrics_see_orders_rejections_states_pnl_and_mismatches() -> None:
    metrics = RecordingMetrics()
    rig = await ready_rig(metrics=metrics, limits=RiskLimits(max_order_value=10_000_00))
    a = await rig.engine.submit(msg(intent(qty=2)))
    await rig.engine.submit(msg(intent(qty=100)))  # above the order value
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 2, 250_000))
    await rig.engine.request_kill("halt")
    await rig.engine.on_time()
    assert metrics.named("intent") == [("intent",), ("intent",)]
    assert [c[1] for c in metrics.named("order_status")] == [
        "PENDING_NEW", "OPEN", "REJECTED", "FILLED",
    ]  # fmt: skip
    assert metrics.named("rejection") == [("rejection", "ORDER_VALUE")]
    assert metrics.named("trading_state")[-1] == ("trading_state", "account", 2)
    realised, unrealised, charges = metrics.named("pnl")[-1][1:]
    assert (realised, unrealised) == (0, 0) and charges == rig.engine.charges() > 0
    assert len(metrics.named("intent_to_ack")) == 1
    rig.broker.positions_ = [BrokerPosition(EQ_KEY, "I", 1, 1, 0, 250_000, 0)]
    again_metrics = RecordingMetrics()
    again = rig.restart(mode="live", default_algo_name="A", metrics=again_metrics)
    await again.engine.recover()
    assert again_metrics.named("reconcile_mismatch") == [("reconcile_mismatch", 1)]
