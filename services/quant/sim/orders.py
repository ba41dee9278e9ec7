"""Order records of the simulated broker and their Upstox JSON shapes.

``SimOrder``/``SimFill`` are what :mod:`quant.sim.matching` mutates; ``order_json``,
``fill_json`` and ``update_json`` render them as the order book, trade book and
portfolio-stream payloads (prices rupees, timestamps ``YYYY-MM-DD HH:MM:SS`` IST).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quant.core.clock import IST, ns_to_datetime

OPEN = "open"
TRIGGER_PENDING = "trigger pending"
COMPLETE = "complete"
CANCELLED = "cancelled"
REJECTED = "rejected"
RECEIVED = "put order req received"
AMO_RECEIVED = "after market order req received"
LIVE = (OPEN, TRIGGER_PENDING, AMO_RECEIVED)


def _ts(ns: int) -> str:
    return ns_to_datetime(ns, IST).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(slots=True)
class SimFill:
    trade_id: str
    order_id: str
    price: int
    qty: int
    ts_ns: int


@dataclass(slots=True)
class SimOrder:
    """One order; prices in paise, quantities in units, side +1 buy / -1 sell.

    ``market_protection`` is the order's field as sent (0 none, -1 automatic, else a
    percentage); ``protection_price`` the limit it became once priced (MARKET at placement,
    SL-M at its trigger; 0 = none). ``algo_name`` is the ``X-Algo-Name`` header it was
    placed with (not in Upstox's order JSON; kept for tests and checks).
    """

    order_id: str
    user_id: str
    row: int
    instrument_key: str
    trading_symbol: str
    exchange: str
    product: str
    validity: str
    order_type: str
    side: int
    quantity: int
    price: int
    trigger_price: int
    disclosed_quantity: int
    tag: str | None
    is_amo: bool
    placed_ns: int
    status: str = RECEIVED
    status_message: str | None = None
    filled: int = 0
    value: int = 0
    triggered: bool = False
    market_protection: float = 0.0
    protection_price: int = 0
    algo_name: str | None = None
    updated_ns: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.quantity - self.filled

    @property
    def average_price(self) -> float:
        return round(self.value / self.filled / 100.0, 2) if self.filled else 0.0


def order_json(o: SimOrder) -> dict[str, Any]:
    """A row of ``/v2/order/retrieve-all`` and ``/v2/order/details``."""
    return {
        "exchange": o.exchange,
        "product": o.product,
        "price": o.price / 100.0,
        "quantity": o.quantity,
        "status": o.status,
        "guid": None,
        "tag": o.tag,
        "instrument_token": o.instrument_key,
        "placed_by": o.user_id,
        "trading_symbol": o.trading_symbol,
        "tradingsymbol": o.trading_symbol,
        "order_type": o.order_type,
        "validity": o.validity,
        "trigger_price": o.trigger_price / 100.0,
        "disclosed_quantity": o.disclosed_quantity,
        "transaction_type": "BUY" if o.side > 0 else "SELL",
        "average_price": o.average_price,
        "filled_quantity": o.filled,
        "pending_quantity": o.pending,
        "status_message": o.status_message,
        "status_message_raw": o.status_message,
        "exchange_order_id": "1" + o.order_id[-15:],
        "parent_order_id": None,
        "order_id": o.order_id,
        "variety": "SIMPLE",
        "order_timestamp": _ts(o.placed_ns),
        "exchange_timestamp": _ts(o.updated_ns or o.placed_ns),
        "is_amo": o.is_amo,
        "order_request_id": "1",
        "order_ref_id": "SIM-" + o.order_id,
    }


def update_json(o: SimOrder) -> dict[str, Any]:
    """A portfolio-stream ``order`` update."""
    row = order_json(o)
    row.pop("tradingsymbol")
    return {"update_type": "order", "user_id": o.user_id, "instrument_key": o.instrument_key, **row}


def fill_json(o: SimOrder, f: SimFill) -> dict[str, Any]:
    """A row of ``/v2/order/trades/get-trades-for-day``."""
    return {
        "exchange": o.exchange,
        "product": o.product,
        "trading_symbol": o.trading_symbol,
        "tradingsymbol": o.trading_symbol,
        "instrument_token": o.instrument_key,
        "order_type": o.order_type,
        "transaction_type": "BUY" if o.side > 0 else "SELL",
        "quantity": f.qty,
        "exchange_order_id": "1" + o.order_id[-15:],
        "order_id": o.order_id,
        "exchange_timestamp": _ts(f.ts_ns),
        "average_price": f.price / 100.0,
        "trade_id": f.trade_id,
        "order_ref_id": "SIM-" + o.order_id,
        "order_timestamp": _ts(o.placed_ns),
    }
