"""Order lifecycle events as the domain sees them (OMS, audit trail, ``orders.events``).

Execution emits one ``OrderEvent`` per state change of an order; the relational store
appends it to ``executed_orders`` and the bus carries it on ``orders.events``. Prices
and values are integer paise, quantities are units (shares or contracts), never lots.
Enum values match ``quant.trading.v1`` in the protobuf schema. The transitions between the
statuses, and the order value that moves through them, are in ``quant.trading``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple


class Side(IntEnum):
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    MARKET = 1
    LIMIT = 2
    SL = 3
    SL_M = 4


class OrderStatus(IntEnum):
    PENDING_NEW = 1
    OPEN = 2
    PARTIALLY_FILLED = 3
    FILLED = 4
    CANCELLED = 5
    REJECTED = 6
    TRIGGER_PENDING = 7
    #: a modification was sent and the broker has not answered yet
    MODIFY_PENDING = 8
    #: a cancellation was sent and the broker has not answered yet
    CANCEL_PENDING = 9

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


class OrderEvent(NamedTuple):
    """One state change of one order (``client_order_id`` is the idempotency key)."""

    client_order_id: str
    instrument_key: str
    side: Side
    order_type: OrderType
    quantity: int
    status: OrderStatus
    ts_event: int
    ts_init: int
    broker_order_id: str = ""
    product: str = "I"
    validity: str = "DAY"
    price: int = 0
    trigger_price: int = 0
    filled_quantity: int = 0
    filled_value: int = 0
    message: str = ""
    strategy: str = ""
    mode: str = "paper"
    #: stable reason code of a rejection or of a service-made order (e.g. ``MAX_ORDER_VALUE``)
    reason: str = ""
    #: the ``X-Algo-Name`` the order was sent with (live), "" when none
    algo_name: str = ""
