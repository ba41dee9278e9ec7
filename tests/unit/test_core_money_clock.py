"""Unit tests for paise conversion and the clock helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant.core.clock import IST, FakeClock, datetime_to_ns, ns_to_datetime
from quant.core.money import decimal_to_paise, paise_to_decimal, paise_to_str, to_paise


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_paise_round_trip_through_wire_double(paise: int) -> None:
    assert to_paise(paise / 100) == paise


def test_decimal_to_paise_refuses_sub_paise() -> None:
    assert decimal_to_paise("1234.55") == 123455
    with pytest.raises(ValueError, match="whole number of paise"):
        decimal_to_paise("0.001")


def test_paise_formatting() -> None:
    assert paise_to_str(123456) == "1234.56"
    assert paise_to_str(-5) == "-0.05"
    assert paise_to_decimal(5) == Decimal("0.05")


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(1_000)
    assert clock.now_ns() == 1_000
    clock.advance(1.5)
    assert clock.now_ns() == 1_000 + 1_500_000_000


def test_datetime_ns_round_trip_and_naive_refused() -> None:
    moment = datetime(2026, 11, 24, 9, 15, tzinfo=IST)
    ns = datetime_to_ns(moment)
    assert ns_to_datetime(ns, IST) == moment
    assert ns_to_datetime(ns) == moment.astimezone(UTC)
    with pytest.raises(ValueError, match="naive"):
        datetime_to_ns(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
