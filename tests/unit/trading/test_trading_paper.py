"""The paper matcher, one behaviour per test: depth walks, limits, trade prints, stops, latency,
IOC, cancels and the stale-quote guard."""

from __future__ import annotations

import pytest
from paper_builders import MS, book, intent, order
from trading_builders import KEY, T0

from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading import Amendment, InvalidIntent, Validity
from quant.trading.book import BookLevel, BookSnapshot, InvalidBook
from quant.trading.paper import (
    IOC_REMAINDER,
    Liquidity,
    OrderUpdate,
    PaperConfig,
    PaperError,
    PaperMatcher,
)

S = OrderStatus
ASKS = [(10_000, 5), (10_005, 10), (10_010, 20)]
BIDS = [(9_995, 7), (9_990, 10)]


def fills(updates: list[OrderUpdate]) -> list[tuple[int, int]]:
    return [(u.fill.quantity, u.fill.price) for u in updates if u.fill is not None]


def statuses(updates: list[OrderUpdate]) -> list[OrderStatus]:
    return [u.order.status for u in updates]


def test_a_market_buy_walks_the_asks_at_each_levels_price() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS), T0)
    updates = m.submit(order(intent(Side.BUY, 12)), T0)
    assert statuses(updates) == [S.OPEN, S.PARTIALLY_FILLED, S.FILLED]
    assert updates[0].order.broker_order_id == "PAPER-1"
    assert fills(updates) == [(5, 10_000), (7, 10_005)]
    final = updates[-1].order
    assert final.filled_value == 5 * 10_000 + 7 * 10_005
    assert all(u.liquidity is Liquidity.BOOK for u in updates if u.fill)
    assert list(m.working()) == []


def test_a_market_sell_walks_the_bids() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS), T0)
    assert fills(m.submit(order(intent(Side.SELL, 9)), T0)) == [(7, 9_995), (2, 9_990)]


def test_a_day_market_order_on_a_thin_book_keeps_the_rest_working_for_the_next_book() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, [(10_000, 5)]), T0)
    updates = m.submit(order(intent(Side.BUY, 8)), T0)
    assert fills(updates) == [(5, 10_000)]
    (working,) = m.working()
    assert (working.status, working.remaining_quantity) == (S.PARTIALLY_FILLED, 3)
    later = m.on_book(book(BIDS, [(10_020, 2), (10_030, 9)], ts=T0 + MS), T0 + MS)
    assert fills(later) == [(2, 10_020), (1, 10_030)]
    assert later[-1].order.status is S.FILLED


def test_an_ioc_market_order_on_a_thin_book_cancels_the_rest() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, [(10_000, 5)]), T0)
    updates = m.submit(order(intent(Side.BUY, 8, validity=Validity.IOC)), T0)
    assert statuses(updates) == [S.OPEN, S.PARTIALLY_FILLED, S.CANCELLED]
    assert updates[-1].order.filled_quantity == 5
    assert updates[-1].order.message == IOC_REMAINDER
    assert list(m.working()) == []


def test_a_market_order_never_fills_from_ltp_alone() -> None:
    m = PaperMatcher()
    m.on_book(book(ltp=10_000, ltq=500, ltt=T0), T0)  # an LTP-only feed: no depth
    updates = m.submit(order(intent(Side.BUY, 1)), T0)
    assert statuses(updates) == [S.OPEN]
    ioc = m.submit(order(intent(Side.BUY, 1, validity=Validity.IOC)), T0)
    assert statuses(ioc) == [S.OPEN, S.CANCELLED]
    assert ioc[-1].order.filled_quantity == 0


def test_a_marketable_buy_limit_takes_the_asks_up_to_its_limit_only() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS), T0)
    updates = m.submit(order(intent(Side.BUY, 30, OrderType.LIMIT, price=10_005)), T0)
    assert fills(updates) == [(5, 10_000), (10, 10_005)]
    (working,) = m.working()
    assert (working.status, working.remaining_quantity) == (S.PARTIALLY_FILLED, 15)


