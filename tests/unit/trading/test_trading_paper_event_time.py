"""The paper matcher on event time: latency and staleness counted from the strategy's
decision and the books' exchange times, not from when an order or a book arrives (as a
backtest's simulated clock sees them)."""

from __future__ import annotations

from paper_builders import MS, book, intent, order
from trading_builders import T0

from quant.core.orders import Side
from quant.trading.book import BookSnapshot
from quant.trading.paper import OrderUpdate, PaperConfig, PaperMatcher

S = 1_000 * MS


def fills(updates: list[OrderUpdate]) -> list[tuple[int, int]]:
    return [(u.fill.quantity, u.fill.price) for u in updates if u.fill is not None]


def asks(price: int, ts: int) -> BookSnapshot:
    return book([(price - 5, 100)], [(price, 100)], ts=ts)


def test_an_order_that_arrives_after_a_newer_book_fills_on_the_book_of_its_decision() -> None:
    m = PaperMatcher(PaperConfig(event_time=True))
    m.on_book(asks(10_000, T0), T0)
    m.on_book(asks(10_100, T0 + 5 * S), T0 + 5 * S)  # came in before the order did
    updates = m.submit(order(intent(Side.BUY, 3)), T0 + 6 * S, decided_ns=T0 + 1 * S)
    assert fills(updates) == [(3, 10_000)]


def test_without_event_time_the_same_order_fills_on_the_book_held_at_arrival() -> None:
    m = PaperMatcher()
    m.on_book(asks(10_000, T0), T0)
    m.on_book(asks(10_100, T0 + 5 * S), T0 + 5 * S)
    updates = m.submit(order(intent(Side.BUY, 3)), T0 + 6 * S, decided_ns=T0 + 1 * S)
    assert fills(updates) == [(3, 10_100)]


def test_a_late_order_is_not_refused_as_stale_when_its_book_was_fresh_at_its_decision() -> None:
    cfg = PaperConfig(event_time=True, stale_after_ns=2 * S)
    m = PaperMatcher(cfg)
    m.on_book(asks(10_000, T0), T0)
    # arrives 10 s after the book: stale on arrival, fresh at the decision 1 s after it
    assert fills(m.submit(order(intent(Side.BUY, 1)), T0 + 10 * S, decided_ns=T0 + S)) == [
        (1, 10_000)
    ]
    plain = PaperMatcher(PaperConfig(stale_after_ns=2 * S))
    plain.on_book(asks(10_000, T0), T0)
    assert fills(plain.submit(order(intent(Side.BUY, 1)), T0 + 10 * S, decided_ns=T0 + S)) == []


def test_latency_elapses_on_event_time_and_matches_the_book_held_at_that_instant() -> None:
    m = PaperMatcher(PaperConfig(event_time=True, latency_ns=2 * S, stale_after_ns=10 * S))
    m.on_book(asks(10_000, T0), T0)
    assert fills(m.submit(order(intent(Side.BUY, 2)), T0 + S, decided_ns=T0 + S)) == []
    # the next book is at T0 + 4 s: the order was eligible at T0 + 3 s, on the old book
    assert fills(m.on_book(asks(10_200, T0 + 4 * S), T0 + 4 * S)) == [(2, 10_000)]


def test_latency_that_ended_before_the_order_arrived_uses_the_kept_books() -> None:
    m = PaperMatcher(PaperConfig(event_time=True, latency_ns=2 * S, stale_after_ns=10 * S))
    m.on_book(asks(10_000, T0), T0)
    m.on_book(asks(10_050, T0 + 2 * S), T0 + 2 * S)
    m.on_book(asks(10_100, T0 + 4 * S), T0 + 4 * S)
    # decided at T0 + 1 s, eligible at T0 + 3 s: the book of T0 + 2 s
    assert fills(m.submit(order(intent(Side.BUY, 2)), T0 + 5 * S, decided_ns=T0 + S)) == [
        (2, 10_050)
    ]


def test_on_time_matches_at_the_eligible_instant_not_at_the_timer_s() -> None:
    cfg = PaperConfig(event_time=True, latency_ns=1 * S, stale_after_ns=2 * S)
    m = PaperMatcher(cfg)
    m.on_book(asks(10_000, T0), T0)
    assert fills(m.submit(order(intent(Side.BUY, 1)), T0, decided_ns=T0)) == []
    assert fills(m.on_time(T0 + S // 2)) == []  # not yet eligible
    # the timer runs late (5 s): the book was 1 s old at the eligible instant, so it fills
    assert fills(m.on_time(T0 + 5 * S)) == [(1, 10_000)]


def test_an_order_without_a_decision_time_counts_from_its_arrival() -> None:
    m = PaperMatcher(PaperConfig(event_time=True))
    m.on_book(asks(10_000, T0), T0)
    m.on_book(asks(10_100, T0 + 5 * S), T0 + 5 * S)
    assert fills(m.submit(order(intent(Side.BUY, 1)), T0 + 6 * S)) == [(1, 10_100)]
