"""Rebuild fills and positions from a sequence of ``OrderEvent``s (``executed_orders``).

Each ``OrderEvent`` carries its order's *cumulative* ``filled_quantity`` and
``filled_value``; the fills are the increases between consecutive events of the same
client order id. So a replay is idempotent under repeated events (at-least-once delivery
and duplicated audit rows add nothing) and needs no separate fill records. Events of
different orders may interleave in any way; each order's own events must be in the order
they happened.

Anything that cannot have happened raises ``ReplayError`` naming the order: cumulative
fills going backwards, more filled than ordered, value without quantity (or the
reverse), a fill after a final status, or an order whose instrument, side, product or
strategy changes between its events. The same events always give the same positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from quant.core.orders import OrderEvent
from quant.trading.errors import ReplayError, TradingError
from quant.trading.intent import Product
from quant.trading.order import Fill
from quant.trading.positions import PositionBook


class _Seen(NamedTuple):
    identity: tuple[str, str, int, str]
    filled_quantity: int
    filled_value: int
    terminal: bool


def fills_from_events(events: Iterable[OrderEvent]) -> Iterator[Fill]:
    """The fills that a sequence of order events records, in event order."""
    seen: dict[str, _Seen] = {}
    for e in events:
        cid = e.client_order_id
        identity = (e.instrument_key, e.strategy, int(e.side), e.product)
        prev = seen.get(cid) or _Seen(identity, 0, 0, terminal=False)
        if prev.identity != identity:
            raise ReplayError(
                f"order {cid}: instrument, strategy, side or product changed between events "
                f"({prev.identity} then {identity})"
            )
        dq = e.filled_quantity - prev.filled_quantity
        dv = e.filled_value - prev.filled_value
        if dq < 0 or dv < 0:
            raise ReplayError(
                f"order {cid}: cumulative fill went backwards ({prev.filled_quantity} units / "
                f"{prev.filled_value} paise, then {e.filled_quantity} / {e.filled_value})"
            )
        if (dq == 0) != (dv == 0):
            raise ReplayError(f"order {cid}: fill of {dq} units for {dv} paise")
        if e.filled_quantity > e.quantity:
            raise ReplayError(f"order {cid}: {e.filled_quantity} filled of {e.quantity} ordered")
        if dq and prev.terminal:
            raise ReplayError(f"order {cid}: filled further after it was final")
        seen[cid] = _Seen(
            identity, e.filled_quantity, e.filled_value, prev.terminal or e.status.is_terminal
        )
        if dq:
            try:
                product = Product(e.product)
                yield Fill(cid, e.strategy, e.instrument_key, product, e.side, dq, dv, e.ts_event)
            except (ValueError, TradingError) as err:
                raise ReplayError(f"order {cid}: {err}") from err


def replay_positions(
    events: Iterable[OrderEvent], book: PositionBook | None = None
) -> PositionBook:
    """Apply the fills recorded in ``events`` to ``book`` (a new, empty one by default)."""
    book = PositionBook() if book is None else book
    for fill in fills_from_events(events):
        book.apply(fill)
    return book
