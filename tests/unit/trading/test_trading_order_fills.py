"""Fills accumulate exactly on an order; over-fills and bad fills are refused, nothing changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from trading_builders import (
    KEY,
    T0,
    limit,
    modify_pending,
    new,
    open_,
    partially_filled,
    trigger_pending,
)

from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading import Amendment, InvalidFill, InvalidIntent, Order, OverFill, Product
from quant.trading.errors import TradingError
from quant.trading.rounding import div_round


def test_fills_accumulate_quantity_and_exact_value_and_the_average_rounds_half_away() -> None:
    order = open_(limit(3, 10_100))
    order, first = order.fill(1, 10_000, T0 + 5)
    order, second = order.fill(1, 10_001, T0 + 6)
    assert (order.filled_quantity, order.filled_value) == (2, 20_001)
    assert order.average_price == 10_001  # 10000.5 -> 10001 (half away from zero)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert (first.value, second.value, second.price) == (10_000, 10_001, 10_001)
    order, _ = order.fill(1, 10_000, T0 + 7)
    assert order.average_price == 10_000  # 30001 / 3 = 10000.33 -> 10000
    assert order.status is OrderStatus.FILLED
    assert order.remaining_quantity == 0


def test_an_over_fill_is_refused_and_the_order_is_unchanged() -> None:
    order = partially_filled()  # 3 of 10
    with pytest.raises(OverFill, match="would make 11 filled of 10"):
        order.fill(8, 250_000, T0 + 9)
    assert order.filled_quantity == 3
    with pytest.raises(TradingError):
        order.fill(7, 250_000, T0 + 9)[0].fill(1, 250_000, T0 + 10)


@pytest.mark.parametrize(("qty", "price"), [(0, 100), (-1, 100), (1, 0), (1, -5), (1, 99.5)])
def test_a_fill_needs_positive_whole_quantity_and_price(qty: int, price: int) -> None:
    with pytest.raises(InvalidFill):
        open_().fill(qty, price, T0)


def test_the_fill_carries_everything_a_position_needs() -> None:
    _, fill = open_(limit(10, 250_000, Side.SELL)).fill(4, 250_100, T0 + 9)
    assert (fill.client_order_id, fill.strategy, fill.instrument_key) == (
        "orb-261207-1",
        "orb",
        KEY,
    )
    assert (fill.product, fill.side, fill.quantity, fill.value) == (
        Product.INTRADAY,
        Side.SELL,
        4,
        1_000_400,
    )
    assert fill.signed_quantity == -4
    assert fill.ts_event == T0 + 9


def test_acknowledgements_are_idempotent_and_a_different_broker_id_is_refused() -> None:
    order = open_()
    assert order.accepted("B1", T0 + 9) == order
    with pytest.raises(TradingError, match="is broker order B1, not B2"):
        order.accepted("B2", T0 + 9)
    # a fill seen before the acknowledgement: the late ack only records the id
    early = new().fill(3, 250_000, T0 + 2)[0]
    late = early.accepted("B7", T0 + 3)
    assert (late.status, late.broker_order_id) == (OrderStatus.PARTIALLY_FILLED, "B7")


def test_a_modification_applies_only_when_the_broker_confirms_it() -> None:
    pending = open_().modify_requested(Amendment(price=249_000, quantity=15), T0 + 3)
    assert pending.intent.price == 250_000
    done = pending.modified(T0 + 4)
    assert (done.intent.price, done.intent.quantity, done.status) == (
        249_000,
        15,
        OrderStatus.OPEN,
    )
    refused = pending.request_refused("price outside band", T0 + 4)
    assert (refused.intent.price, refused.status, refused.pending) == (
        250_000,
        OrderStatus.OPEN,
        None,
    )
    assert refused.message == "price outside band"


def test_a_modification_cannot_go_below_what_is_filled_or_change_the_instrument() -> None:
    with pytest.raises(InvalidIntent, match="not above the 3 already filled"):
        partially_filled().modify_requested(Amendment(quantity=3), T0)
    with pytest.raises(InvalidIntent, match="MARKET order takes no price"):
        open_().modify_requested(Amendment(order_type=OrderType.MARKET), T0)
    with pytest.raises(TradingError, match="already has a modification pending"):
        modify_pending().modify_requested(Amendment(price=1), T0)


def test_a_fill_while_a_modification_is_pending_keeps_it_pending() -> None:
    order, _ = modify_pending().fill(3, 250_000, T0 + 5)
    assert order.status is OrderStatus.MODIFY_PENDING
    assert order.pending == Amendment(quantity=12)
    assert order.modified(T0 + 6).status is OrderStatus.PARTIALLY_FILLED


def test_the_order_event_mirrors_the_order() -> None:
    order, _ = open_().fill(4, 250_050, T0 + 5)
    event = order.to_event(T0 + 6, "paper")
    assert event.client_order_id == "orb-261207-1"
    assert (event.status, event.filled_quantity, event.filled_value) == (
        OrderStatus.PARTIALLY_FILLED,
        4,
        1_000_200,
    )
    assert (event.ts_event, event.ts_init, event.mode) == (T0 + 5, T0 + 6, "paper")
    assert (event.product, event.validity, event.broker_order_id, event.strategy) == (
        "I",
        "DAY",
        "B1",
        "orb",
    )


def test_an_inconsistent_order_cannot_be_built() -> None:
    with pytest.raises(TradingError, match="FILLED with 3 of 10"):
        Order("c", limit(), OrderStatus.FILLED, T0, T0, filled_quantity=3, filled_value=30)
    with pytest.raises(TradingError, match="OPEN with 3 filled"):
        Order("c", limit(), OrderStatus.OPEN, T0, T0, filled_quantity=3, filled_value=30)
    with pytest.raises(InvalidFill, match="does not match"):
        Order("c", limit(), OrderStatus.PARTIALLY_FILLED, T0, T0, filled_quantity=3)


@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 10**7)), min_size=1, max_size=20))
def test_any_split_into_fills_adds_up(fills: list[tuple[int, int]]) -> None:
    total = sum(q for q, _ in fills)
    order = open_(limit(total, 10**7))
    for i, (qty, price) in enumerate(fills):
        order, _ = order.fill(qty, price, T0 + i)
        assert (order.status is OrderStatus.FILLED) == (i == len(fills) - 1)
    assert order.filled_quantity == total
    assert order.filled_value == sum(q * p for q, p in fills)
    prices = [p for _, p in fills]
    assert min(prices) <= order.average_price <= max(prices)
    assert abs(order.average_price * total - order.filled_value) * 2 <= total


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_div_round_is_the_nearest_integer_with_halves_away_from_zero(n: int, d: int) -> None:
    from fractions import Fraction

    q = div_round(n, d)
    exact = Fraction(n, d)
    assert abs(q - exact) <= Fraction(1, 2)
    if abs(q - exact) == Fraction(1, 2):
        assert abs(q) > abs(exact)
    assert div_round(-n, d) == -q
    assert div_round(n, -d) == -q


def test_a_modification_overtaken_by_fills_is_refused_when_confirmed() -> None:
    pending = partially_filled().modify_requested(Amendment(quantity=5), T0 + 3)
    overtaken, _ = pending.fill(2, 250_000, T0 + 4)  # now 5 filled
    with pytest.raises(InvalidIntent, match="not above the 5 already filled"):
        overtaken.modified(T0 + 5)
    assert overtaken.request_refused("filled meanwhile", T0 + 5).status is (
        OrderStatus.PARTIALLY_FILLED
    )


def test_a_trigger_while_a_cancel_is_pending_is_remembered_if_the_cancel_is_refused() -> None:
    order = trigger_pending().cancel_requested(T0 + 3).triggered_at(T0 + 4)
    assert (order.status, order.triggered) == (OrderStatus.CANCEL_PENDING, True)
    assert order.request_refused("too late", T0 + 5).status is OrderStatus.OPEN
    with pytest.raises(TradingError, match="not waiting for a trigger"):
        order.triggered_at(T0 + 6)
