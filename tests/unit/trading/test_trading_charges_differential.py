"""The integer charges engine equals the old ``Fraction`` one, fill by fill (hypothesis).

``quant.trading.charges.DayCharges`` computes in integers (paise x rate numerators over
``RATE_DENOMINATOR``); ``charges_reference.ReferenceDayCharges`` is the engine it replaced,
exact ``Fraction`` paise from the same rate table. Over random days of fills (every
supported segment, product, instrument type and BSE rate class, both sides, dates from
before the table starts to after the April 2026 STT change, multi-fill orders, both
tariffs and random brokerage cards, with and without DP), each fill's charges, each
order's and the day's total are the same to the paisa, and a fill one refuses the other
refuses with the same error.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from fractions import Fraction

import pytest
from charges_reference import ReferenceDayCharges
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.core.instruments import InstrumentType
from quant.core.orders import Side
from quant.trading.charges import ChargeBreakdown, DayCharges, Fill
from quant.trading.charges_rates import (
    RATE_DENOMINATOR,
    UPSTOX,
    ZERODHA,
    BrokerageRow,
    BrokerageRule,
    Levy,
    RateRow,
    Tariff,
    pct,
    rate_numerator,
)

EQ_CLASSES = ["", "A", "B", "T", "X", "Z", "SS", "M", "MS", "Q"]  # "Q": unknown group
OPT_CLASSES = ["", "SENSEX", "BANKEX", "SENSEX50", "STOCK", "NIFTY"]
KINDS = [
    (segment, kind, product, rate_class)
    for segment in ("NSE_EQ", "BSE_EQ")
    for product in ("I", "D")
    for kind, rate_class in [(InstrumentType.EQUITY, c) for c in EQ_CLASSES[:5]]
] + [
    (segment, kind, product, rate_class)
    for segment in ("NSE_FO", "BSE_FO")
    for product in ("I", "D")
    for kind in (InstrumentType.FUTURE, InstrumentType.CALL, InstrumentType.PUT)
    for rate_class in ("", "SENSEX", "STOCK")
]
# rare: what either engine must refuse (rate classes, segments, types it does not price)
ODD_KINDS = [
    ("BSE_EQ", InstrumentType.EQUITY, "D", c) for c in EQ_CLASSES[5:]
] + [
    ("BSE_FO", InstrumentType.CALL, "I", c) for c in OPT_CLASSES
] + [
    ("MCX_FO", InstrumentType.FUTURE, "I", ""),
    ("NSE_EQ", InstrumentType.CALL, "D", ""),
    ("NSE_FO", InstrumentType.EQUITY, "I", ""),
    ("NSE_EQ", InstrumentType.EQUITY, "M", ""),
]  # fmt: skip

kinds = st.sampled_from(KINDS + ODD_KINDS)
days = st.one_of(
    st.dates(min_value=date(2024, 10, 1), max_value=date(2027, 3, 31)),
    st.dates(min_value=date(2022, 1, 1), max_value=date(2024, 9, 30)),  # old rates, refusals
)
quantities = st.one_of(
    st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=500_000)
)
prices = st.one_of(
    st.integers(min_value=1, max_value=1_000),  # sub-paisa levies: rounding at every fill
    st.integers(min_value=1, max_value=10_000_000),  # up to Rs 1 lakh
)
percents = st.decimals(min_value=0, max_value=5, places=4).map(str)


@st.composite
def tariffs(draw: st.DrawFn) -> Tariff:
    base = draw(st.sampled_from([UPSTOX, ZERODHA]))
    if not draw(st.booleans()):
        return base
    rows = tuple(
        dataclasses.replace(
            row,
            rule=BrokerageRule(
                draw(st.integers(min_value=0, max_value=10_000)),
                draw(st.one_of(st.none(), percents.map(pct))),
            ),
        )
        for row in base.brokerage
    )
    return dataclasses.replace(
        base,
        brokerage=rows,
        dp_paise=draw(st.integers(min_value=0, max_value=5_000)),
        stamp_to_rupee=draw(st.booleans()),
        gst_on_sebi=draw(st.booleans()),
        gst_on_ipft=draw(st.booleans()),
    )


@st.composite
def fills(draw: st.DrawFn, on: date) -> list[Fill]:
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        segment, kind, product, rate_class = draw(kinds)
        out.append(
            Fill(
                f"{segment}|{draw(st.sampled_from(['a', 'b', 'c']))}",
                kind,
                product,
                draw(st.sampled_from(Side)),
                draw(quantities),
                draw(prices),
                # a few order ids: orders fill in several trades (or clash and are refused)
                on if draw(st.integers(0, 30)) else date(2026, 1, 1),
                f"o{draw(st.integers(min_value=0, max_value=6))}",
                rate_class,
            )
        )
    return out


def _outcome(day: DayCharges | ReferenceDayCharges, fill: Fill) -> ChargeBreakdown | str:
    try:
        return day.add(fill)
    except ValueError as exc:  # ChargesError, RateNotFoundError
        return f"{type(exc).__name__}: {exc}"


@settings(max_examples=400, deadline=None)
@given(st.data(), days, tariffs(), st.booleans())
def test_integer_charges_equal_the_fraction_reference(
    data: st.DataObject, on: date, tariff: Tariff, charge_dp: bool
) -> None:
    day = DayCharges(on, tariff, charge_dp=charge_dp)
    ref = ReferenceDayCharges(on, tariff, charge_dp=charge_dp)
    day_fills = data.draw(fills(on))
    for fill in day_fills:
        assert _outcome(day, fill) == _outcome(ref, fill), fill
    for order_id in {f.order_id for f in day_fills} | {"never"}:
        assert day.for_order(order_id) == ref.for_order(order_id)
    assert day.total() == ref.total()


@given(st.decimals(min_value=0, max_value=100, places=7).map(str))
def test_every_percent_to_7_decimals_is_an_exact_rate_numerator(percent: str) -> None:
    assert Fraction(rate_numerator(pct(percent)), RATE_DENOMINATOR) == pct(percent)


@pytest.mark.parametrize("rate", [Fraction(1, 3), pct("0.000000001"), Fraction(-1, 100)])
def test_a_rate_the_integers_cannot_carry_is_refused_when_its_row_is_built(
    rate: Fraction,
) -> None:
    with pytest.raises(ValueError, match="whole number of 1/1000000000"):
        rate_numerator(rate)
    with pytest.raises(ValueError, match="whole number"):
        RateRow(Levy.STT, "NSE", frozenset(), "SELL", date(2026, 4, 1), rate)
    with pytest.raises(ValueError, match="whole number"):
        BrokerageRow(UPSTOX.brokerage[0].market, date(2026, 4, 1), BrokerageRule(2000, rate))
