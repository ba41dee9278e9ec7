"""Rebuilding the engine's books from the order journal, and comparing them with the broker.

Pure helpers of ``ExecutionEngine.recover``: the journal (``executed_orders``) holds one
``OrderEvent`` per state change of each order, with its cumulative fills, so the last event
of each client order id is that order's state, and ``quant.trading.replay`` turns the
events into fills and positions. Client order ids give back each strategy's used
sequences (so a restart never reuses one) and group child orders under their intent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from quant.core.orders import OrderEvent, OrderStatus
from quant.execution.books import Books, OrderInfo
from quant.trading.broker import BrokerPosition
from quant.trading.client_ids import ClientOrderId, parse_client_order_id
from quant.trading.errors import InvalidIntent, TradingError
from quant.trading.intent import OrderIntent, Product, Validity
from quant.trading.order import Fill, Order
from quant.trading.positions import PositionBook

log = logging.getLogger(__name__)

S = OrderStatus


def base_id(client_order_id: str) -> str:
    """The intent's client order id of a child order id (``orb-261207-4-2`` -> ``orb-261207-4``).

    The first child of an intent carries the intent's own id; the k-th (k >= 2) carries
    ``<id>-<k>``.
    """
    head, sep, tail = client_order_id.rpartition("-")
    if sep and head.count("-") == 2 and tail.isdigit():
        return head
    return client_order_id


def child_id(base: str, index: int) -> str:
    """The id of the ``index``-th (0-based) child order of the intent ``base``."""
    return base if index == 0 else f"{base}-{index + 1}"


def parse_base(client_order_id: str) -> ClientOrderId | None:
    """The (prefix, day, sequence) of an order id of ours, child or not; else ``None``."""
    try:
        return parse_client_order_id(base_id(client_order_id))
    except InvalidIntent:
        return None


def order_from_events(events: list[OrderEvent]) -> Order:
    """The order whose state changes are ``events`` (oldest first); ``TradingError`` if the
    journal holds something that cannot be an order."""
    first, last = events[0], events[-1]
    try:
        intent = OrderIntent(
            strategy=last.strategy,
            instrument_key=last.instrument_key,
            side=last.side,
            quantity=last.quantity,
            order_type=last.order_type,
            product=Product(last.product),
            price=last.price,
            trigger_price=last.trigger_price,
            validity=Validity(last.validity),
        )
    except ValueError as e:
        raise TradingError(f"order {last.client_order_id}: {e}") from e
    status = last.status
    # a stop order that filled or works as OPEN has triggered; for the others it is unknown
    triggered = intent.is_stop and (bool(last.filled_quantity) or status is S.OPEN)
    if status is S.MODIFY_PENDING:  # the amendment is not journaled: back to working
        status = S.PARTIALLY_FILLED if last.filled_quantity else S.OPEN
    return Order(
        client_order_id=last.client_order_id,
        intent=intent,
        status=status,
        ts_created=first.ts_event,
        ts_event=last.ts_event,
        filled_quantity=last.filled_quantity,
        filled_value=last.filled_value,
        broker_order_id=last.broker_order_id,
        message=last.message,
        triggered=triggered,
    )


@dataclass(slots=True)
class JournalState:
    """What the journal says: each order's events (oldest first), in first-seen order."""

    events: dict[str, list[OrderEvent]] = field(default_factory=dict)
    #: (strategy prefix, day) -> the highest sequence used
    sequences: dict[tuple[str, date], int] = field(default_factory=dict)
    #: intent id -> its order ids, in child order
    intents: dict[str, list[str]] = field(default_factory=dict)
    #: (strategy prefix, day) -> the first strategy name seen using it
    prefix_owners: dict[tuple[str, date], str] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[OrderEvent]) -> JournalState:
        state = cls()
        for e in events:
            cid = e.client_order_id
            if cid not in state.events:
                state.events[cid] = []
                state.intents.setdefault(base_id(cid), []).append(cid)
                parts = parse_base(cid)
                if parts is not None:
                    k = (parts.prefix, parts.day)
                    state.sequences[k] = max(state.sequences.get(k, 0), parts.sequence)
                    owner = state.prefix_owners.setdefault(k, e.strategy)
                    if owner != e.strategy:
                        log.error(
                            "journal: strategies %r and %r both used the client order id "
                            "prefix %r on %s; rename one of them",
                            owner,
                            e.strategy,
                            parts.prefix,
                            parts.day,
                        )
            state.events[cid].append(e)
        return state

    def reason(self, cid: str) -> str:
        """The reason code the order's events carry (the last one that has one)."""
        return next((e.reason for e in reversed(self.events[cid]) if e.reason), "")

    def algo_name(self, cid: str) -> str:
        return next((e.algo_name for e in reversed(self.events[cid]) if e.algo_name), "")

    def submitted_at(self, cid: str) -> int | None:
        """When the order was recorded for sending (its PENDING_NEW event), if it was."""
        return next((e.ts_init for e in self.events[cid] if e.status is S.PENDING_NEW), None)


def load(books: Books, journal: JournalState, fills: Iterable[Fill], mode: str) -> None:
    """Fill empty ``books`` with the journal's orders (their reason codes, algo names and
    send times) and ``fills`` (from ``fills_from_events``). An order the journal holds in a
    shape no order can have is left out, with an error logged."""
    for cid, evs in journal.events.items():
        try:
            order = order_from_events(evs)
        except TradingError as e:
            log.error("journal: order %s left out: %s", cid, e)
            continue
        books.info[cid] = OrderInfo(
            reason=journal.reason(cid),
            algo_name=journal.algo_name(cid),
            mode=evs[-1].mode or mode,
            submitted_at=journal.submitted_at(cid),
        )
        books.record(None, order, book_fill=False)
    for fill in fills:
        known = books.orders.get(fill.client_order_id)
        books.book_fill(fill, known.broker_order_id if known else "")


def position_mismatches(book: PositionBook, broker: Iterable[BrokerPosition]) -> tuple[str, ...]:
    """Where the journal's net units per (instrument, product) differ from the broker's
    net units *of the day* (its day buys minus day sells).

    The journal holds today's orders only; a delivery position carried from an earlier
    day is in the broker's ``quantity`` but in no order of today, so it is left out of the
    comparison (and is not a mismatch).
    """
    ours: dict[tuple[str, str], int] = {}
    for p in book:
        k = (p.key.instrument_key, p.key.product.value)
        ours[k] = ours.get(k, 0) + p.net_quantity
    theirs: dict[tuple[str, str], int] = {}
    for row in broker:
        k = (row.instrument_key, row.product)
        theirs[k] = theirs.get(k, 0) + row.buy_quantity - row.sell_quantity
    out = []
    for k in sorted(set(ours) | set(theirs)):
        a, b = ours.get(k, 0), theirs.get(k, 0)
        if a != b:
            out.append(f"{k[0]} {k[1]}: journal {a} units, broker {b} units today")
    return tuple(out)
