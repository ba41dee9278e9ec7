"""The paper broker behind the Broker port: fills from the book fed as ticks, the fake clock's
latency, stale quotes, stops, cancels and modifies, protection, and the books it keeps."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from quant.core.clock import NS_PER_MS, FakeClock
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.orders import OrderStatus, OrderType, Side
from quant.execution.paper_broker import NOT_FOUND, NOT_MODIFIABLE, PaperBroker
from quant.trading.broker import Broker, BrokerOrder, BrokerRejected, PlaceRequest
from quant.trading.intent import OrderIntent, Product, Validity
from quant.trading.paper import PaperConfig

S = OrderStatus
KEY = "NSE_EQ|INE002A01018"
T0 = 1_765_000_000_000_000_000  # 2025-12-06 05:46:40 UTC, 11:16 IST
_seq = iter(range(1, 1_000_000))


def tick(
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    *,
    ts: int = T0,
    ltp: int = 10_000,
    ltq: int = 0,
    ltt: int = 0,
    mode: FeedMode = FeedMode.FULL,
) -> Tick:
    """A full-mode tick whose depth is the (price, qty) pairs, best first."""
    rows = max(len(bids), len(asks))
    bids = bids + [(0, 0)] * (rows - len(bids))
    asks = asks + [(0, 0)] * (rows - len(asks))
    depth = tuple(DepthLevel(b[0], b[1], a[0], a[1]) for b, a in zip(bids, asks, strict=True))
    return Tick(KEY, mode, ts, ts, ltp, ltt_ns=ltt, ltq=ltq, depth=depth)


def request(
    side: Side,
    qty: int,
    order_type: OrderType = OrderType.MARKET,
    *,
    price: int = 0,
    trigger: int = 0,
    validity: Validity = Validity.DAY,
    product: Product = Product.INTRADAY,
    protection: int = 0,
    market_protection: int | None = None,
) -> PlaceRequest:
    intent = OrderIntent(
        "orb", KEY, side, qty, order_type, product, price=price, trigger_price=trigger,
        validity=validity,
    )  # fmt: skip
    cid = f"orb-251206-{next(_seq)}"
    return PlaceRequest(
        intent, cid, protection_price=protection, market_protection=market_protection
    )


async def updates(broker: PaperBroker, it: AsyncIterator[BrokerOrder]) -> list[BrokerOrder]:
    """The updates queued so far (all there: read without waiting)."""
    return [await anext(it) for _ in range(broker.pending_updates)]


def fills(seen: list[BrokerOrder]) -> list[tuple[S, int, int]]:
    return [(u.status, u.filled_quantity, u.average_price) for u in seen]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def broker(clock: FakeClock) -> PaperBroker:
    return PaperBroker(clock, PaperConfig())


async def test_a_market_buy_walks_the_depth_and_the_rest_fills_on_the_next_book(
    broker: PaperBroker, clock: FakeClock
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_995, 4)], [(10_000, 5), (10_005, 3)]))
    (oid,) = await broker.place(request(Side.BUY, 12))
    assert oid.startswith("PAPER-")
    seen = await updates(broker, it)
    assert fills(seen) == [
        (S.OPEN, 0, 0),
        (S.PARTIALLY_FILLED, 5, 10_000),
        (S.PARTIALLY_FILLED, 8, (5 * 10_000 + 3 * 10_005 + 4) // 8),  # rounded to the paisa
    ]
    assert [u.broker_status for u in seen] == ["open", "open", "open"]
    assert {u.broker_order_id for u in seen} == {oid}
    clock.advance(ns=NS_PER_MS)
    broker.on_tick(tick([(9_995, 4)], [(10_010, 10)], ts=clock.now_ns()))
    (last,) = await updates(broker, it)
    value = 5 * 10_000 + 3 * 10_005 + 4 * 10_010
    assert (last.status, last.filled_quantity, last.broker_status) == (S.FILLED, 12, "complete")
    assert last.average_price == round(value / 12)
    trades = await broker.trades()
    assert [(t.quantity, t.price, t.broker_order_id) for t in trades] == [
        (5, 10_000, oid),
        (3, 10_005, oid),
        (4, 10_010, oid),
    ]
    assert len({t.trade_id for t in trades}) == 3


async def test_a_limit_buy_fills_only_at_or_through_its_price(
    broker: PaperBroker, clock: FakeClock
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_990, 5)], [(10_005, 5)]))
    await broker.place(request(Side.BUY, 6, OrderType.LIMIT, price=10_000))
    assert fills(await updates(broker, it)) == [(S.OPEN, 0, 0)]
    clock.advance(ns=NS_PER_MS)
    broker.on_tick(tick([(9_990, 5)], [(10_001, 50)], ts=clock.now_ns()))
    assert await updates(broker, it) == []  # one paisa above the limit: nothing
    clock.advance(ns=NS_PER_MS)
    broker.on_tick(tick([(9_990, 5)], [(10_000, 2), (10_001, 50)], ts=clock.now_ns()))
    assert fills(await updates(broker, it)) == [(S.PARTIALLY_FILLED, 2, 10_000)]  # at
    clock.advance(ns=NS_PER_MS)
    broker.on_tick(tick([(9_980, 5)], [(9_985, 9)], ts=clock.now_ns()))
    # through: the rest fills at the book's better price, never above the limit
    assert fills(await updates(broker, it)) == [(S.FILLED, 6, (2 * 10_000 + 4 * 9_985 + 3) // 6)]
    assert [t.price for t in await broker.trades()] == [10_000, 9_985]


async def test_an_sl_m_sell_waits_trigger_pending_until_the_ltp_reaches_the_trigger(
    broker: PaperBroker, clock: FakeClock
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_995, 10)], [(10_000, 10)], ltp=9_995))
    await broker.place(request(Side.SELL, 4, OrderType.SL_M, trigger=9_900))
    (ack,) = await updates(broker, it)
    assert (ack.status, ack.broker_status, ack.trigger_price) == (
        S.TRIGGER_PENDING,
        "trigger pending",
        9_900,
    )
    clock.advance(ns=NS_PER_MS)
    broker.on_tick(tick([(9_905, 10)], [(9_910, 10)], ts=clock.now_ns(), ltp=9_905))
    assert await updates(broker, it) == []
    clock.advance(ns=NS_PER_MS)
    broker.on_tick(tick([(9_895, 3), (9_890, 5)], [(9_900, 10)], ts=clock.now_ns(), ltp=9_900))
    seen = await updates(broker, it)
    assert fills(seen) == [
        (S.OPEN, 0, 0),  # triggered: now a market order
        (S.PARTIALLY_FILLED, 3, 9_895),
        (S.FILLED, 4, (3 * 9_895 + 9_890 + 2) // 4),
    ]
    assert seen[0].broker_status == "open"
    assert seen[-1].order_type is OrderType.SL_M


async def test_cancel_by_broker_id_and_refusals_for_unknown_or_finished_orders(
    broker: PaperBroker,
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_990, 5)], [(10_010, 5)]))
    (oid,) = await broker.place(request(Side.BUY, 5, OrderType.LIMIT, price=10_000))
    await broker.cancel(oid)
    seen = await updates(broker, it)
    assert [(u.status, u.broker_status) for u in seen] == [
        (S.OPEN, "open"),
        (S.CANCELLED, "cancelled"),
    ]
    with pytest.raises(BrokerRejected) as again:
        await broker.cancel(oid)
    assert again.value.code == NOT_MODIFIABLE
    with pytest.raises(BrokerRejected) as unknown:
        await broker.cancel("PAPER-999")
    assert unknown.value.code == NOT_FOUND
    assert broker.matcher.get(seen[0].client_order_id) is None
    (row,) = await broker.order_book()
    assert row.status is S.CANCELLED  # the order book keeps finished orders


async def test_modify_moves_a_limit_through_the_book_and_refuses_a_quantity_below_the_fills(
    broker: PaperBroker,
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_990, 5)], [(10_000, 3), (10_010, 20)]))
    req = request(Side.BUY, 10, OrderType.LIMIT, price=10_000)
    (oid,) = await broker.place(req)
    assert fills(await updates(broker, it)) == [(S.OPEN, 0, 0), (S.PARTIALLY_FILLED, 3, 10_000)]
    with pytest.raises(BrokerRejected, match="not above"):
        await broker.modify(oid, replace(req.intent, quantity=3))
    await broker.modify(oid, replace(req.intent, price=10_010))
    seen = await updates(broker, it)
    assert fills(seen)[-1] == (S.FILLED, 10, (3 * 10_000 + 7 * 10_010 + 5) // 10)
    assert seen[-1].price == 10_010
    with pytest.raises(BrokerRejected) as done:
        await broker.modify(oid, replace(req.intent, price=10_020))
    assert done.value.code == NOT_MODIFIABLE


async def test_an_order_is_not_filled_before_its_latency_has_elapsed(clock: FakeClock) -> None:
    broker = PaperBroker(clock, PaperConfig(latency_ns=50 * NS_PER_MS))
    it = broker.updates()
    broker.on_tick(tick([(9_995, 10)], [(10_000, 10)]))
    await broker.place(request(Side.BUY, 4))
    assert fills(await updates(broker, it)) == [(S.OPEN, 0, 0)]
    clock.advance(ns=50 * NS_PER_MS - 1)
    broker.on_time()
    broker.on_tick(tick([(9_995, 10)], [(10_000, 10)], ts=clock.now_ns()))
    assert await updates(broker, it) == []
    clock.advance(ns=1)
    broker.on_time()
    assert fills(await updates(broker, it)) == [(S.FILLED, 4, 10_000)]


async def test_a_stale_book_fills_nothing_until_a_fresh_one_comes(
    broker: PaperBroker, clock: FakeClock
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_995, 10)], [(10_000, 10)], ts=T0))
    clock.advance(3.0)  # default stale_after: 2 s
    await broker.place(request(Side.BUY, 4))
    assert fills(await updates(broker, it)) == [(S.OPEN, 0, 0)]
    broker.on_time()
    assert await updates(broker, it) == []
    assert broker.stale_skips >= 1
    broker.on_tick(tick([(9_995, 10)], [(10_005, 10)], ts=clock.now_ns()))
    assert fills(await updates(broker, it)) == [(S.FILLED, 4, 10_005)]


async def test_ticks_without_depth_and_malformed_depth_are_counted_and_fill_nothing(
    broker: PaperBroker,
) -> None:
    it = broker.updates()
    await broker.place(request(Side.BUY, 4))
    await broker.place(request(Side.SELL, 2, OrderType.SL_M, trigger=9_900))
    await updates(broker, it)
    broker.on_tick(Tick(KEY, FeedMode.LTPC, T0, T0, 9_800, ltt_ns=T0, ltq=100))
    broker.on_tick(tick([(9_990, 1), (9_995, 1)], [(10_000, 1)], ltp=9_800))  # bids unsorted
    assert (broker.ticks_without_depth, broker.bad_books) == (1, 1)
    assert await updates(broker, it) == []
    assert [o.status for o in await broker.order_book()] == [S.OPEN, S.TRIGGER_PENDING]


async def test_trades_positions_and_order_book_agree_with_the_updates(
    broker: PaperBroker, clock: FakeClock
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_995, 6), (9_990, 10)], [(10_000, 8)]))
    await broker.place(request(Side.BUY, 8))
    await broker.place(request(Side.SELL, 10))
    await broker.place(request(Side.BUY, 5, product=Product.DELIVERY))  # the asks are used up
    clock.advance(ns=NS_PER_MS)
    broker.on_tick(tick([(9_995, 6)], [(10_002, 8)], ts=clock.now_ns()))
    seen = await updates(broker, it)
    last = {u.broker_order_id: u for u in seen}
    book = {o.broker_order_id: o for o in await broker.order_book()}
    assert book == last
    trades = await broker.trades()
    for oid, order in book.items():
        mine = [t for t in trades if t.broker_order_id == oid]
        assert sum(t.quantity for t in mine) == order.filled_quantity
        value = sum(t.quantity * t.price for t in mine)
        assert order.average_price == round(value / order.filled_quantity)
    positions = {(p.instrument_key, p.product): p for p in await broker.positions()}
    intraday, delivery = positions[(KEY, "I")], positions[(KEY, "D")]
    assert (intraday.buy_quantity, intraday.sell_quantity, intraday.quantity) == (8, 10, -2)
    assert intraday.buy_value == 8 * 10_000
    assert intraday.sell_value == 6 * 9_995 + 4 * 9_990
    assert (delivery.quantity, delivery.buy_value) == (5, 5 * 10_002)


async def test_find_by_tag_returns_the_order_placed_under_a_client_order_id(
    broker: PaperBroker,
) -> None:
    req = request(Side.BUY, 3, OrderType.LIMIT, price=9_000)
    (oid,) = await broker.place(req)
    (found,) = await broker.find_by_tag(req.client_order_id)
    assert (found.broker_order_id, found.client_order_id, found.quantity) == (
        oid,
        req.client_order_id,
        3,
    )
    assert await broker.find_by_tag("orb-251206-999999") == []
    with pytest.raises(BrokerRejected, match="already has order"):
        await broker.place(req)  # never a second order under the same tag


async def test_a_protected_market_order_never_fills_beyond_its_protection_price(
    broker: PaperBroker,
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_990, 5)], [(10_000, 5), (10_005, 5), (10_010, 10)]))
    await broker.place(request(Side.BUY, 15, protection=10_005))
    seen = await updates(broker, it)
    assert fills(seen)[-1] == (S.PARTIALLY_FILLED, 10, (5 * 10_000 + 5 * 10_005 + 5) // 10)
    assert (seen[-1].order_type, seen[-1].price) == (OrderType.MARKET, 0)  # as placed


async def test_a_protection_percentage_alone_is_priced_from_the_touch_of_the_book_held(
    broker: PaperBroker,
) -> None:
    it = broker.updates()
    broker.on_tick(tick([(9_990, 5)], [(10_000, 5), (10_100, 5), (10_101, 50)]))
    await broker.place(request(Side.BUY, 20, market_protection=1))  # 1% above 10_000
    assert fills(await updates(broker, it))[-1] == (
        S.PARTIALLY_FILLED,
        10,
        (5 * 10_000 + 5 * 10_100) // 10,
    )
    await broker.place(request(Side.SELL, 20, market_protection=-1))  # automatic: 3%
    seen = await updates(broker, it)
    assert fills(seen)[-1] == (S.PARTIALLY_FILLED, 5, 9_990)
    # the limit is 9_990 x 0.97 = 9_690.3, rounded up to 9_691: the 9_690 bids are not hit
    broker.on_tick(tick([(9_700, 10), (9_690, 50)], [(10_101, 50)]))
    assert fills(await updates(broker, it)) == [(S.PARTIALLY_FILLED, 15, 9_797)]


async def test_updates_never_end_and_wait_for_the_next_update(broker: PaperBroker) -> None:
    it = broker.updates()
    pending = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not pending.done()
    (oid,) = await broker.place(request(Side.BUY, 1, OrderType.LIMIT, price=9_000))
    assert (await pending).broker_order_id == oid


async def test_a_new_ist_day_drops_finished_orders_and_trades_and_carries_positions(
    broker: PaperBroker, clock: FakeClock
) -> None:
    broker.on_tick(tick([(9_995, 5)], [(10_000, 5)]))
    await broker.place(request(Side.BUY, 5, product=Product.DELIVERY))
    (working,) = await broker.place(request(Side.BUY, 1, OrderType.LIMIT, price=9_000))
    clock.advance(24 * 3600.0)
    assert [o.broker_order_id for o in await broker.order_book()] == [working]
    assert await broker.trades() == []
    (pos,) = await broker.positions()
    assert (pos.quantity, pos.buy_quantity, pos.buy_value) == (5, 0, 0)


def test_the_paper_broker_implements_every_method_of_the_broker_port(clock: FakeClock) -> None:
    port: Broker = PaperBroker(clock, PaperConfig())  # mypy checks the signatures
    members = [n for n in dir(Broker) if not n.startswith("_")]
    assert members == sorted(
        ["place", "modify", "cancel", "order_book", "trades", "positions", "find_by_tag", "updates"]
    )
    for name in members:
        mine, theirs = getattr(port, name), getattr(Broker, name)
        assert inspect.signature(mine).parameters.keys() == (
            inspect.signature(theirs).parameters.keys() - {"self"}
        )
        assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(theirs)


async def test_with_event_time_an_order_fills_on_the_book_of_its_decision_not_of_its_arrival(
    clock: FakeClock,
) -> None:
    broker = PaperBroker(clock, PaperConfig(event_time=True))
    it = broker.updates()
    broker.on_tick(tick([(9_995, 10)], [(10_000, 10)], ts=T0))
    broker.on_tick(tick([(10_095, 10)], [(10_100, 10)], ts=T0 + 5 * 10**9))
    clock.advance(6.0)  # the order arrives 6 s after the first book, decided 1 s after it
    await broker.place(replace(request(Side.BUY, 4), ts_decided=T0 + 10**9))
    assert fills(await updates(broker, it)) == [(S.OPEN, 0, 0), (S.FILLED, 4, 10_000)]
