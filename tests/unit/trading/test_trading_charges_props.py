"""Invariants of the charges over random fills (hypothesis)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import NamedTuple

from hypothesis import given
from hypothesis import strategies as st

from quant.core.instruments import InstrumentType
from quant.core.orders import Side
from quant.trading.charges import ChargeBreakdown, DayCharges, Fill, charges_for_fill
from quant.trading.charges_rates import UPSTOX, ZERODHA, Tariff


class Spec(NamedTuple):
    segment: str
    kind: InstrumentType
    product: str
    rate_class: str = ""


SPECS = [
    Spec("NSE_EQ", InstrumentType.EQUITY, "I"),
    Spec("NSE_EQ", InstrumentType.EQUITY, "D"),
    Spec("NSE_FO", InstrumentType.FUTURE, "D"),
    Spec("NSE_FO", InstrumentType.CALL, "I"),
    Spec("NSE_FO", InstrumentType.PUT, "D"),
    Spec("BSE_EQ", InstrumentType.EQUITY, "D", "A"),
    Spec("BSE_EQ", InstrumentType.EQUITY, "I", "X"),
    Spec("BSE_FO", InstrumentType.FUTURE, "I"),
    Spec("BSE_FO", InstrumentType.CALL, "D", "SENSEX"),
    Spec("BSE_FO", InstrumentType.PUT, "I", "STOCK"),
]
specs = st.sampled_from(SPECS)
days = st.dates(min_value=date(2024, 10, 1), max_value=date(2027, 12, 31))
sides = st.sampled_from(Side)
quantities = st.integers(min_value=1, max_value=200_000)
prices = st.integers(min_value=1, max_value=5_000_000)  # up to Rs 50,000
tariffs = st.sampled_from([UPSTOX, ZERODHA])


def components(charges: ChargeBreakdown) -> tuple[int, ...]:
    return dataclasses.astuple(charges)


@given(specs, sides, quantities, quantities, prices, days, tariffs)
def test_components_are_non_negative_sum_to_total_and_grow_with_quantity(
    spec: Spec, side: Side, q1: int, q2: int, price: int, on: date, tariff: Tariff
) -> None:
    small, large = sorted((q1, q2))

    def quote(qty: int) -> ChargeBreakdown:
        return charges_for_fill(
            spec.segment, spec.kind, spec.product, side, qty, price, on,
            rate_class=spec.rate_class, tariff=tariff,
        )  # fmt: skip

    lo, hi = quote(small), quote(large)
    for charges in (lo, hi):
        assert all(c >= 0 for c in components(charges))
        assert charges.total == sum(components(charges))
    assert all(a <= b for a, b in zip(components(lo), components(hi), strict=True))


@given(specs, sides, quantities, prices, days)
def test_stamp_only_on_buys_and_stt_on_buys_only_for_delivery(
    spec: Spec, side: Side, qty: int, price: int, on: date
) -> None:
    got = charges_for_fill(
        spec.segment, spec.kind, spec.product, side, qty, price, on, rate_class=spec.rate_class
    )
    if side is Side.SELL:
        assert got.stamp == 0
    elif not (spec.segment.endswith("_EQ") and spec.product == "D"):
        assert got.stt == 0


class Order(NamedTuple):
    spec: Spec
    side: Side
    security: int


orders = st.builds(Order, specs, sides, st.integers(min_value=0, max_value=2))


@given(
    st.lists(orders, min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), quantities, prices), min_size=1, max_size=12),
    days,
    st.booleans(),
)
def test_a_days_fills_add_up_to_its_contract_notes_to_the_paisa(
    order_list: list[Order],
    fills: list[tuple[int, int, int]],
    on: date,
    charge_dp: bool,
) -> None:
    day = DayCharges(on, charge_dp=charge_dp)
    added = ChargeBreakdown()
    for index, qty, price in fills:
        order_no = index % len(order_list)
        order = order_list[order_no]
        key = f"{order.spec.segment}|{order.security}"
        fill = Fill(
            key, order.spec.kind, order.spec.product, order.side, qty, price, on,
            f"o{order_no}", order.spec.rate_class,
        )  # fmt: skip
        part = day.add(fill)
        assert all(c >= 0 for c in components(part))
        added = added + part
    assert added == day.total()
    per_order = ChargeBreakdown()
    for order_no in range(len(order_list)):
        per_order = per_order + day.for_order(f"o{order_no}")
    assert per_order == day.total()


@given(specs, sides, st.lists(quantities, min_size=1, max_size=8), prices, days)
def test_splitting_an_order_into_fills_does_not_change_its_charges(
    spec: Spec, side: Side, parts: list[int], price: int, on: date
) -> None:
    day = DayCharges(on)
    for qty in parts:
        key = f"{spec.segment}|1"
        day.add(Fill(key, spec.kind, spec.product, side, qty, price, on, "o", spec.rate_class))
    whole = charges_for_fill(
        spec.segment, spec.kind, spec.product, side, sum(parts), price, on,
        rate_class=spec.rate_class, include_dp=True,
    )  # fmt: skip
    assert day.total() == whole == day.for_order("o")
