"""Order intents are valid by construction; client order ids are short, deterministic, unique."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from trading_builders import KEY, limit

from quant.core.orders import OrderType, Side
from quant.trading import (
    Amendment,
    InvalidIntent,
    OrderIntent,
    Product,
    Validity,
    client_order_id,
    ensure_distinct_prefixes,
    parse_client_order_id,
    strategy_prefix,
)
from quant.trading.client_ids import MAX_CLIENT_ORDER_ID_LENGTH, MAX_SEQUENCE, next_sequence

DAY = date(2026, 12, 7)


def intent(
    order_type: OrderType, price: int = 0, trigger: int = 0, side: Side = Side.BUY
) -> OrderIntent:
    return OrderIntent(
        "orb", KEY, side, 5, order_type, Product.DELIVERY, price=price, trigger_price=trigger
    )


def test_each_order_type_with_its_prices_is_accepted() -> None:
    assert intent(OrderType.MARKET).price == 0
    assert intent(OrderType.LIMIT, price=10_05).price == 1005
    assert intent(OrderType.SL, price=101_00, trigger=100_50).is_stop
    assert intent(OrderType.SL, price=99_00, trigger=99_50, side=Side.SELL).trigger_price == 9950
    assert intent(OrderType.SL_M, trigger=100_00).is_stop
    assert not intent(OrderType.LIMIT, price=1).is_stop


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"order_type": OrderType.MARKET, "price": 100}, "MARKET order takes no price"),
        ({"order_type": OrderType.MARKET, "trigger": 100}, "MARKET order takes no price"),
        ({"order_type": OrderType.LIMIT}, "LIMIT order needs a price"),
        ({"order_type": OrderType.LIMIT, "price": 100, "trigger": 90}, "no trigger price"),
        ({"order_type": OrderType.SL, "price": 100}, "both a price and a trigger"),
        ({"order_type": OrderType.SL, "price": 100, "trigger": 101}, "must not be above"),
        (
            {"order_type": OrderType.SL, "price": 100, "trigger": 99, "side": Side.SELL},
            "must not be below",
        ),
        ({"order_type": OrderType.SL_M, "price": 100, "trigger": 100}, "SL-M order takes no price"),
        ({"order_type": OrderType.SL_M}, "needs a trigger price"),
        ({"order_type": OrderType.LIMIT, "price": -5}, "paise >= 0"),
    ],
)
def test_bad_prices_for_the_order_type_are_refused_with_the_reason(
    kwargs: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidIntent, match=reason):
        intent(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"quantity": 0}, "quantity must be a positive whole number"),
        ({"quantity": -3}, "quantity must be a positive whole number"),
        ({"quantity": True}, "quantity must be a positive whole number"),
        ({"quantity": 1.5}, "quantity must be a positive whole number"),
        ({"price": 2500.5}, "price must be a whole number of paise"),
        ({"strategy": ""}, "strategy name"),
        ({"strategy": "bad name"}, "strategy name"),
        ({"instrument_key": "RELIANCE"}, "SEGMENT|TOKEN"),
        ({"side": 1}, "side must be a Side"),
        ({"product": "I"}, "product must be a Product"),
        ({"validity": "GTC"}, "validity must be a Validity"),
        ({"tag": "x" * 65}, "at most 64"),
        ({"tag": "a\nb"}, "printable"),
    ],
)
def test_malformed_intents_are_refused_with_the_reason(
    change: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidIntent, match=reason):
        dataclasses.replace(limit(), **change)


def test_an_intent_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        limit().quantity = 20  # type: ignore[misc]


def test_an_amendment_yields_a_new_validated_intent() -> None:
    before = limit(10, 250_000)
    after = Amendment(quantity=20, validity=Validity.IOC).apply(before)
    assert (after.quantity, after.price, after.validity) == (20, 250_000, Validity.IOC)
    assert before.quantity == 10
    with pytest.raises(InvalidIntent, match="at least one field"):
        Amendment().apply(before)
    with pytest.raises(InvalidIntent, match="takes no trigger price"):
        Amendment(trigger_price=100).apply(before)


# --- client order ids ---------------------------------------------------------------------


def test_a_short_strategy_name_is_its_own_prefix_and_the_id_reads_back() -> None:
    cid = client_order_id("orb", DAY, 42)
    assert cid == "orb-261207-42"
    assert parse_client_order_id(cid) == ("orb", DAY, 42)
    assert client_order_id("manual", DAY, 1) == "manual-261207-1"


def test_a_long_name_gets_a_hashed_prefix_that_is_the_same_everywhere() -> None:
    prefix = strategy_prefix("momentum_breakout_v2")
    assert prefix.startswith("mo")
    assert len(prefix) == 6
    # BLAKE2b, not Python's salted hash(): the same in every process and on every machine
    digest = hashlib.blake2b(b"momentum_breakout_v2", digest_size=2).hexdigest()
    assert prefix == "mo" + digest
    assert strategy_prefix("momentum_breakout_v3") != prefix


names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", fullmatch=True)


@given(names, st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.integers(1, MAX_SEQUENCE))
def test_ids_fit_the_broker_tag_and_parse_back(strategy: str, day: date, seq: int) -> None:
    cid = client_order_id(strategy, day, seq)
    assert len(cid) <= MAX_CLIENT_ORDER_ID_LENGTH
    assert set(cid) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert cid == client_order_id(strategy, day, seq)
    assert parse_client_order_id(cid) == (strategy_prefix(strategy), day, seq)


@pytest.mark.parametrize("seq", [0, -1, MAX_SEQUENCE + 1])
def test_a_sequence_out_of_range_is_refused(seq: int) -> None:
    with pytest.raises(InvalidIntent, match="sequence"):
        client_order_id("orb", DAY, seq)


@pytest.mark.parametrize("cid", ["", "orb-261207-0", "orb-261307-1", "ORB-261207-1", "x" * 30])
def test_foreign_tags_are_not_parsed_as_ours(cid: str) -> None:
    with pytest.raises(InvalidIntent):
        parse_client_order_id(cid)


def test_the_next_sequence_follows_the_days_highest_and_ignores_others() -> None:
    used = [
        client_order_id("orb", DAY, 7),
        client_order_id("orb", DAY, 3),
        client_order_id("orb", date(2026, 12, 4), 99),  # another day
        client_order_id("vwap_revert", DAY, 50),  # another strategy
        "from-the-app",  # an order placed outside the platform
    ]
    assert next_sequence(used, "orb", DAY) == 8
    assert next_sequence(used, "orb", date(2026, 12, 8)) == 1


def test_two_strategies_that_would_share_ids_are_refused() -> None:
    by_prefix: dict[str, str] = {}
    for i in itertools.count():
        name = f"strategy_{i}"
        other = by_prefix.setdefault(strategy_prefix(name), name)
        if other != name:
            break
    with pytest.raises(InvalidIntent, match="share the client order id prefix"):
        ensure_distinct_prefixes(["orb", other, name])
    ensure_distinct_prefixes(["orb", "manual", other])
