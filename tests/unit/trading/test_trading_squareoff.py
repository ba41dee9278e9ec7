"""MIS square-off under the fake clock: before, at and after the time, once a day, special
sessions, closed days, and what the plan cancels and closes."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from paper_builders import intent, order
from trading_builders import T0

from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading import Fill, PositionBook, Product
from quant.trading.squareoff import (
    SQUARE_OFF_TAG,
    MisSquareOff,
    closing_intents,
    orders_to_cancel,
)

RELIANCE = "NSE_EQ|INE002A01018"
INFY = "NSE_EQ|INE009A01021"
MONDAY = date(2026, 12, 7)


def ist(day: date, h: int, m: int, s: int = 0) -> int:
    return datetime_to_ns(datetime.combine(day, time(h, m, s), tzinfo=IST))


def fill(strategy: str, key: str, product: Product, side: Side, qty: int, price: int) -> Fill:
    return Fill(f"{strategy}-1", strategy, key, product, side, qty, qty * price, T0)


def book_with_positions() -> PositionBook:
    book = PositionBook()
    book.apply(fill("orb", RELIANCE, Product.INTRADAY, Side.BUY, 10, 250_000))
    book.apply(fill("mom", INFY, Product.INTRADAY, Side.SELL, 5, 150_000))
    book.apply(fill("orb", INFY, Product.DELIVERY, Side.BUY, 7, 150_000))  # carried: kept
    book.apply(fill("mom", RELIANCE, Product.INTRADAY, Side.BUY, 3, 250_000))
    book.apply(fill("mom", RELIANCE, Product.INTRADAY, Side.SELL, 3, 251_000))  # flat
    return book


def test_nothing_before_the_time_the_plan_at_it_and_only_once_that_day() -> None:
    clock = FakeClock(ist(MONDAY, 15, 14, 59))
    sq = MisSquareOff()
    positions = book_with_positions()
    assert sq.check(clock.now_ns(), positions, []) is None
    clock.advance(1.0)
    plan = sq.check(clock.now_ns(), positions, [])
    assert plan is not None
    assert (plan.day, plan.at_ns) == (MONDAY, ist(MONDAY, 15, 15))
    assert sq.done_for == MONDAY
    clock.advance(60.0)
    assert sq.check(clock.now_ns(), positions, []) is None
    clock.set_ns(ist(date(2026, 12, 8), 15, 15))
    again = sq.check(clock.now_ns(), positions, [])
    assert again is not None and again.day == date(2026, 12, 8)


def test_a_service_started_after_the_time_squares_off_until_the_close_not_after() -> None:
    positions = book_with_positions()
    assert MisSquareOff().check(ist(MONDAY, 15, 29, 59), positions, []) is not None
    assert MisSquareOff().check(ist(MONDAY, 15, 30), positions, []) is None


def test_a_day_marked_done_from_the_audit_trail_is_not_squared_off_again() -> None:
    sq = MisSquareOff()
    sq.mark_done(MONDAY)
    assert sq.check(ist(MONDAY, 15, 20), book_with_positions(), []) is None


def test_closed_days_have_no_square_off() -> None:
    sq = MisSquareOff()
    assert sq.square_off_at(date(2026, 12, 25)) is None  # Christmas
    assert sq.check(ist(date(2026, 12, 25), 15, 15), book_with_positions(), []) is None
    assert sq.check(ist(date(2026, 12, 12), 15, 15), book_with_positions(), []) is None  # Sat


def test_a_special_session_squares_off_the_same_interval_before_its_own_close() -> None:
    muhurat = date(2026, 11, 8)  # a Sunday, 18:00-19:00 IST
    session = NSE_CALENDAR.session(muhurat)
    assert session is not None and session.times.close == time(19, 0)
    sq = MisSquareOff()
    assert sq.square_off_at(muhurat) == (ist(muhurat, 18, 45), ist(muhurat, 19, 0))
    positions = book_with_positions()
    assert sq.check(ist(muhurat, 15, 15), positions, []) is None
    assert sq.check(ist(muhurat, 18, 44, 59), positions, []) is None
    plan = sq.check(ist(muhurat, 18, 45), positions, [])
    assert plan is not None and plan.close


def test_the_time_is_configurable_and_must_come_before_the_close() -> None:
    sq = MisSquareOff(at=time(15, 0))
    assert sq.check(ist(MONDAY, 14, 59, 59), book_with_positions(), []) is None
    assert sq.check(ist(MONDAY, 15, 0), book_with_positions(), []) is not None
    with pytest.raises(ValueError, match="before the normal close"):
        MisSquareOff(at=time(15, 30))


def test_the_plan_closes_each_open_intraday_position_for_its_own_strategy() -> None:
    intents = closing_intents(book_with_positions())
    got = [(i.strategy, i.instrument_key, i.side, i.quantity) for i in intents]
    assert got == [("mom", INFY, Side.BUY, 5), ("orb", RELIANCE, Side.SELL, 10)]
    for i in intents:
        assert (i.order_type, i.product, i.tag) == (
            OrderType.MARKET,
            Product.INTRADAY,
            SQUARE_OFF_TAG,
        )


def test_the_plan_cancels_the_working_intraday_orders_only() -> None:
    working = order(intent(Side.BUY, 5, OrderType.LIMIT, price=240_000)).accepted("B1", T0)
    partly = (
        order(intent(Side.BUY, 5, OrderType.LIMIT, price=240_000))
        .accepted("B2", T0)
        .fill(2, 240_000, T0)[0]
    )
    stop = order(intent(Side.SELL, 5, OrderType.SL_M, trigger=230_000)).accepted("B3", T0)
    delivery = order(
        intent(Side.BUY, 5, OrderType.LIMIT, price=240_000, product=Product.DELIVERY)
    ).accepted("B4", T0)
    done = order(intent(Side.BUY, 1)).accepted("B5", T0).fill(1, 250_000, T0)[0]
    cancelling = order(intent(Side.BUY, 1, OrderType.LIMIT, price=1)).cancel_requested(T0)
    orders = [working, partly, stop, delivery, done, cancelling]
    assert stop.status is OrderStatus.TRIGGER_PENDING
    expected = sorted([working.client_order_id, partly.client_order_id, stop.client_order_id])
    assert list(orders_to_cancel(orders)) == expected
    plan = MisSquareOff().check(ist(MONDAY, 15, 15), [], orders)
    assert plan is not None and list(plan.cancel) == expected and plan.close == ()
