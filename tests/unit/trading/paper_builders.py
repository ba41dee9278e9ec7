"""Shared builders for the paper-matcher tests: books, orders of each type, a submit helper."""

from __future__ import annotations

from trading_builders import KEY, T0

from quant.core.orders import OrderType, Side
from quant.trading import Order, OrderIntent, Product, Validity
from quant.trading.book import BookLevel, BookSnapshot

MS = 1_000_000


def book(
    bids: list[tuple[int, int]] | None = None,
    asks: list[tuple[int, int]] | None = None,
    *,
    ts: int = T0,
    ltp: int = 0,
    ltq: int = 0,
    ltt: int = 0,
    key: str = KEY,
) -> BookSnapshot:
    """A snapshot from (price, qty) pairs, best first."""
    return BookSnapshot(
        key,
        ts,
        tuple(BookLevel(p, q) for p, q in bids or []),
        tuple(BookLevel(p, q) for p, q in asks or []),
        ltp=ltp,
        last_trade_qty=ltq,
        last_trade_ts=ltt,
    )


def intent(
    side: Side,
    qty: int,
    order_type: OrderType = OrderType.MARKET,
    *,
    price: int = 0,
    trigger: int = 0,
    validity: Validity = Validity.DAY,
    product: Product = Product.INTRADAY,
    strategy: str = "orb",
    key: str = KEY,
) -> OrderIntent:
    return OrderIntent(
        strategy,
        key,
        side,
        qty,
        order_type,
        product,
        price=price,
        trigger_price=trigger,
        validity=validity,
    )


_seq = iter(range(1, 1_000_000))


def order(i: OrderIntent, ts: int = T0) -> Order:
    return Order.new(i, f"orb-261207-{next(_seq)}", ts)
