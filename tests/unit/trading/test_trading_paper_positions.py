"""A scripted market through the paper matcher into the position book: the position and the
realised/unrealised P&L to the paisa, worked by hand; then the 15:15 square-off closes it."""

from __future__ import annotations

from datetime import date, datetime, time

from paper_builders import book, intent, order

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading import Order, PositionBook, Product
from quant.trading.paper import OrderUpdate, PaperConfig, PaperMatcher
from quant.trading.squareoff import MisSquareOff

MONDAY = date(2026, 12, 7)
MS = 1_000_000


def at(h: int, m: int) -> int:
    return datetime_to_ns(datetime.combine(MONDAY, time(h, m), tzinfo=IST))


class Desk:
    """The OMS's part in miniature: apply every update, book every fill."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.paper = PaperMatcher(PaperConfig(latency_ns=2 * MS))
        self.positions = PositionBook()
        self.orders: dict[str, Order] = {}

    def apply(self, updates: list[OrderUpdate]) -> None:
        for u in updates:
            self.orders[u.order.client_order_id] = u.order
            if u.fill is not None:
                self.positions.apply(u.fill)

    def send(self, o: Order) -> Order:
        self.apply(self.paper.submit(o, self.clock.now_ns()))
        return o

    def tick(self, *args: object, **kwargs: object) -> None:
        now = self.clock.advance(ns=5 * MS)
        self.apply(self.paper.on_book(book(*args, ts=now, **kwargs), now))  # type: ignore[arg-type]


def test_a_scripted_morning_gives_the_worked_position_and_pnl_then_square_off_flattens() -> None:
    clock = FakeClock(at(10, 0))
    desk = Desk(clock)
    desk.tick([(249_900, 50)], [(250_000, 4), (250_050, 10)], ltp=249_950, ltt=1)

    # 1. MARKET BUY 10: eligible after 2 ms, walks 4 @ 2500.00 and 6 @ 2500.50 on the next book
    buy = desk.send(order(intent(Side.BUY, 10)))
    assert desk.orders[buy.client_order_id].status is OrderStatus.OPEN
    desk.tick([(249_900, 50)], [(250_000, 4), (250_050, 10)], ltp=250_000, ltt=2)
    assert desk.orders[buy.client_order_id].status is OrderStatus.FILLED
    p = desk.positions.get("orb", buy.intent.instrument_key, Product.INTRADAY)
    assert (p.net_quantity, p.cost) == (10, 4 * 250_000 + 6 * 250_050)  # 2_500_300

    # 2. a resting SELL LIMIT 6 @ 2510.00: 2 fill on a trade print at 2510.00, 4 on the bid
    sell = desk.send(order(intent(Side.SELL, 6, OrderType.LIMIT, price=251_000)))
    desk.tick([(250_500, 9)], [(251_500, 9)], ltp=250_600, ltq=3, ltt=3)
    assert desk.orders[sell.client_order_id].filled_quantity == 0
    desk.tick([(250_500, 9)], [(251_500, 9)], ltp=251_000, ltq=2, ltt=4)
    assert desk.orders[sell.client_order_id].filled_quantity == 2
    desk.tick([(251_200, 4), (251_000, 9)], [(251_500, 9)], ltp=251_000, ltt=4)
    assert desk.orders[sell.client_order_id].status is OrderStatus.FILLED
    # sold 2 @ 2510.00 + 4 @ 2512.00 = 1_506_800; their cost share 2_500_300 * 6/10 = 1_500_180
    p = desk.positions.get("orb", buy.intent.instrument_key, Product.INTRADAY)
    assert (p.net_quantity, p.cost, p.realised) == (4, 1_000_120, 6_620)

    # 3. a protective SELL SL-M 4 at trigger 2505.00 waits while LTP stays above it
    stop = desk.send(order(intent(Side.SELL, 4, OrderType.SL_M, trigger=250_500)))
    desk.tick([(250_800, 9)], [(251_000, 9)], ltp=250_900, ltt=5)
    assert desk.orders[stop.client_order_id].status is OrderStatus.TRIGGER_PENDING
    assert p.unrealised(250_900) == 4 * 250_900 - 1_000_120  # 3_480 at the last price
    assert desk.positions.unrealised({p.key.instrument_key: 250_900}) == 3_480
    assert desk.positions.realised() == 6_620

    # 4. at 15:15 the square-off cancels the stop and closes the 4 with a MARKET SELL
    clock.set_ns(at(15, 15))
    plan = MisSquareOff().check(clock.now_ns(), desk.positions, desk.orders.values())
    assert plan is not None
    assert list(plan.cancel) == [stop.client_order_id]
    for cid in plan.cancel:
        cancelled = desk.paper.cancel(cid, clock.now_ns())
        assert cancelled is not None
        desk.apply([cancelled])
    (close,) = plan.close
    assert (close.side, close.quantity, close.order_type) == (Side.SELL, 4, OrderType.MARKET)
    desk.send(order(close))
    desk.tick([(250_600, 3), (250_500, 9)], [(250_800, 9)], ltp=250_700, ltt=6)
    p = desk.positions.get("orb", buy.intent.instrument_key, Product.INTRADAY)
    # closes 3 @ 2506.00 + 1 @ 2505.00 = 1_002_300 against the remaining cost 1_000_120
    assert (p.net_quantity, p.cost, p.realised) == (0, 0, 6_620 + 2_180)
    assert p.realised == p.cash_flow
    assert desk.orders[stop.client_order_id].status is OrderStatus.CANCELLED
    assert list(desk.paper.working()) == []
