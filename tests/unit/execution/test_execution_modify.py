"""Modifying a working order: MODIFY_PENDING journalled before the request, working again
with the new values on the broker's report, restored on a refusal; the amended order passes
the risk check and takes a rate-limit slot; a cancel overrides a queued modification."""

from __future__ import annotations

import pytest
from engine_kit import EQ_KEY, at, intent, make_rig, msg, ready_rig, tick

from quant.core.clock import FakeClock
from quant.core.orders import OrderStatus
from quant.execution.engine import ModifyRefused, NotModifiable, UnknownOrder
from quant.execution.paper_broker import PaperBroker
from quant.trading.errors import InvalidIntent
from quant.trading.intent import Amendment
from quant.trading.paper import PaperConfig
from quant.trading.risk_limits import RejectReason

S = OrderStatus


async def test_a_price_change_is_pending_until_the_broker_reports_it() -> None:
    rig = await ready_rig()
    cid = (await rig.engine.submit(msg(intent(price=249_000)))).client_order_id
    order = await rig.engine.modify(cid, Amendment(price=249_500, quantity=20))
    assert order.status is S.MODIFY_PENDING
    bid = rig.broker.row(cid).broker_order_id
    assert [(b, a.price, a.quantity) for b, a in rig.broker.modified] == [(bid, 249_500, 20)]
    # journalled (and published) before the request went
    assert [e.status for e in rig.journal.of(cid)][-1] is S.MODIFY_PENDING
    await rig.engine.on_broker_update(rig.broker.row(cid))
    now = rig.engine.order(cid)
    assert now is not None
    assert now.status is S.OPEN
    assert (now.intent.price, now.intent.quantity) == (249_500, 20)
    assert rig.journal.of(cid)[-1].status is S.OPEN


async def test_a_report_with_the_old_values_keeps_it_pending() -> None:
    rig = await ready_rig()
    cid = (await rig.engine.submit(msg(intent(price=249_000)))).client_order_id
    old_row = rig.broker.row(cid)
    await rig.engine.modify(cid, Amendment(price=249_500))
    await rig.engine.on_broker_update(old_row)  # an update sent before the change applied
    order = rig.engine.order(cid)
    assert order is not None and order.status is S.MODIFY_PENDING


async def test_a_refused_modification_restores_the_order_as_it_was() -> None:
    rig = await ready_rig()
    cid = (await rig.engine.submit(msg(intent(price=249_000)))).client_order_id
    rig.broker.refuse_modify = 1
    order = await rig.engine.modify(cid, Amendment(price=249_500))
    assert order.status is S.OPEN
    assert order.intent.price == 249_000
    assert "cannot be modified" in order.message
    assert [e.status for e in rig.journal.of(cid)][-2:] == [S.MODIFY_PENDING, S.OPEN]


async def test_what_cannot_be_modified_is_refused_before_any_request() -> None:
    rig = await ready_rig()
    with pytest.raises(UnknownOrder):
        await rig.engine.modify("orb-261207-99", Amendment(price=1))
    cid = (await rig.engine.submit(msg(intent(qty=10, price=249_000)))).client_order_id
    await rig.engine.on_broker_update(rig.broker.fill(cid, 10, 249_000))
    with pytest.raises(NotModifiable, match="FILLED"):
        await rig.engine.modify(cid, Amendment(price=249_500))
    pending = (await rig.engine.submit(msg(intent(price=249_000)))).client_order_id
    with pytest.raises(InvalidIntent):
        await rig.engine.modify(pending, Amendment())  # nothing to change
    await rig.engine.modify(pending, Amendment(price=249_100))
    with pytest.raises(NotModifiable, match="MODIFY_PENDING"):
        await rig.engine.modify(pending, Amendment(price=249_200))
    assert len(rig.broker.modified) == 1


async def test_the_amended_order_passes_the_risk_check() -> None:
    rig = await ready_rig()
    cid = (await rig.engine.submit(msg(intent(price=249_000)))).client_order_id
    with pytest.raises(ModifyRefused) as refused:
        await rig.engine.modify(cid, Amendment(price=249_005))  # off the 10-paise tick
    assert refused.value.rejected.reason is RejectReason.TICK_SIZE
    assert rig.broker.modified == []
    order = rig.engine.order(cid)
    assert order is not None and order.status is S.OPEN


async def test_modifies_share_the_order_rate_limit_and_a_cancel_overrides_a_queued_one() -> None:
    rig = await ready_rig()
    cids = [(await rig.engine.submit(msg(intent(qty=1)))).client_order_id for _ in range(10)]
    # ten places used this second's slots: the modification waits for the next one
    order = await rig.engine.modify(cids[0], Amendment(price=249_900))
    assert order.status is S.MODIFY_PENDING
    assert rig.broker.modified == []
    assert rig.engine.queue_depth() == 1
    rig.clock.advance(1.1)
    await rig.engine.on_time()
    assert [a.price for _, a in rig.broker.modified] == [249_900]
    # queued again behind a full second, then cancelled before its slot: never sent
    for _ in range(10):
        await rig.engine.submit(msg(intent(qty=1)))
    await rig.engine.on_broker_update(rig.broker.row(cids[0]))
    await rig.engine.modify(cids[1], Amendment(price=249_800))
    await rig.engine.cancel(cids[1])
    rig.clock.advance(1.1)
    await rig.engine.on_time()
    assert [a.price for _, a in rig.broker.modified] == [249_900]
    order1 = rig.engine.order(cids[1])
    assert order1 is not None and order1.status is S.CANCEL_PENDING
    assert rig.engine.order(cids[0]) is not None
    assert order1.intent.instrument_key == EQ_KEY


async def test_with_the_paper_broker_the_new_price_works_in_the_book_and_fills() -> None:
    clock = FakeClock(at(10, 0))
    paper = PaperBroker(clock, PaperConfig())
    rig = make_rig(clock=clock, broker=paper)  # type: ignore[arg-type]
    await rig.engine.recover()
    book = tick(EQ_KEY, 250_000, clock.now_ns(), spread=10)  # bid 2499.90, ask 2500.10
    rig.engine.on_tick(book)
    paper.on_tick(book)
    updates = paper.updates()

    async def deliver() -> None:
        for _ in range(paper.pending_updates):
            await rig.engine.on_broker_update(await anext(updates))

    cid = (await rig.engine.submit(msg(intent(qty=5, price=249_000)))).client_order_id
    await deliver()
    order = rig.engine.order(cid)
    assert order is not None and order.status is S.OPEN
    await rig.engine.modify(cid, Amendment(price=250_010))  # up to the ask: marketable
    await deliver()
    order = rig.engine.order(cid)
    assert order is not None
    assert order.intent.price == 250_010
    assert (order.status, order.filled_quantity) == (S.FILLED, 5)
    statuses = [e.status for e in rig.journal.of(cid)]
    assert statuses[-3:] == [S.MODIFY_PENDING, S.OPEN, S.FILLED]
