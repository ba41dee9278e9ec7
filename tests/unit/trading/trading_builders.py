"""Shared builders for the trading-domain tests: intents and orders in each status."""

from __future__ import annotations

from quant.core.orders import OrderType, Side
from quant.trading import Amendment, Order, OrderIntent, Product, Validity

KEY = "NSE_EQ|INE002A01018"
T0 = 1_765_000_000_000_000_000


def limit(
    qty: int = 10, price: int = 250_000, side: Side = Side.BUY, validity: Validity = Validity.DAY
) -> OrderIntent:
    return OrderIntent(
        "orb", KEY, side, qty, OrderType.LIMIT, Product.INTRADAY, price=price, validity=validity
    )


def stop_limit(qty: int = 10) -> OrderIntent:
    return OrderIntent(
        "orb",
        KEY,
        Side.BUY,
        qty,
        OrderType.SL,
        Product.INTRADAY,
        price=251_000,
        trigger_price=250_500,
    )


def ioc(qty: int = 10) -> OrderIntent:
    return limit(qty, validity=Validity.IOC)


def new(intent: OrderIntent | None = None) -> Order:
    return Order.new(intent or limit(), "orb-261207-1", T0)


def open_(intent: OrderIntent | None = None) -> Order:
    return new(intent).accepted("B1", T0 + 1)


def trigger_pending() -> Order:
    return open_(stop_limit())


def partially_filled() -> Order:
    return open_().fill(3, 250_000, T0 + 2)[0]


def modify_pending(order: Order | None = None) -> Order:
    return (order or open_()).modify_requested(Amendment(quantity=12), T0 + 3)


def cancel_pending(order: Order | None = None) -> Order:
    return (order or open_()).cancel_requested(T0 + 3)
