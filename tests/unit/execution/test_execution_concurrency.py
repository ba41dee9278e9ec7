"""Concurrent intents, cancels and odd broker reports: the limits hold when intents arrive
together, cancels answer for unknown and final orders, reports for others' orders are
ignored, a publish failure loses nothing."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from engine_kit import MemoryJournal, intent, msg, quote, ready_rig

from quant.core.orders import OrderEvent, OrderStatus
from quant.execution.engine import NotCancellable, UnknownOrder
from quant.trading.risk_limits import RejectReason, RiskLimits


class YieldingJournal(MemoryJournal):
    """A journal whose appends take a turn of the event loop, as a real store's do."""

    async def append(self, event: OrderEvent) -> None:
        await asyncio.sleep(0)
        await super().append(event)


async def test_intents_arriving_together_each_see_the_others_orders() -> None:
    rig = await ready_rig(limits=RiskLimits(max_open_orders=2), journal=YieldingJournal())
    subs = await asyncio.gather(*(rig.engine.submit(msg(intent())) for _ in range(5)))
    accepted = [s for s in subs if s.rejected is None]
    assert len(accepted) == 2
    assert {s.rejected.reason for s in subs if s.rejected} == {RejectReason.OPEN_ORDERS}
    assert len(rig.broker.placed) == 2


async def test_the_same_intent_twice_at_once_makes_one_order() -> None:
    rig = await ready_rig(journal=YieldingJournal())
    a, b = await asyncio.gather(
        rig.engine.submit(msg(intent(), sequence=3)), rig.engine.submit(msg(intent(), sequence=3))
    )
    assert a.client_order_id == b.client_order_id
    assert len(rig.broker.placed) == 1


async def test_cancel_of_unknown_and_final_orders_is_refused() -> None:
    rig = await ready_rig()
    with pytest.raises(UnknownOrder):
        await rig.engine.cancel("orb-261207-99")
    sub = await rig.engine.submit(msg(intent()))
    await rig.engine.on_broker_update(rig.broker.fill(sub.client_order_id, 10, 250_000))
    with pytest.raises(NotCancellable):
        await rig.engine.cancel(sub.client_order_id)
    open_ = await rig.engine.submit(msg(intent()))
    pending = await rig.engine.cancel(open_.client_order_id)
    assert pending.status is OrderStatus.CANCEL_PENDING
    with pytest.raises(NotCancellable):
        await rig.engine.cancel(open_.client_order_id)
    await rig.engine.on_broker_update(
        rig.broker.set_status(open_.client_order_id, OrderStatus.CANCELLED, "cancelled by user")
    )
    assert rig.engine.order(open_.client_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]


async def test_cancel_while_the_placement_is_unknown_goes_once_the_order_is_found() -> None:
    rig = await ready_rig()
    rig.broker.unknown = 1
    sub = await rig.engine.submit(msg(intent()))
    order = await rig.engine.cancel(sub.client_order_id)
    assert order.status is OrderStatus.CANCEL_PENDING
    assert rig.broker.cancelled == []
    rig.clock.advance(0.1)
    await rig.engine.on_time()  # finds it by tag, then sends the cancel
    assert rig.broker.cancelled == ["B1"]
    assert len(rig.broker.placed) == 1


async def test_reports_for_orders_not_ours_are_ignored_and_broker_rejects_are_coded() -> None:
    rig = await ready_rig()
    rig.broker.unknown = 1
    sub = await rig.engine.submit(msg(intent()))
    stranger = rig.broker.row(sub.client_order_id)
    foreign = dataclasses.replace(
        stranger, broker_order_id="X9", client_order_id="", status=OrderStatus.FILLED
    )
    await rig.engine.on_broker_update(foreign)
    assert rig.engine.positions() == []
    await rig.engine.on_broker_update(
        rig.broker.set_status(sub.client_order_id, OrderStatus.REJECTED, "price band")
    )
    order = rig.engine.order(sub.client_order_id)
    assert order is not None and order.status is OrderStatus.REJECTED
    assert order.message == "price band"
    assert rig.engine.order_info(sub.client_order_id).reason == "BROKER_REJECTED"  # type: ignore[union-attr]


class FailingPublisher:
    def send(self, event: OrderEvent) -> None:
        raise ConnectionError("bus down")

    async def flush(self) -> None:
        raise ConnectionError("bus down")


async def test_a_publish_failure_loses_nothing() -> None:
    rig = await ready_rig()
    rig.engine._publisher = FailingPublisher()  # the bus goes down
    quote(rig)
    sub = await rig.engine.submit(msg(intent()))
    assert sub.orders[0].status is OrderStatus.OPEN
    assert [e.status for e in rig.journal.events] == [OrderStatus.PENDING_NEW, OrderStatus.OPEN]


class FlakyJournal(MemoryJournal):
    """A journal that fails its next ``fail`` appends (the store is down)."""

    fail = 0

    async def append(self, event: OrderEvent) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("store down")
        await super().append(event)


async def test_an_acknowledgement_the_journal_refused_is_journaled_later_never_resent() -> None:
    journal = FlakyJournal()
    rig = await ready_rig(journal=journal)
    rig.broker.calls.log.clear()
    original = rig.broker.place

    async def place_then_fail(request):  # type: ignore[no-untyped-def]
        ids = await original(request)
        journal.fail = 1  # the store goes down between the place and its OPEN
        return ids

    rig.broker.place = place_then_fail  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await rig.engine.submit(msg(intent()))
    cid = "orb-261207-1"
    assert rig.engine.order(cid).status is OrderStatus.PENDING_NEW  # type: ignore[union-attr]
    rig.clock.advance(1.5)
    await rig.engine.on_time()
    assert rig.engine.order(cid).status is OrderStatus.OPEN  # type: ignore[union-attr]
    assert [e.status for e in journal.of(cid)] == [OrderStatus.PENDING_NEW, OrderStatus.OPEN]
    assert len(rig.broker.placed) == 1


async def test_a_journal_that_refuses_pending_new_sends_nothing() -> None:
    journal = FlakyJournal()
    rig = await ready_rig(journal=journal)
    journal.fail = 1
    with pytest.raises(ConnectionError):
        await rig.engine.submit(msg(intent()))
    assert rig.broker.placed == []
    assert rig.engine.orders() == []
