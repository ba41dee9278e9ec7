"""Replaying order events rebuilds the same positions, deterministically and idempotently."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from trading_builders import T0

from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.trading import (
    Order,
    OrderIntent,
    PositionBook,
    Product,
    ReplayError,
    fills_from_events,
    replay_positions,
)

KEYS = ("NSE_EQ|INE002A01018", "NSE_FO|52618")


def run_order(
    cid: str,
    strategy: str,
    key: str,
    product: Product,
    side: Side,
    fills: list[tuple[int, int]],
    cancel: bool,
    book: PositionBook,
) -> list[OrderEvent]:
    """Drive one order through the OMS value, booking its fills; return its events."""
    qty = sum(q for q, _ in fills) + (1 if cancel else 0)
    intent = OrderIntent(strategy, key, side, qty, OrderType.MARKET, product)
    order = Order.new(intent, cid, T0)
    events = [order.to_event(T0, "paper")]
    order = order.accepted("B-" + cid, T0 + 1)
    events.append(order.to_event(T0 + 1, "paper"))
    for i, (q, price) in enumerate(fills):
        order, f = order.fill(q, price, T0 + 2 + i)
        book.apply(f)
        events.append(order.to_event(T0 + 2 + i, "paper"))
    if cancel:
        order = order.cancelled(T0 + 100, "IOC remainder")
        events.append(order.to_event(T0 + 100, "paper"))
    return events


def three_orders(book: PositionBook) -> list[list[OrderEvent]]:
    return [
        run_order(
            "a-1", "orb", KEYS[0], Product.INTRADAY, Side.BUY, [(5, 1000), (5, 1002)], False, book
        ),
        run_order("a-2", "orb", KEYS[0], Product.INTRADAY, Side.SELL, [(12, 1010)], True, book),
        run_order("b-1", "vwap", KEYS[1], Product.DELIVERY, Side.SELL, [(50, 700)], False, book),
    ]


def test_replay_gives_the_positions_the_oms_booked() -> None:
    direct = PositionBook()
    streams = three_orders(direct)
    replayed = replay_positions([e for s in streams for e in s])
    assert replayed == direct
    assert replayed.get("orb", KEYS[0], Product.INTRADAY).net_quantity == -2
    assert replayed.get("orb", KEYS[0], Product.INTRADAY).realised == 5 * 10 + 5 * 8
    assert replayed.get("vwap", KEYS[1], Product.DELIVERY).net_quantity == -50


def test_fills_are_the_increases_of_the_cumulative_fill() -> None:
    streams = three_orders(PositionBook())
    fills = list(fills_from_events(streams[0]))
    assert [(f.quantity, f.value, f.price) for f in fills] == [(5, 5000, 1000), (5, 5010, 1002)]


def test_duplicated_events_add_nothing() -> None:
    direct = PositionBook()
    events = [e for s in three_orders(direct) for e in s]
    doubled = [e for e in events for _ in range(2)]
    assert replay_positions(doubled) == direct


def event(**changes: object) -> OrderEvent:
    base = OrderEvent(
        "c-1",
        KEYS[0],
        Side.BUY,
        OrderType.MARKET,
        10,
        OrderStatus.PARTIALLY_FILLED,
        T0,
        T0,
        product="I",
        filled_quantity=5,
        filled_value=5000,
        strategy="orb",
    )
    return base._replace(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("second", "reason"),
    [
        ({"filled_quantity": 4, "filled_value": 4000}, "went backwards"),
        ({"filled_quantity": 6, "filled_value": 5000}, "fill of 1 units for 0 paise"),
        ({"filled_quantity": 11, "filled_value": 11000}, "11 filled of 10 ordered"),
        ({"filled_quantity": 6, "filled_value": 6000, "side": Side.SELL}, "changed between"),
        ({"filled_quantity": 6, "filled_value": 6000, "strategy": "x"}, "changed between"),
    ],
)
def test_events_that_cannot_have_happened_are_refused_by_name(
    second: dict[str, object], reason: str
) -> None:
    with pytest.raises(ReplayError, match=reason) as err:
        list(fills_from_events([event(), event(**second)]))
    assert "c-1" in str(err.value)


def test_a_fill_after_a_final_status_and_an_unknown_product_are_refused() -> None:
    cancelled = event(status=OrderStatus.CANCELLED)
    with pytest.raises(ReplayError, match="after it was final"):
        list(fills_from_events([cancelled, event(filled_quantity=6, filled_value=6000)]))
    with pytest.raises(ReplayError, match="MTF"):
        list(fills_from_events([event(product="MTF")]))


orders = st.lists(
    st.tuples(
        st.sampled_from(["orb", "vwap"]),
        st.sampled_from(KEYS),
        st.sampled_from(Product),
        st.sampled_from(Side),
        st.lists(st.tuples(st.integers(1, 100), st.integers(1, 10**5)), min_size=0, max_size=5),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


def interleave(streams: list[list[OrderEvent]], rnd: random.Random) -> list[OrderEvent]:
    """A random merge that keeps each order's own events in order."""
    queues = [list(s) for s in streams if s]
    out: list[OrderEvent] = []
    while queues:
        q = rnd.choice(queues)
        out.append(q.pop(0))
        if not q:
            queues.remove(q)
    return out


@given(orders, st.randoms(use_true_random=False), st.integers(1, 10**5))
def test_replay_is_deterministic_and_any_interleaving_gives_the_same_positions_and_pnl(
    spec: list[tuple[str, str, Product, Side, list[tuple[int, int]], bool]],
    rnd: random.Random,
    mark: int,
) -> None:
    direct = PositionBook()
    streams = [
        run_order(f"o-{i}", s, k, p, side, fills, cancel or not fills, direct)
        for i, (s, k, p, side, fills, cancel) in enumerate(spec)
    ]
    in_order = [e for s in streams for e in s]
    assert replay_positions(in_order) == replay_positions(in_order) == direct
    shuffled = replay_positions(interleave(streams, rnd))
    marks = dict.fromkeys(KEYS, mark)
    for p in direct:
        q = shuffled.get(*p.key)
        assert q.net_quantity == p.net_quantity
        assert (q.bought_value, q.sold_value) == (p.bought_value, p.sold_value)
        assert q.pnl(mark) == p.pnl(mark)
    assert shuffled.realised() + shuffled.unrealised(marks) == sum(
        p.cash_flow + p.net_quantity * mark for p in direct
    )
