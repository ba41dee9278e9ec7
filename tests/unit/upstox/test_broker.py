"""The live Upstox broker against the in-process simulator: place with tag and algo name,
modify, cancel, order book / trades / positions after fills, portfolio-stream updates, a
place whose answer is lost (resolved by tag, exactly one order at the simulator), resent
modify/cancel, and the refusal of a live order without an algo name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from quant.core.clock import IST
from quant.core.orders import OrderStatus, OrderType, Side
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.trading.broker import BrokerOrder, BrokerRejected, OrderRefused, PlaceRequest
from quant.trading.intent import OrderIntent, Product
from quant.upstox.broker import (
    NO_ALGO_NAME,
    UpstoxBroker,
    broker_order,
    build_upstox_broker,
    order_request,
)
from quant.upstox.config import FeedConfig, RestConfig
from quant.upstox.errors import UpstoxDecodeError, UpstoxTransportError
from quant.upstox.models import OrderDetails
from quant.upstox.portfolio import UpstoxPortfolioStream
from quant.upstox.rest import UpstoxRestClient
from quant.upstox.rest_parsing import parse_order_update
from quant.upstox.settings import UpstoxSettings

RELIANCE = "NSE_EQ|INE002A01018"
START = datetime(2026, 11, 24, 9, 15, 30, tzinfo=IST)  # a Tuesday, market open
ALGO = "orb-v1"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    # a frozen market (one step an hour): MARKET orders fill at once, LIMITs away rest
    cfg = SimConfig(start=START, speed=1.0, step_interval=3600.0, ping_interval=None)
    async with SimServer(cfg) as server:
        await asyncio.sleep(0.2)
        yield server


@pytest.fixture
async def rest(sim: SimServer) -> AsyncIterator[UpstoxRestClient]:
    token = sim.mint_token()
    config = RestConfig(api_base=sim.base_url, hft_base=sim.base_url, timeout_seconds=0.5)
    async with UpstoxRestClient(lambda: token, config) as client:
        yield client


def _broker(rest: UpstoxRestClient, sim: SimServer, **kw: object) -> UpstoxBroker:
    stream = UpstoxPortfolioStream(
        rest, FeedConfig(api_base=sim.base_url, reconnect_base_seconds=0.05)
    )
    return UpstoxBroker(rest, stream, lookup_delay_seconds=0.1, **kw)  # type: ignore[arg-type]


def _intent(side: Side = Side.BUY, qty: int = 5, **kw: object) -> OrderIntent:
    fields: dict[str, object] = {
        "strategy": "orb",
        "instrument_key": RELIANCE,
        "side": side,
        "quantity": qty,
        "order_type": OrderType.MARKET,
        "product": Product.INTRADAY,
    }
    fields.update(kw)
    return OrderIntent(**fields)  # type: ignore[arg-type]


def _resting_limit(sim: SimServer) -> OrderIntent:
    """A BUY LIMIT 3 % under the LTP, on the tick grid: it rests, inside the circuit band."""
    row = sim.state.universe.index_of[RELIANCE]
    ltp, tick = int(sim.market.ltp[row]), int(sim.market.tick[row])
    return _intent(order_type=OrderType.LIMIT, price=ltp * 97 // 100 // tick * tick)


def _tick(sim: SimServer) -> int:
    return int(sim.market.tick[sim.state.universe.index_of[RELIANCE]])


def _sim_orders(sim: SimServer, tag: str) -> list[object]:
    return [o for o in sim.state.engine.orders.values() if o.tag == tag]


async def test_place_sends_tag_and_algo_name_and_fills_show_everywhere(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    broker = _broker(rest, sim)
    ids = await broker.place(PlaceRequest(_intent(qty=5), "orb-261124-1", algo_name=ALGO))
    (order,) = _sim_orders(sim, "orb-261124-1")
    assert order.order_id == ids[0]  # type: ignore[attr-defined]
    assert order.algo_name == ALGO  # type: ignore[attr-defined]
    await broker.place(PlaceRequest(_intent(Side.SELL, qty=2), "orb-261124-2", algo_name=ALGO))

    book = {o.client_order_id: o for o in await broker.order_book()}
    assert book["orb-261124-1"].status is OrderStatus.FILLED
    assert book["orb-261124-1"].filled_quantity == 5
    assert book["orb-261124-1"].side is Side.BUY
    assert book["orb-261124-2"].status is OrderStatus.FILLED
    trades = await broker.trades()
    assert sorted((t.broker_order_id == ids[0], t.side, t.quantity) for t in trades) == [
        (False, Side.SELL, 2),
        (True, Side.BUY, 5),
    ]
    assert all(t.price > 0 for t in trades)
    (position,) = await broker.positions()
    assert (position.instrument_key, position.product) == (RELIANCE, "I")
    assert (position.quantity, position.buy_quantity, position.sell_quantity) == (3, 5, 2)
    buys = sum(t.quantity * t.price for t in trades if t.side is Side.BUY)
    assert position.buy_value == buys


async def test_modify_and_cancel_a_resting_order(sim: SimServer, rest: UpstoxRestClient) -> None:
    broker = _broker(rest, sim)
    intent = _resting_limit(sim)
    (oid,) = await broker.place(PlaceRequest(intent, "orb-261124-3", algo_name=ALGO))
    (found,) = await broker.find_by_tag("orb-261124-3")
    assert (found.broker_order_id, found.status) == (oid, OrderStatus.OPEN)

    lower = intent.price - 5 * _tick(sim)
    await broker.modify(oid, _intent(order_type=OrderType.LIMIT, price=lower, qty=7))
    order = sim.state.engine.orders[oid]
    assert (order.price, order.quantity, order.status) == (lower, 7, "open")

    await broker.cancel(oid)
    (found,) = await broker.find_by_tag("orb-261124-3")
    assert found.status is OrderStatus.CANCELLED
    assert await broker.trades() == []


async def test_lost_place_answer_is_resolved_by_tag_with_one_order_at_the_simulator(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    # the fault is real: the bare client times out on a place the simulator executed
    sim.lose_order_answers(1, hold_seconds=1.5)
    with pytest.raises(UpstoxTransportError):
        wire = order_request(PlaceRequest(_intent(), "orb-261124-8", algo_name=ALGO))
        await rest.place_order(wire, algo_name=ALGO)
    assert len(_sim_orders(sim, "orb-261124-8")) == 1

    broker = _broker(rest, sim)
    sim.lose_order_answers(1, hold_seconds=1.5)
    ids = await broker.place(PlaceRequest(_intent(), "orb-261124-9", algo_name=ALGO))
    orders = _sim_orders(sim, "orb-261124-9")
    assert len(orders) == 1  # never sent twice
    assert ids == (orders[0].order_id,)  # type: ignore[attr-defined]
    assert broker.resolved_by_tag == 1
    assert len(sim.state.engine.orders) == 2


async def test_lost_modify_and_cancel_answers_are_resent_safely(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    broker = _broker(rest, sim)
    intent = _resting_limit(sim)
    (oid,) = await broker.place(PlaceRequest(intent, "orb-261124-4", algo_name=ALGO))

    lower = intent.price - 3 * _tick(sim)
    sim.lose_order_answers(1, hold_seconds=1.5)
    await broker.modify(oid, _intent(order_type=OrderType.LIMIT, price=lower))
    assert sim.state.engine.orders[oid].price == lower

    sim.lose_order_answers(1, hold_seconds=1.5)
    await broker.cancel(oid)  # the resend is refused ("already cancelled"): still success
    assert sim.state.engine.orders[oid].status == "cancelled"
    assert len(sim.state.engine.orders) == 1


async def test_live_order_without_algo_name_is_refused_before_sending(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    broker = _broker(rest, sim)
    with pytest.raises(OrderRefused, match="algo name") as info:
        await broker.place(PlaceRequest(_intent(), "orb-261124-5"))
    assert info.value.reason == NO_ALGO_NAME
    assert sim.state.engine.orders == {}
    # outside live mode (the simulator as a sandbox) the same order goes through
    paperish = _broker(rest, sim, live=False)
    await paperish.place(PlaceRequest(_intent(), "orb-261124-5"))
    assert len(_sim_orders(sim, "orb-261124-5")) == 1


async def test_order_updates_arrive_from_the_portfolio_stream(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    broker = _broker(rest, sim)
    resting = _resting_limit(sim)
    (old,) = await broker.place(PlaceRequest(resting, "orb-261124-6", algo_name=ALGO))
    updates = broker.updates()
    seen: list[BrokerOrder] = []

    async def until(pred: object) -> BrokerOrder:
        while True:
            item = await asyncio.wait_for(anext(updates), 5.0)
            seen.append(item)
            if pred(item):  # type: ignore[operator]
                return item

    try:
        # on connecting, the order book is replayed: the resting order is there
        first = await until(lambda o: o.client_order_id == "orb-261124-6")
        assert (first.broker_order_id, first.status) == (old, OrderStatus.OPEN)
        await asyncio.sleep(0.2)  # the socket is subscribed once the replay is done
        (oid,) = await broker.place(PlaceRequest(_intent(), "orb-261124-7", algo_name=ALGO))
        done = await until(
            lambda o: o.client_order_id == "orb-261124-7" and o.status is OrderStatus.FILLED
        )
        assert done.broker_order_id == oid and done.filled_quantity == 5
        await broker.cancel(old)
        gone = await until(lambda o: o.broker_order_id == old and o.status.is_terminal)
        assert gone.status is OrderStatus.CANCELLED
    finally:
        await updates.aclose()  # type: ignore[attr-defined]


def _row(status: str, filled: int = 0, order_type: str = "LIMIT") -> OrderDetails:
    return OrderDetails(
        order_id="1", status=status, instrument_key=RELIANCE, transaction_type="SELL",
        order_type=order_type, product="D", quantity=10, filled_quantity=filled,
        pending_quantity=10 - filled, price=10_000, trigger_price=0, average_price=0, tag="t",
        status_message="", exchange_order_id="", order_timestamp="",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("put order req received", 0, OrderStatus.PENDING_NEW),
        ("open", 0, OrderStatus.OPEN),
        ("open", 4, OrderStatus.PARTIALLY_FILLED),
        ("trigger pending", 0, OrderStatus.TRIGGER_PENDING),
        ("complete", 10, OrderStatus.FILLED),
        ("cancelled", 3, OrderStatus.CANCELLED),
        ("rejected", 0, OrderStatus.REJECTED),
        ("modify pending", 0, OrderStatus.MODIFY_PENDING),
        ("cancel pending", 0, OrderStatus.CANCEL_PENDING),
    ],
)
def test_upstox_statuses_map_to_the_domain(status: str, filled: int, expected: OrderStatus) -> None:
    order = broker_order(_row(status, filled))
    assert (order.status, order.broker_status, order.side) == (expected, status, Side.SELL)


def test_an_unknown_status_or_order_type_is_a_clear_decode_error() -> None:
    with pytest.raises(UpstoxDecodeError, match="unknown Upstox status 'teleported'"):
        broker_order(_row("teleported"))
    with pytest.raises(UpstoxDecodeError, match="order_type 'ICEBERG'"):
        broker_order(_row("open", order_type="ICEBERG"))


def test_position_updates_on_the_stream_are_not_orders() -> None:
    assert parse_order_update('{"update_type": "position", "quantity": 3}') is None
    with pytest.raises(UpstoxDecodeError):
        parse_order_update("not json")


async def test_a_429_refuses_a_place_but_a_cancel_is_resent(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    broker = _broker(rest, sim, rate_limit_pause_seconds=0.05)
    sim.fail_next_rest(429, "UDAPI10005")
    with pytest.raises(BrokerRejected, match="UDAPI10005") as info:
        await broker.place(PlaceRequest(_intent(), "orb-261124-10", algo_name=ALGO))
    assert info.value.code == "UDAPI10005"
    assert sim.state.engine.orders == {}  # refused, and not sent again

    (oid,) = await broker.place(PlaceRequest(_resting_limit(sim), "orb-261124-11", algo_name=ALGO))
    sim.fail_next_rest(429, "UDAPI10005")
    await broker.cancel(oid)
    assert sim.state.engine.orders[oid].status == "cancelled"


async def test_after_a_lost_stream_the_order_book_replay_brings_what_was_missed(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    stream = UpstoxPortfolioStream(
        rest, FeedConfig(api_base=sim.base_url, reconnect_base_seconds=0.05)
    )
    broker = UpstoxBroker(rest, stream)
    (old,) = await broker.place(PlaceRequest(_resting_limit(sim), "orb-261124-12", algo_name=ALGO))
    updates = broker.updates()
    try:
        first = await asyncio.wait_for(anext(updates), 5.0)
        assert (first.broker_order_id, first.status) == (old, OrderStatus.OPEN)
        await asyncio.sleep(0.2)
        assert sim.drop_portfolio_streams() == 1
        await broker.cancel(old)  # while the stream is down (its update may be lost)
        while True:
            item = await asyncio.wait_for(anext(updates), 5.0)
            if item.broker_order_id == old and item.status is OrderStatus.CANCELLED:
                break
        assert stream.stats.connections == 2  # seen on the new connection (the replay)
    finally:
        await updates.aclose()  # type: ignore[attr-defined]


async def test_built_from_settings_the_default_algo_name_is_sent(sim: SimServer) -> None:
    token = sim.mint_token()
    settings = UpstoxSettings(api_base=sim.base_url, hft_base=sim.base_url)
    rest, broker = build_upstox_broker(settings, lambda: token, algo_name="desk-algo")
    async with rest:
        (oid,) = await broker.place(PlaceRequest(_intent(), "orb-261124-13"))
        assert sim.state.engine.orders[oid].algo_name == "desk-algo"
        # a strategy's own algo name wins over the default
        (oid,) = await broker.place(PlaceRequest(_intent(), "orb-261124-14", algo_name=ALGO))
        assert sim.state.engine.orders[oid].algo_name == ALGO


async def test_a_sliced_place_whose_answer_is_lost_returns_every_child(
    sim: SimServer, rest: UpstoxRestClient
) -> None:
    u, market = sim.state.universe, sim.market
    row = u.index_of[RELIANCE]
    freeze, tick = int(u.freeze[row]), int(market.tick[row])
    low = int(market.circuit_lo[row]) + tick  # rests
    qty = 2 * freeze + 3 * int(u.lot[row])
    intent = _intent(qty=qty, order_type=OrderType.LIMIT, price=low)
    broker = _broker(rest, sim)
    sim.lose_order_answers(1, hold_seconds=1.5)
    ids = await broker.place(PlaceRequest(intent, "orb-261124-15", algo_name=ALGO, slice=True))
    children = _sim_orders(sim, "orb-261124-15")
    assert len(children) == 3 == len(ids)
    assert set(ids) == {o.order_id for o in children}  # type: ignore[attr-defined]
    assert len(sim.state.engine.orders) == 3  # sent once
