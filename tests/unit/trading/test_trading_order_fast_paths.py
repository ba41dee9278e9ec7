"""The OMS's hot steps build ``Order`` and ``Fill`` values without ``__init__`` (see
``quant.trading.slots``): whatever they build must be exactly what the validating
constructor accepts and builds from the same fields, through any sequence of operations."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from trading_builders import KEY, T0, limit, stop_limit

from quant.core.orders import OrderStatus as S
from quant.core.orders import OrderType, Side
from quant.trading import Amendment, Fill, Order, OrderIntent, Product, TradingError
from quant.trading.slots import slot_setters


def rebuilt(value: Order | Fill) -> Order | Fill:
    """The same fields through the dataclass's own ``__init__`` (and ``__post_init__``)."""
    fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return type(value)(**fields)


def stop_market(qty: int) -> OrderIntent:
    return OrderIntent(
        "orb", KEY, Side.SELL, qty, OrderType.SL_M, Product.DELIVERY, trigger_price=240_000
    )


Step = Callable[[Order, int], tuple[Order, Fill | None]]
STEPS: dict[str, Step] = {
    "accepted": lambda o, t: (o.accepted("B7", t), None),
    "rejected": lambda o, t: (o.rejected("no margin", t), None),
    "triggered": lambda o, t: (o.triggered_at(t), None),
    "fill 1": lambda o, t: o.fill(1, 250_000, t),
    "fill 3": lambda o, t: o.fill(3, 249_995, t),
    "fill rest": lambda o, t: o.fill(max(o.remaining_quantity, 1), 250_005, t),
    "modify": lambda o, t: (o.modify_requested(Amendment(quantity=o.intent.quantity + 2), t), None),
    "modified": lambda o, t: (o.modified(t), None),
    "cancel": lambda o, t: (o.cancel_requested(t), None),
    "cancelled": lambda o, t: (o.cancelled(t, "end of day"), None),
    "refused": lambda o, t: (o.request_refused("too late", t), None),
}


def check_step(before: Order, name: str, t: int) -> Order | None:
    """Apply one step; assert what it built is what the constructor builds (None: refused)."""
    try:
        order, fill = STEPS[name](before, t)
    except TradingError:
        return None
    again = rebuilt(order)  # raises if the fast path made an inconsistent order
    assert again == order
    assert hash(again) == hash(order)
    if fill is not None:
        assert rebuilt(fill) == fill
        assert (fill.client_order_id, fill.ts_event) == (order.client_order_id, t)
    return order


@pytest.mark.parametrize("kind", ["limit", "stop limit", "stop market"])
def test_every_order_reachable_in_five_steps_is_one_the_constructor_accepts(kind: str) -> None:
    intent = {"limit": limit, "stop limit": stop_limit, "stop market": stop_market}[kind](5)
    start = Order.new(intent, "orb-261207-9", T0)
    assert rebuilt(start) == start
    frontier, seen = {start}, {start}
    for depth in range(1, 6):
        reached = {
            after
            for order in frontier
            for name in STEPS
            if (after := check_step(order, name, T0 + depth)) is not None
        }
        frontier = reached - seen
        seen |= frontier
    never = {S.TRIGGER_PENDING} if kind == "limit" else set()
    assert {o.status for o in seen} == set(S) - never  # every status was reached


@given(
    st.sampled_from(["limit", "stop limit", "stop market"]),
    st.integers(1, 12),
    st.lists(st.sampled_from(sorted(STEPS)), max_size=12),
)
def test_any_sequence_of_operations_builds_only_valid_orders(
    kind: str, qty: int, steps: list[str]
) -> None:
    intent = {"limit": limit, "stop limit": stop_limit, "stop market": stop_market}[kind](qty)
    order = Order.new(intent, "orb-261207-9", T0)
    for n, name in enumerate(steps, start=1):
        order = check_step(order, name, T0 + n) or order


def test_the_hot_steps_give_the_same_values_as_before() -> None:
    order = Order.new(limit(10), "orb-261207-1", T0)
    assert order == Order("orb-261207-1", limit(10), S.PENDING_NEW, T0, T0)
    opened = order.accepted("B1", T0 + 1)
    assert opened == dataclasses.replace(
        order, status=S.OPEN, broker_order_id="B1", ts_event=T0 + 1
    )
    filled, fill = opened.fill(4, 250_000, T0 + 2)
    assert filled == dataclasses.replace(
        opened,
        status=S.PARTIALLY_FILLED,
        filled_quantity=4,
        filled_value=1_000_000,
        ts_event=T0 + 2,
    )
    done, _ = filled.fill(6, 250_010, T0 + 3)
    assert done == dataclasses.replace(
        filled, status=S.FILLED, filled_quantity=10, filled_value=2_500_060, ts_event=T0 + 3
    )
    stop = Order.new(stop_limit(10), "orb-261207-2", T0).accepted("B2", T0 + 1)
    assert (stop.status, stop.triggered) == (S.TRIGGER_PENDING, False)
    triggered_fill, _ = stop.fill(10, 251_000, T0 + 2)
    assert (triggered_fill.status, triggered_fill.triggered) == (S.FILLED, True)
    assert fill == Fill(
        "orb-261207-1", "orb", KEY, Product.INTRADAY, Side.BUY, 4, 1_000_000, T0 + 2
    )


def test_slot_setters_must_name_every_field() -> None:
    with pytest.raises(TypeError, match="fields"):
        slot_setters(Fill, ("client_order_id", "strategy"))
    with pytest.raises(TypeError, match="fields"):
        slot_setters(Fill, (*(f.name for f in dataclasses.fields(Fill)), "quantity"))