def test_a_resting_buy_limit_fills_when_the_ask_comes_down_to_it() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS), T0)
    assert fills(m.submit(order(intent(Side.BUY, 4, OrderType.LIMIT, price=9_999)), T0)) == []
    low_bids = [(9_990, 10)]
    assert fills(m.on_book(book(low_bids, [(9_999, 3), (10_000, 5)], ts=T0 + 1), T0 + 1)) == [
        (3, 9_999)
    ]
    assert fills(m.on_book(book(low_bids, [(9_998, 9)], ts=T0 + 2), T0 + 2)) == [(1, 9_998)]


def test_a_resting_sell_limit_fills_when_the_bid_comes_up_to_it() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS), T0)
    assert fills(m.submit(order(intent(Side.SELL, 4, OrderType.LIMIT, price=10_002)), T0)) == []
    assert fills(m.on_book(book([(10_003, 9), (10_002, 1)], [(10_004, 1)], ts=T0 + 1), T0 + 1)) == [
        (4, 10_003)
    ]


def test_a_new_trade_at_or_through_a_resting_limit_fills_it_at_the_limit() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS, ltp=9_999, ltq=50, ltt=T0 - 5), T0)
    buy = order(intent(Side.BUY, 10, OrderType.LIMIT, price=9_995))
    assert fills(m.submit(buy, T0)) == []  # the trade before the order is not its own
    # a trade prints above the limit: no fill
    assert fills(m.on_book(book(BIDS, ASKS, ts=T0 + 1, ltp=9_996, ltq=4, ltt=T0 + 1), T0 + 1)) == []
    # a trade at the limit: fills up to the trade's quantity, at the limit
    at = m.on_book(book(BIDS, ASKS, ts=T0 + 2, ltp=9_995, ltq=4, ltt=T0 + 2), T0 + 2)
    assert fills(at) == [(4, 9_995)]
    assert at[-1].liquidity is Liquidity.TRADE
    # the same trade seen again in the next snapshot does not fill again
    assert fills(m.on_book(book(BIDS, ASKS, ts=T0 + 3, ltp=9_995, ltq=4, ltt=T0 + 2), T0 + 3)) == []
    # a trade through the limit
    through = m.on_book(book(BIDS, ASKS, ts=T0 + 4, ltp=9_990, ltq=100, ltt=T0 + 4), T0 + 4)
    assert fills(through) == [(6, 9_995)]
    assert through[-1].order.status is S.FILLED


def test_a_trade_print_is_shared_by_the_orders_it_could_fill() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS, ltt=T0), T0)
    m.submit(order(intent(Side.BUY, 5, OrderType.LIMIT, price=9_995)), T0)
    m.submit(order(intent(Side.BUY, 5, OrderType.LIMIT, price=9_995)), T0)
    updates = m.on_book(book(BIDS, ASKS, ts=T0 + 1, ltp=9_995, ltq=7, ltt=T0 + 1), T0 + 1)
    assert fills(updates) == [(5, 9_995), (2, 9_995)]


def test_orders_share_a_levels_quantity_within_one_snapshot_first_come_first_served() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, [(10_000, 5)]), T0)
    first = m.submit(order(intent(Side.BUY, 3)), T0)
    second = m.submit(order(intent(Side.BUY, 3)), T0)
    assert fills(first) == [(3, 10_000)]
    assert fills(second) == [(2, 10_000)]
    # a fresh snapshot shows the market again
    assert fills(m.on_book(book(BIDS, [(10_000, 5)], ts=T0 + 1), T0 + 1)) == [(1, 10_000)]


def test_a_buy_stop_waits_trigger_pending_until_ltp_reaches_the_trigger() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS, ltp=9_998), T0)
    stop = intent(Side.BUY, 6, OrderType.SL_M, trigger=10_010)
    updates = m.submit(order(stop), T0)
    assert statuses(updates) == [S.TRIGGER_PENDING]
    assert m.on_book(book(BIDS, ASKS, ts=T0 + 1, ltp=10_009), T0 + 1) == []
    hit = m.on_book(book(BIDS, ASKS, ts=T0 + 2, ltp=10_010), T0 + 2)
    assert statuses(hit) == [S.OPEN, S.PARTIALLY_FILLED, S.FILLED]
    assert hit[0].order.triggered
    assert fills(hit) == [(5, 10_000), (1, 10_005)]


