"""Properties of the paper matcher over random books and orders (hypothesis).

For any sequence of books, submissions, cancels and passing time: the paper fills against
one snapshot never exceed the quantity it shows at a level (nor the new trade's quantity),
a BUY never fills above its limit nor a SELL below, an order never fills past its quantity,
a stop never fills before a book's LTP reached its trigger, and every fill against the book
is at a price the book showed on the opposite side.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from paper_builders import MS, book, intent, order
from trading_builders import T0

from quant.core.orders import OrderType, Side
from quant.trading import Amendment, InvalidIntent, Order, OrderIntent, Validity
from quant.trading.book import BookSnapshot
from quant.trading.paper import Liquidity, OrderUpdate, PaperConfig, PaperMatcher


@st.composite
def snapshots(
    draw: st.DrawFn,
) -> tuple[int, int, int, int, list[tuple[int, int]], list[tuple[int, int]]]:
    """(mid, ltp, ltq, new trade?, bids, asks) around a random mid; a wide book now and then,
    so that resting limits meet trade prints rather than the book."""
    mid = draw(st.integers(9_990, 10_010))
    half_spread = draw(st.sampled_from([0, 0, 40]))
    levels = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 40)), max_size=5)
    bids, asks, p = [], [], mid - half_spread
    for gap, qty in draw(levels):
        p -= gap
        bids.append((p, qty))
    p = mid + half_spread
    for gap, qty in draw(levels):
        p += gap
        asks.append((p, qty))
    ltp = mid + draw(st.integers(-10, 10))
    return mid, ltp, draw(st.integers(0, 12)), draw(st.integers(0, 1)), bids, asks


@st.composite
def intents(draw: st.DrawFn) -> OrderIntent:
    side = draw(st.sampled_from(Side))
    order_type = draw(st.sampled_from(OrderType))
    qty = draw(st.integers(1, 40))
    validity = draw(st.sampled_from(Validity))
    a, b = sorted(draw(st.integers(9_975, 10_025)) for _ in range(2))
    if order_type is OrderType.MARKET:
        return intent(side, qty, order_type, validity=validity)
    if order_type is OrderType.LIMIT:
        return intent(side, qty, order_type, price=a, validity=validity)
    if order_type is OrderType.SL_M:
        return intent(side, qty, order_type, trigger=a, validity=validity)
    price, trigger = (b, a) if side is Side.BUY else (a, b)
    return intent(side, qty, order_type, price=price, trigger=trigger, validity=validity)


actions = st.lists(
    st.one_of(
        st.tuples(st.just("book"), snapshots(), st.integers(0, 3 * MS)),
        st.tuples(st.just("submit"), intents()),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(
            st.just("modify"), st.integers(0, 30), st.integers(1, 40), st.integers(9_975, 10_025)
        ),
        st.tuples(st.just("time"), st.integers(0, 2 * MS)),
    ),
    min_size=1,
    max_size=40,
)


@dataclass
class Run:
    """What happened: each update with the index of the snapshot held when it happened."""

    updates: list[tuple[int, OrderUpdate]]
    books: list[BookSnapshot]
    orders: dict[str, Order]


def run(steps: list[tuple[object, ...]], latency: int) -> Run:
    m = PaperMatcher(PaperConfig(latency_ns=latency, jitter_ns=latency, stale_after_ns=2 * MS))
    now, trade_ts = T0, T0
    books: list[BookSnapshot] = []
    sent: list[str] = []
    orders: dict[str, Order] = {}
    out: list[tuple[int, OrderUpdate]] = []
    for step in steps:
        kind = step[0]
        if kind == "book":
            (_, ltp, ltq, new_trade, bids, asks), delay = step[1], step[2]  # type: ignore[misc]
            now += MS
            trade_ts += new_trade
            snap = book(bids, asks, ts=now, ltp=ltp, ltq=ltq, ltt=trade_ts)
            books.append(snap)
            updates = m.on_book(snap, now + delay)
            now += delay
        elif kind == "submit":
            o = order(step[1])  # type: ignore[arg-type]
            orders[o.client_order_id] = o
            sent.append(o.client_order_id)
            updates = m.submit(o, now)
        elif kind == "cancel":
            idx = step[1]
            assert isinstance(idx, int)
            cancelled = m.cancel(sent[idx], now) if idx < len(sent) else None
            updates = [cancelled] if cancelled else []
        elif kind == "modify":
            idx, qty, price = step[1:]
            assert isinstance(idx, int) and isinstance(qty, int) and isinstance(price, int)
            held = m.get(sent[idx]) if idx < len(sent) else None
            limit_like = held is not None and held.intent.order_type in (
                OrderType.LIMIT,
                OrderType.SL,
            )
            amendment = Amendment(quantity=qty, price=price if limit_like else None)
            try:
                updates = m.modify(sent[idx], amendment, now) or [] if held else []
            except InvalidIntent:
                updates = []  # refused (e.g. below the filled quantity): nothing changed
        else:
            dt = step[1]
            assert isinstance(dt, int)
            now += dt
            updates = m.on_time(now)
        for u in updates:
            orders[u.order.client_order_id] = u.order
            out.append((len(books) - 1, u))
    return Run(out, books, orders)


def check(r: Run) -> None:
    """The properties of the module docstring, over everything that happened in ``r``."""
    taken: dict[tuple[int, Side, int], int] = defaultdict(int)
    traded: dict[int, int] = defaultdict(int)
    filled: dict[str, int] = defaultdict(int)
    for snap_idx, u in r.updates:
        if u.fill is None:
            continue
        i, f = u.order.intent, u.fill
        assert snap_idx >= 0, "a fill with no book"
        snap = r.books[snap_idx]
        filled[f.client_order_id] += f.quantity
        assert filled[f.client_order_id] <= i.quantity
        assert u.order.filled_quantity == filled[f.client_order_id]
        if i.order_type in (OrderType.LIMIT, OrderType.SL):
            assert f.price <= i.price if i.side is Side.BUY else f.price >= i.price
        if i.is_stop:
            crossed = [
                b.ltp >= i.trigger_price if i.side is Side.BUY else 0 < b.ltp <= i.trigger_price
                for b in r.books[: snap_idx + 1]
            ]
            assert any(crossed), "a stop filled before its trigger was reached"
        if u.liquidity is Liquidity.BOOK:
            levels = snap.asks if i.side is Side.BUY else snap.bids
            shown = {lv.price: lv.quantity for lv in levels}
            assert f.price in shown, "a book fill at a price the book did not show"
            taken[snap_idx, i.side, f.price] += f.quantity
            assert taken[snap_idx, i.side, f.price] <= shown[f.price]
        else:
            traded[snap_idx] += f.quantity
            assert traded[snap_idx] <= snap.last_trade_qty
            assert f.price == i.price
            assert snap.ltp <= i.price if i.side is Side.BUY else snap.ltp >= i.price
    for o in r.orders.values():
        assert o.filled_quantity <= o.intent.quantity
        assert o.filled_quantity == filled[o.client_order_id]


@settings(max_examples=300, deadline=None)
@given(actions, st.sampled_from([0, MS]))
def test_paper_fills_respect_the_book_the_limits_and_the_triggers(
    steps: list[tuple[object, ...]], latency: int
) -> None:
    check(run(steps, latency))


_WIDE_BIDS = [(9_900, 10), (9_890, 10)]
_WIDE_ASKS = [(10_100, 10), (10_110, 10)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(Side), st.integers(1, 30), st.integers(9_975, 10_025)),
        min_size=1,
        max_size=6,
    ),
    st.lists(
        st.tuples(st.integers(9_970, 10_030), st.integers(0, 20), st.integers(0, 1)),
        min_size=1,
        max_size=8,
    ),
)
def test_resting_limits_share_each_new_trade_print_and_fill_at_their_limit(
    limits: list[tuple[Side, int, int]], trades: list[tuple[int, int, int]]
) -> None:
    steps: list[tuple[object, ...]] = [("book", (0, 10_000, 0, 0, _WIDE_BIDS, _WIDE_ASKS), 0)]
    steps += [("submit", intent(side, qty, OrderType.LIMIT, price=p)) for side, qty, p in limits]
    steps += [("book", (0, ltp, ltq, new, _WIDE_BIDS, _WIDE_ASKS), 0) for ltp, ltq, new in trades]
    r = run(steps, 0)
    check(r)
    for idx, u in r.updates:
        if u.fill is not None:
            assert u.liquidity is Liquidity.TRADE
            assert r.books[idx].last_trade_ts > r.books[idx - 1].last_trade_ts, "an old trade"


@settings(max_examples=150, deadline=None)
@given(actions)
def test_a_stop_is_trigger_pending_until_its_trigger_and_triggers_before_it_fills(
    steps: list[tuple[object, ...]],
) -> None:
    r = run(steps, 0)
    triggered: set[str] = set()
    for _, u in r.updates:
        cid, i = u.order.client_order_id, u.order.intent
        if not i.is_stop:
            continue
        if u.order.triggered:
            triggered.add(cid)
        if u.fill is not None:
            assert cid in triggered
