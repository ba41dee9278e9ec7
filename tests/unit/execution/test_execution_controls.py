"""Kill switch (halt, flatten, resume, replay after restart), the daily-loss limit and the MIS
square-off, under the fake clock."""

from __future__ import annotations

from engine_kit import Rig, at, intent, msg, quote, ready_rig

from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.intent import Product
from quant.trading.risk_limits import RejectReason, RiskLimits, StrategyLimits
from quant.trading.state import TradingState


async def _confirm_cancels(rig: Rig) -> None:
    """The broker confirms every cancel it was sent."""
    for bid in rig.broker.cancelled:
        row = rig.broker.book[bid]
        if row.status is not OrderStatus.CANCELLED:
            await rig.engine.on_broker_update(
                rig.broker.set_status(row.client_order_id, OrderStatus.CANCELLED)
            )


async def _fill_all(rig: Rig, price: int) -> None:
    """The broker fills every order still working in its book at ``price``."""
    for row in list(rig.broker.book.values()):
        if row.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            await rig.engine.on_broker_update(
                rig.broker.fill(row.client_order_id, row.quantity, price)
            )


async def test_halt_cancels_working_orders_and_refuses_new_ones_until_resume() -> None:
    rig = await ready_rig()
    a = await rig.engine.submit(msg(intent()))
    other = await rig.engine.submit(msg(intent(strategy="mr")))
    states = await rig.engine.request_kill("halt", reason="desk says stop")
    assert states.account.state is TradingState.HALTED
    assert rig.control.commands[-1].engaged and not rig.control.commands[-1].flatten
    assert rig.engine.order(a.client_order_id).status is OrderStatus.CANCEL_PENDING  # type: ignore[union-attr]
    assert rig.engine.order(other.client_order_id).status is OrderStatus.CANCEL_PENDING  # type: ignore[union-attr]
    assert sorted(rig.broker.cancelled) == ["B1", "B2"]
    refused = await rig.engine.submit(msg(intent()))
    assert refused.rejected is not None and refused.rejected.reason is RejectReason.HALTED
    # nothing resumes by itself
    rig.clock.advance(60)
    quote(rig)
    await rig.engine.on_time()
    assert (await rig.engine.submit(msg(intent()))).rejected is not None
    await rig.engine.request_kill("resume")
    assert rig.engine.states().account.state is TradingState.ACTIVE
    assert (await rig.engine.submit(msg(intent()))).rejected is None


async def test_strategy_halt_leaves_other_strategies_alone() -> None:
    rig = await ready_rig()
    a = await rig.engine.submit(msg(intent()))
    b = await rig.engine.submit(msg(intent(strategy="mr")))
    await rig.engine.request_kill("halt", strategy="mr")
    assert rig.engine.order(a.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]
    assert rig.engine.order(b.client_order_id).status is OrderStatus.CANCEL_PENDING  # type: ignore[union-attr]
    assert (await rig.engine.submit(msg(intent()))).rejected is None
    assert (await rig.engine.submit(msg(intent(strategy="mr")))).rejected is not None


async def test_flatten_with_open_orders_and_positions_ends_flat() -> None:
    rig = await ready_rig()
    long_ = await rig.engine.submit(msg(intent(qty=10)))
    await rig.engine.on_broker_update(rig.broker.fill(long_.client_order_id, 10, 250_000))
    short = await rig.engine.submit(
        msg(intent(Side.SELL, 75, key="NSE_FO|52618", price=10_000, strategy="opt"))
    )
    await rig.engine.on_broker_update(rig.broker.fill(short.client_order_id, 75, 10_000))
    working = await rig.engine.submit(msg(intent(qty=5, price=240_000, product=Product.DELIVERY)))
    await rig.engine.request_kill("flatten", reason="drill")
    assert rig.engine.states().account.state is TradingState.HALTED
    await _confirm_cancels(rig)
    assert rig.engine.order(working.client_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    closers = [r for r in rig.broker.placed if r.intent.order_type is OrderType.MARKET]
    assert {(r.intent.strategy, r.intent.side, r.intent.quantity) for r in closers} == {
        ("orb", Side.SELL, 10),
        ("opt", Side.BUY, 75),
    }
    assert all(rig.engine.order_info(r.client_order_id).reason == "FLATTEN" for r in closers)  # type: ignore[union-attr]
    await _fill_all(rig, 250_000)
    assert all(p.is_flat for p in rig.engine.positions())
    # the same command again (replayed from the topic) does nothing more
    placed = len(rig.broker.placed)
    await rig.engine.on_kill_switch(rig.control.commands[-1])
    assert len(rig.broker.placed) == placed


async def test_flatten_replayed_while_its_orders_work_does_not_close_twice() -> None:
    rig = await ready_rig()
    a = await rig.engine.submit(msg(intent(qty=10)))
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 10, 250_000))
    await rig.engine.request_kill("flatten")
    assert len(rig.broker.placed) == 2
    again = rig.restart()
    await again.engine.recover()
    quote(again)
    await again.engine.on_kill_switch(rig.control.commands[-1])
    assert len(rig.broker.placed) == 2  # the FLATTEN order still works: nothing more
    assert again.engine.states().account.state is TradingState.HALTED


