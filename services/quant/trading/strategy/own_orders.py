"""One strategy's own orders, fills and positions, kept from its intents and order events.

``OwnOrders`` is what the context answers ``open_orders``, ``position`` and ``pnl`` from.
It learns of an order twice:

- when the strategy emits the intent (``pending``): the order is reported as
  ``PENDING_NEW`` right away, so a strategy that checks its open orders does not place the
  same order again before the execution service answers;
- from the order events of ``orders.events`` (``apply``): each carries the order's
  cumulative ``filled_quantity`` / ``filled_value``, and a fill is the increase since the
  order's previous event (the rule of ``quant.trading.replay``), so a redelivered event
  adds nothing. An event that is older than what is known (its cumulative fill smaller, or
  the order already final) changes nothing.

The execution service may split an intent into child orders (freeze quantity): the first
child carries the intent's client order id, the k-th ``<id>-<k>``; any event of a child
settles the pending intent. Positions are a ``quant.trading.positions.PositionBook`` (P&L
in integer paise, before charges).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.trading.intent import OrderIntent, Product
from quant.trading.order import Fill
from quant.trading.positions import Position, PositionBook


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order of the strategy that is not final yet, as last known."""

    client_order_id: str
    instrument_key: str
    side: Side
    order_type: OrderType
    product: Product
    quantity: int
    price: int
    trigger_price: int
    status: OrderStatus
    filled_quantity: int
    ts_event: int

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity


def base_id(client_order_id: str) -> str:
    """The intent's client order id of a child order id (``orb-261207-4-2`` -> ``orb-261207-4``)."""
    head, sep, tail = client_order_id.rpartition("-")
    if sep and head.count("-") == 2 and tail.isdigit():
        return head
    return client_order_id


@dataclass(frozen=True, slots=True)
class Pnl:
    """A strategy's P&L in paise, before charges: realised, unrealised at the marks, total."""

    realised: int
    unrealised: int

    @property
    def total(self) -> int:
        return self.realised + self.unrealised


class OwnOrders:
    """One strategy's orders and positions; see the module docstring."""

    __slots__ = ("_book", "_filled", "_final", "_open", "_pending", "strategy")

    def __init__(self, strategy: str) -> None:
        self.strategy = strategy
        self._pending: dict[str, OpenOrder] = {}
        self._open: dict[str, OpenOrder] = {}
        self._filled: dict[str, tuple[int, int]] = {}
        self._final: set[str] = set()
        self._book = PositionBook()

    # --- updates ------------------------------------------------------------------------------

    def pending(self, client_order_id: str, intent: OrderIntent, ts: int) -> None:
        """The strategy emitted ``intent``, which will become order ``client_order_id``."""
        self._pending[client_order_id] = OpenOrder(
            client_order_id,
            intent.instrument_key,
            intent.side,
            intent.order_type,
            intent.product,
            intent.quantity,
            intent.price,
            intent.trigger_price,
            OrderStatus.PENDING_NEW,
            0,
            ts,
        )

    def forget_pending(self, client_order_id: str) -> None:
        """Drop a pending intent that was never sent (its callback raised)."""
        self._pending.pop(client_order_id, None)

    def apply(self, e: OrderEvent) -> tuple[bool, Fill | None]:
        """Record one order event: (whether it told anything new, the fill it carries).
        A repeated event (same status and fill as known) or a stale one is not new."""
        cid = e.client_order_id
        self._pending.pop(base_id(cid), None)
        if cid in self._final:
            return False, None
        q0, v0 = self._filled.get(cid, (0, 0))
        dq, dv = e.filled_quantity - q0, e.filled_value - v0
        if dq < 0 or dv < 0 or (dq == 0) != (dv == 0):
            return False, None  # older than what is known (or malformed): keep the newer state
        known = self._open.get(cid)
        if known is not None and not dq and known.status is e.status:
            return False, None
        product = Product(e.product)
        if e.status.is_terminal:
            self._final.add(cid)
            self._open.pop(cid, None)
            self._filled.pop(cid, None)
        else:
            self._filled[cid] = (e.filled_quantity, e.filled_value)
            self._open[cid] = OpenOrder(
                cid,
                e.instrument_key,
                e.side,
                e.order_type,
                product,
                e.quantity,
                e.price,
                e.trigger_price,
                e.status,
                e.filled_quantity,
                e.ts_event,
            )
        if not dq:
            return True, None
        fill = Fill(cid, e.strategy, e.instrument_key, product, e.side, dq, dv, e.ts_event)
        self._book.apply(fill)
        return True, fill

    # --- views --------------------------------------------------------------------------------

    def open_orders(self, instrument_key: str | None = None) -> list[OpenOrder]:
        """Orders not final yet (pending intents included), oldest first."""
        orders = [*self._open.values(), *self._pending.values()]
        return sorted(
            (o for o in orders if instrument_key in (None, o.instrument_key)),
            key=lambda o: (o.ts_event, o.client_order_id),
        )

    def is_open(self, client_order_id: str) -> bool:
        return client_order_id in self._open or client_order_id in self._pending

    def position(self, instrument_key: str, product: Product = Product.INTRADAY) -> Position:
        return self._book.get(self.strategy, instrument_key, product)

    def positions(self) -> list[Position]:
        """The positions that are not flat."""
        return self._book.open_positions()

    def all_positions(self) -> list[Position]:
        """Every position the strategy has had (flat ones too: their realised P&L)."""
        return list(self._book)

    def pnl(self, marks: Mapping[str, int]) -> Pnl:
        """Realised plus unrealised at ``marks`` (a position without a mark is valued at its
        average price, i.e. unrealised 0)."""
        unrealised = 0
        for p in self._book.open_positions():
            mark = marks.get(p.key.instrument_key)
            if mark:
                unrealised += p.unrealised(mark)
        return Pnl(self._book.realised(), unrealised)