def test_a_sell_stop_limit_becomes_a_limit_at_its_price_when_triggered() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS, ltp=10_000), T0)
    stop = intent(Side.SELL, 10, OrderType.SL, price=9_992, trigger=9_996)
    assert statuses(m.submit(order(stop), T0)) == [S.TRIGGER_PENDING]
    hit = m.on_book(book([(9_995, 4), (9_992, 3), (9_990, 50)], ASKS, ts=T0 + 1, ltp=9_996), T0 + 1)
    assert fills(hit) == [(4, 9_995), (3, 9_992)]  # never below 9_992
    (working,) = m.working()
    assert (working.status, working.remaining_quantity) == (S.PARTIALLY_FILLED, 3)


def test_the_trade_that_triggers_a_stop_limit_is_not_one_it_fills_against() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS, ltp=10_000, ltt=T0), T0)
    m.submit(order(intent(Side.SELL, 5, OrderType.SL, price=9_990, trigger=9_995)), T0)
    hit = m.on_book(book([(9_980, 5)], ASKS, ts=T0 + 1, ltp=9_995, ltq=50, ltt=T0 + 1), T0 + 1)
    assert statuses(hit) == [S.OPEN]
    later = m.on_book(book([(9_980, 5)], ASKS, ts=T0 + 2, ltp=9_991, ltq=2, ltt=T0 + 2), T0 + 2)
    assert fills(later) == [(2, 9_990)]


def test_an_order_is_eligible_only_after_the_latency() -> None:
    m = PaperMatcher(PaperConfig(latency_ns=5 * MS))
    m.on_book(book(BIDS, ASKS), T0)
    assert statuses(m.submit(order(intent(Side.BUY, 1)), T0)) == [S.OPEN]
    assert m.on_book(book(BIDS, ASKS, ts=T0 + 4 * MS), T0 + 4 * MS) == []
    assert m.on_time(T0 + 5 * MS - 1) == []
    assert fills(m.on_time(T0 + 5 * MS)) == [(1, 10_000)]


def test_the_latency_jitter_is_seeded_and_within_its_bounds() -> None:
    step = MS // 10

    def fill_times(seed: int) -> list[int]:
        m = PaperMatcher(PaperConfig(latency_ns=MS, jitter_ns=10 * MS, seed=seed))
        m.on_book(book(BIDS, [(10_000, 1_000)]), T0)
        for _ in range(5):
            assert statuses(m.submit(order(intent(Side.BUY, 1)), T0)) == [S.OPEN]
        times: list[int] = []
        for now in range(T0, T0 + 12 * MS, step):
            times.extend(u.fill.ts_event for u in m.on_time(now) if u.fill is not None)
        return times

    first = fill_times(7)
    assert len(first) == 5
    assert all(T0 + MS <= t < T0 + 11 * MS + step for t in first)
    assert len(set(first)) > 1  # the jitter spreads them
    assert fill_times(7) == first


def test_the_stale_quote_guard_refuses_an_old_book_and_counts_it() -> None:
    m = PaperMatcher(PaperConfig(stale_after_ns=500 * MS))
    m.on_book(book(BIDS, ASKS, ts=T0), T0)
    updates = m.submit(order(intent(Side.BUY, 1)), T0 + 501 * MS)
    assert statuses(updates) == [S.OPEN]
    assert m.stale_skips == 1
    assert m.on_time(T0 + 900 * MS) == []
    fresh = m.on_book(book(BIDS, ASKS, ts=T0 + 900 * MS), T0 + 901 * MS)
    assert fills(fresh) == [(1, 10_000)]


def test_an_ioc_waits_for_a_fresh_book_instead_of_deciding_on_a_stale_one() -> None:
    m = PaperMatcher(PaperConfig(stale_after_ns=500 * MS))
    m.on_book(book(BIDS, ASKS, ts=T0), T0)
    assert statuses(m.submit(order(intent(Side.BUY, 1, validity=Validity.IOC)), T0 + 600 * MS)) == [
        S.OPEN
    ]
    fresh = m.on_book(book(BIDS, ASKS, ts=T0 + 700 * MS), T0 + 700 * MS)
    assert statuses(fresh) == [S.FILLED]