async def test_restarted_engine_fed_the_same_kill_switch_is_halted() -> None:
    rig = await ready_rig()
    await rig.engine.request_kill("halt", strategy="orb", reason="bad fills")
    (command,) = rig.control.commands
    again = rig.restart()
    await again.engine.recover()
    quote(again)
    await again.engine.on_kill_switch(command)
    assert again.engine.states().of("orb").state is TradingState.HALTED
    sub = await again.engine.submit(msg(intent()))
    assert sub.rejected is not None and sub.rejected.reason is RejectReason.HALTED


async def test_daily_loss_makes_the_account_reducing_only() -> None:
    rig = await ready_rig(limits=RiskLimits(max_daily_loss=1_000_00))
    a = await rig.engine.submit(msg(intent(qty=100)))
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 100, 250_000))
    quote(rig, eq=249_500)  # -500 unrealised, plus charges: under the limit
    await rig.engine.on_time()
    assert rig.engine.states().account.state is TradingState.ACTIVE
    quote(rig, eq=248_000)  # -2000
    await rig.engine.on_time()
    assert rig.engine.states().account.state is TradingState.REDUCING
    more = await rig.engine.submit(msg(intent(qty=1, price=248_000)))
    assert more.rejected is not None and more.rejected.reason is RejectReason.REDUCING_ONLY
    less = await rig.engine.submit(msg(intent(Side.SELL, 50, price=248_000)))
    assert less.rejected is None
    quote(rig, eq=260_000)  # back in profit: still reducing until resumed
    await rig.engine.on_time()
    assert rig.engine.states().account.state is TradingState.REDUCING


async def test_strategy_daily_loss_reduces_that_strategy_only() -> None:
    limits = RiskLimits(strategies={"orb": StrategyLimits(max_daily_loss=500_00)})
    rig = await ready_rig(limits=limits)
    a = await rig.engine.submit(msg(intent(qty=100)))
    await rig.engine.on_broker_update(rig.broker.fill(a.client_order_id, 100, 250_000))
    quote(rig, eq=249_000)
    await rig.engine.on_time()
    assert rig.engine.states().of("orb").state is TradingState.REDUCING
    assert rig.engine.states().account.state is TradingState.ACTIVE
    assert (await rig.engine.submit(msg(intent(price=249_000)))).rejected is not None
    assert (await rig.engine.submit(msg(intent(price=249_000, strategy="mr")))).rejected is None


async def test_mis_square_off_at_1515_closes_intraday_and_cancels_their_orders_once() -> None:
    rig = await ready_rig(now=at(15, 0), square_off=True)
    mis = await rig.engine.submit(msg(intent(qty=10)))
    await rig.engine.on_broker_update(rig.broker.fill(mis.client_order_id, 10, 250_000))
    cnc = await rig.engine.submit(msg(intent(qty=4, product=Product.DELIVERY)))
    await rig.engine.on_broker_update(rig.broker.fill(cnc.client_order_id, 4, 250_000))
    mis_working = await rig.engine.submit(msg(intent(qty=3, price=240_000)))
    cnc_working = await rig.engine.submit(
        msg(intent(qty=2, price=240_000, product=Product.DELIVERY))
    )
    rig.clock.set_ns(at(15, 14, 59))
    quote(rig)
    await rig.engine.on_time()
    assert len(rig.broker.placed) == 4 and rig.broker.cancelled == []
    rig.clock.set_ns(at(15, 15))
    quote(rig)
    await rig.engine.on_time()
    assert rig.engine.order(mis_working.client_order_id).status is OrderStatus.CANCEL_PENDING  # type: ignore[union-attr]
    assert rig.engine.order(cnc_working.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]
    (closer,) = rig.broker.placed[4:]
    assert (closer.intent.side, closer.intent.quantity, closer.intent.product) == (
        Side.SELL,
        10,
        Product.INTRADAY,
    )
    assert rig.engine.order_info(closer.client_order_id).reason == "SQUARE_OFF"  # type: ignore[union-attr]
    await rig.engine.on_broker_update(rig.broker.fill(closer.client_order_id, 10, 250_000))
    rig.clock.set_ns(at(15, 16))
    quote(rig)
    await rig.engine.on_time()
    assert len(rig.broker.placed) == 5  # once a day
    positions = {p.key.product: p.net_quantity for p in rig.engine.positions()}
    assert positions == {Product.INTRADAY: 0, Product.DELIVERY: 4}
    # a restart the same day does not square off again
    again = rig.restart(square_off=True)
    await again.engine.recover()
    quote(again)
    await again.engine.on_time()
    assert len(rig.broker.placed) == 5
