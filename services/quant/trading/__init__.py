"""The trading domain: order intents, client order ids, the order state machine, positions and
P&L, and the replay of order events into positions.

Pure: no I/O, no asyncio, no wall clock (times are passed in as UTC nanoseconds from the
caller's injected clock). Money is integer paise, quantities are units (shares or
contracts), never lots. It builds on ``quant.core.orders`` (``Side``, ``OrderType``,
``OrderStatus``, ``OrderEvent``: the wire and audit shape) and imports nothing but
``quant.core``. The execution service is its caller.

Modules: ``errors`` (the exception hierarchy), ``rounding`` (the one integer rounding rule),
``intent`` (``OrderIntent``), ``client_ids`` (deterministic client order ids, sent as the
Upstox ``tag``), ``transitions`` (the status transition table), ``order`` (``Order``, the
value that moves through it, and ``Fill``; ``slots`` builds them fast on the hot steps),
``positions`` (``Position``, ``PositionBook``),
``replay`` (``OrderEvent`` stream -> fills -> positions), ``charges`` and
``charges_rates`` (Indian per-trade charges per fill and per order, from one dated rate
table), ``snapshot``, ``risk_limits`` and ``risk`` (the pre-trade check: accepted child
orders or a rejection with a stable reason code), ``ratelimit`` (the order-rate windows),
``state`` (ACTIVE / REDUCING / HALTED per account and strategy), ``book`` and ``paper``
(the paper broker's matching on depth snapshots), ``squareoff`` (the MIS square-off
plan), ``broker`` (the ``Broker`` port the OMS sends orders through, its request/report
values and errors; the live implementation is ``quant.upstox.broker``). The modules not
re-exported here are imported by name (``quant.trading.risk``).
"""

from __future__ import annotations

from quant.trading.client_ids import (
    ClientOrderId,
    client_order_id,
    ensure_distinct_prefixes,
    parse_client_order_id,
    strategy_prefix,
)
from quant.trading.errors import (
    IllegalTransition,
    InvalidFill,
    InvalidIntent,
    OverFill,
    ReplayError,
    TradingError,
)
from quant.trading.intent import Amendment, OrderIntent, Product, Validity
from quant.trading.order import Fill, Order
from quant.trading.positions import Position, PositionBook, PositionKey
from quant.trading.replay import fills_from_events, replay_positions
from quant.trading.transitions import TRANSITIONS, check_transition

__all__ = [
    "TRANSITIONS",
    "Amendment",
    "ClientOrderId",
    "Fill",
    "IllegalTransition",
    "InvalidFill",
    "InvalidIntent",
    "Order",
    "OrderIntent",
    "OverFill",
    "Position",
    "PositionBook",
    "PositionKey",
    "Product",
    "ReplayError",
    "TradingError",
    "Validity",
    "check_transition",
    "client_order_id",
    "ensure_distinct_prefixes",
    "fills_from_events",
    "parse_client_order_id",
    "replay_positions",
    "strategy_prefix",
]