def test_an_out_of_order_book_is_ignored() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS, ts=T0 + 10), T0 + 10)
    m.submit(order(intent(Side.BUY, 1, OrderType.LIMIT, price=9_000)), T0 + 10)
    assert m.on_book(book([(7_000, 5)], [(8_000, 5)], ts=T0 + 5), T0 + 11) == []
    assert m.out_of_order_books == 1
    held = m.book(KEY)
    assert held is not None and held.ts_event == T0 + 10


def test_books_of_other_instruments_do_not_fill_an_order() -> None:
    m = PaperMatcher()
    m.submit(order(intent(Side.BUY, 1)), T0)
    assert m.on_book(book(BIDS, ASKS, key="NSE_EQ|INE009A01021"), T0) == []
    assert fills(m.on_book(book(BIDS, ASKS), T0)) == [(1, 10_000)]


def test_cancel_takes_a_working_order_out_and_answers_none_when_there_is_none() -> None:
    m = PaperMatcher()
    o = order(intent(Side.BUY, 1, OrderType.LIMIT, price=9_000))
    m.submit(o, T0)
    update = m.cancel(o.client_order_id, T0 + 1)
    assert update is not None and update.order.status is S.CANCELLED
    assert m.cancel(o.client_order_id, T0 + 2) is None
    assert m.on_book(book([(7_000, 5)], [(8_000, 5)]), T0 + 3) == []


def test_a_modified_limit_that_becomes_marketable_fills_at_once() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, ASKS), T0)
    o = order(intent(Side.BUY, 8, OrderType.LIMIT, price=9_990))
    assert fills(m.submit(o, T0)) == []
    updates = m.modify(o.client_order_id, Amendment(price=10_005), T0 + 1)
    assert updates is not None
    assert updates[0].order.status is S.OPEN and updates[0].order.intent.price == 10_005
    assert fills(updates) == [(5, 10_000), (3, 10_005)]
    assert m.modify(o.client_order_id, Amendment(price=10_010), T0 + 2) is None


def test_a_modification_below_the_filled_quantity_is_refused_and_changes_nothing() -> None:
    m = PaperMatcher()
    m.on_book(book(BIDS, [(10_000, 5)]), T0)
    o = order(intent(Side.BUY, 8))
    m.submit(o, T0)
    with pytest.raises(InvalidIntent, match="not above"):
        m.modify(o.client_order_id, Amendment(quantity=5), T0 + 1)
    held = m.get(o.client_order_id)
    assert held is not None and (held.status, held.intent.quantity) == (S.PARTIALLY_FILLED, 8)


def test_only_a_new_order_can_be_sent_and_only_once() -> None:
    m = PaperMatcher()
    o = order(intent(Side.BUY, 1, OrderType.LIMIT, price=9_000))
    (ack,) = m.submit(o, T0)
    with pytest.raises(PaperError, match="only a new order"):
        m.submit(ack.order, T0)
    with pytest.raises(PaperError, match="already sent"):
        m.submit(o, T0)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"latency_ns": -1}, "latency_ns"),
        ({"jitter_ns": 1.5}, "jitter_ns"),
        ({"stale_after_ns": True}, "stale_after_ns"),
    ],
)
def test_a_bad_config_is_refused(config: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PaperConfig(**config)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bids", "asks", "match"),
    [
        ([(100, 1), (101, 1)], [], "strictly descending"),
        ([], [(101, 1), (100, 1)], "strictly ascending"),
        ([(100, 0)], [], "must be > 0"),
    ],
)
def test_a_malformed_book_is_refused(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], match: str
) -> None:
    with pytest.raises(InvalidBook, match=match):
        book(bids, asks)


def test_a_book_from_a_feed_tick_leaves_empty_levels_out() -> None:
    tick = Tick(
        KEY,
        FeedMode.FULL,
        T0,
        T0 + 3,
        ltp=10_000,
        ltt_ns=T0 - 1,
        ltq=25,
        depth=(DepthLevel(9_995, 7, 10_000, 5), DepthLevel(0, 0, 10_005, 10)),
    )
    snap = BookSnapshot.from_tick(tick)
    assert snap.bids == (BookLevel(9_995, 7),)
    assert snap.asks == (BookLevel(10_000, 5), BookLevel(10_005, 10))
    assert (snap.ts_event, snap.ltp, snap.last_trade_qty, snap.last_trade_ts) == (
        T0,
        10_000,
        25,
        T0 - 1,
    )
