"""Matching engine: fills against the book, partial fills, IOC, SL triggers, rejections."""

from __future__ import annotations

from datetime import datetime, time

import numpy as np
import pytest
from order_kit import DAY, RELIANCE, order_body, stepped_market

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.sim.errors import SimApiError
from quant.sim.market import Market
from quant.sim.matching import (
    FREEZE_QTY,
    LOT_SIZE,
    MARKET_CLOSED,
    PRICE_BAND,
    PRICE_NOT_REQUIRED,
    TICK_SIZE,
    OrderEngine,
)
from quant.sim.orders import SimOrder


@pytest.fixture
def setup() -> tuple[Market, FakeClock, OrderEngine, list[SimOrder]]:
    market, clock = stepped_market()
    updates: list[SimOrder] = []
    return market, clock, OrderEngine(market, updates.append), updates


def _row(m: Market, key: str = RELIANCE) -> np.ndarray:
    return np.asarray([m.u.index_of[key]], dtype=np.int64)


def test_market_buy_walks_the_ask_side(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, updates = setup
    book = m.book(_row(m))
    l1, l2 = int(book.ask_qty[0, 0]), int(book.ask_qty[0, 1])
    (oid,) = eng.place("U", order_body(quantity=l1 + 1))
    o = eng.orders[oid]
    assert o.status == "complete" and o.filled == l1 + 1
    prices = [f.price for f in eng.fills]
    assert prices == [int(book.ask_price[0, 0]), int(book.ask_price[0, 1])]
    assert [f.qty for f in eng.fills] == [l1, 1]
    assert l2 >= 1
    assert [u.status for u in updates][-1] == "complete"


def test_same_step_liquidity_is_not_offered_twice(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, _ = setup
    book = m.book(_row(m))
    l1 = int(book.ask_qty[0, 0])
    eng.place("U", order_body(quantity=l1))
    eng.place("U", order_body(quantity=1))
    assert eng.fills[-1].price == int(book.ask_price[0, 1])


def test_limit_rests_then_ioc_cancels(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, _ = setup
    bid = int(m.book(_row(m)).bid_price[0, 0])
    tick = int(m.tick[_row(m)][0])
    low = (bid - 20 * tick) / 100
    (rest,) = eng.place("U", order_body(order_type="LIMIT", price=low))
    assert eng.orders[rest].status == "open" and eng.orders[rest].filled == 0
    (ioc,) = eng.place("U", order_body(order_type="LIMIT", price=low, validity="IOC"))
    assert eng.orders[ioc].status == "cancelled"
    eng.cancel("U", rest)
    assert eng.orders[rest].status == "cancelled"


def test_partial_fill_of_a_large_market_order_then_ioc(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, _ = setup
    total = int(m.book(_row(m)).ask_qty[0].sum())
    (oid,) = eng.place("U", order_body(quantity=total + 50, validity="IOC"))
    o = eng.orders[oid]
    assert o.filled == total and o.status == "cancelled"


def test_stop_loss_triggers_when_ltp_crosses(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, _ = setup
    row = _row(m)[0]
    ltp = int(m.ltp[row])
    tick = int(m.tick[row])
    trigger = ltp + tick
    (oid,) = eng.place("U", order_body(order_type="SL-M", trigger_price=trigger / 100))
    assert eng.orders[oid].status == "trigger pending"
    m.ltp[row] = trigger  # the market trades at the trigger
    eng.on_step()
    assert eng.orders[oid].status == "complete"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"order_type": "LIMIT", "price": 1500.03}, TICK_SIZE),
        ({"order_type": "MARKET", "price": 1500.0}, PRICE_NOT_REQUIRED),
        ({"order_type": "LIMIT", "price": 99.0}, PRICE_BAND),
        ({"quantity": 100_001}, FREEZE_QTY),
    ],
)
def test_rejections(setup, body: dict[str, object], code: str) -> None:  # type: ignore[no-untyped-def]
    _, _, eng, _ = setup
    with pytest.raises(SimApiError) as info:
        eng.place("U", order_body(**body))
    assert info.value.code == code and info.value.status == 400


def test_lot_size_and_market_closed(setup) -> None:  # type: ignore[no-untyped-def]
    m, clock, eng, _ = setup
    opt = next(
        k
        for k, r in zip(m.u.keys, m.u.rows, strict=True)
        if r.get("name") == "NIFTY" and r.get("instrument_type") == "CE"
    )
    with pytest.raises(SimApiError) as info:
        eng.place("U", order_body(instrument_token=opt, quantity=10))
    assert info.value.code == LOT_SIZE
    clock.set_ns(datetime_to_ns(datetime.combine(DAY, time(16, 0), tzinfo=IST)))
    m.step()
    with pytest.raises(SimApiError) as info:
        eng.place("U", order_body())
    assert info.value.code == MARKET_CLOSED


def test_slice_splits_at_the_freeze_quantity(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, _ = setup
    ids = eng.place(
        "U",
        order_body(
            quantity=250_000,
            slice=True,
            order_type="LIMIT",
            price=int(m.close_prev[_row(m)][0]) / 100 * 0.9 // 0.1 / 10,
        ),
    )
    assert [eng.orders[i].quantity for i in ids] == [100_000, 100_000, 50_000]


def test_modify_reprices_a_resting_limit_into_a_fill(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, updates = setup
    seen = len(updates)
    book = m.book(_row(m))
    tick = int(m.tick[_row(m)][0])
    low = (int(book.bid_price[0, 0]) - 10 * tick) / 100
    (oid,) = eng.place("U", order_body(order_type="LIMIT", price=low, quantity=1))
    assert eng.orders[oid].status == "open"
    eng.modify("U", {"order_id": oid, "price": int(book.ask_price[0, 0]) / 100})
    assert eng.orders[oid].status == "complete"
    assert eng.fills[-1].price == int(book.ask_price[0, 0])
    assert [u.status for u in updates[seen:]][-1] == "complete"
    with pytest.raises(SimApiError):
        eng.cancel("U", oid)  # completed orders cannot be cancelled
    with pytest.raises(SimApiError) as info:
        eng.cancel("someone else", oid)
    assert info.value.status == 403


def test_sl_trigger_must_not_be_worse_than_the_limit(setup) -> None:  # type: ignore[no-untyped-def]
    m, _, eng, _ = setup
    ltp = int(m.ltp[_row(m)][0])
    tick = int(m.tick[_row(m)][0])
    with pytest.raises(SimApiError):
        eng.place(
            "U",
            order_body(
                order_type="SL", price=(ltp + tick) / 100, trigger_price=(ltp + 2 * tick) / 100
            ),
        )
