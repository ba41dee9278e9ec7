"""The broker port: what the execution service needs from a broker (paper or Upstox).

Owned by its consumer (the OMS in the execution service); implemented by
``quant.upstox.broker.UpstoxBroker`` (live, Orders V3) and the paper broker. Pure typing
and frozen values only: no I/O here. Prices are integer paise, quantities units.

- :meth:`Broker.place` sends one order under its client order id (sent as the Upstox
  ``tag``) and returns the broker's order id(s) (several when the order was sliced). An
  implementation never sends the same request twice: if the answer is lost it looks the
  order up by tag, and if it still cannot tell it raises :class:`OrderStateUnknown` so that
  the caller reconciles (with :meth:`Broker.find_by_tag`) instead of placing again.
- :meth:`Broker.modify` / :meth:`Broker.cancel` act on one broker order id.
- :meth:`Broker.order_book`, :meth:`Broker.trades`, :meth:`Broker.positions` are the day's
  state for reconciliation; :meth:`Broker.updates` streams order updates (after a
  reconnect it replays the order book, so a consumer misses no final state).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.errors import TradingError
from quant.trading.intent import OrderIntent


class BrokerError(TradingError):
    """The broker refused or could not complete a request (message says which and why)."""


class OrderRefused(BrokerError):
    """Refused before anything was sent (e.g. a live order without an algo name)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class BrokerRejected(BrokerError):
    """The broker answered and refused the request (``code`` is its error code, if any)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class OrderStateUnknown(BrokerError):
    """A place was sent but its outcome is unknown (answer lost, not found by tag yet).

    Never resend: reconcile later with :meth:`Broker.find_by_tag`."""

    def __init__(self, client_order_id: str, message: str) -> None:
        super().__init__(message)
        self.client_order_id = client_order_id


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """One order to place: the intent, its client order id and how to send it."""

    intent: OrderIntent
    client_order_id: str
    algo_name: str | None = None
    #: Upstox ``market_protection`` for MARKET / SL-M: None = not sent, 0 none, -1 auto, 1-25 %
    market_protection: int | None = None
    #: the worst price (paise) a MARKET / SL-M order may fill at, as the risk check priced
    #: it (``quant.trading.risk.ChildOrder.protection_price``); 0 = not given. Upstox
    #: prices its own from ``market_protection``; the paper broker fills within this one.
    protection_price: int = 0
    #: let the broker split the order at the exchange freeze quantity
    slice: bool = False
    #: when the strategy decided to place it (UTC ns, the intent's ``ts_event``; 0 unknown):
    #: the paper broker with ``event_time`` matches it as of then, not of its arrival
    ts_decided: int = 0


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker reports it (order book row or stream update)."""

    broker_order_id: str
    client_order_id: str  # the tag ("" for orders placed elsewhere)
    instrument_key: str
    side: Side
    order_type: OrderType
    product: str
    quantity: int
    filled_quantity: int
    price: int
    trigger_price: int
    average_price: int
    status: OrderStatus
    broker_status: str  # the broker's own status text, as sent
    message: str = ""


@dataclass(frozen=True, slots=True)
class BrokerTrade:
    """One execution from the broker's trade book."""

    trade_id: str
    broker_order_id: str
    instrument_key: str
    side: Side
    product: str
    quantity: int
    price: int


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """The day's net position in one instrument and product; values are price x quantity."""

    instrument_key: str
    product: str
    quantity: int
    buy_quantity: int
    sell_quantity: int
    buy_value: int
    sell_value: int


class Broker(Protocol):
    """The order path's view of a broker; see the module docstring."""

    async def place(self, request: PlaceRequest) -> tuple[str, ...]: ...

    async def modify(self, broker_order_id: str, amended: OrderIntent) -> None: ...

    async def cancel(self, broker_order_id: str) -> None: ...

    async def order_book(self) -> list[BrokerOrder]: ...

    async def trades(self) -> list[BrokerTrade]: ...

    async def positions(self) -> list[BrokerPosition]: ...

    async def find_by_tag(self, client_order_id: str) -> list[BrokerOrder]: ...

    def updates(self) -> AsyncIterator[BrokerOrder]: ...
