"""``PaperBroker``: the ``Broker`` port (``quant.trading.broker``) over the pure paper matcher.

The execution engine talks to it exactly as to the live Upstox broker. All the matching
(depth walks, limits at or through, trade prints, partial fills, stops, latency with seeded
jitter, the stale-quote guard) is ``quant.trading.paper.PaperMatcher``'s; this adapter only

- turns each ``PlaceRequest`` into an ``Order.new(...)`` for the matcher (broker order ids
  ``PAPER-<n>``, one per order: the engine splits at the freeze quantity itself, so
  ``slice`` is ignored);
- feeds it books (``on_tick``: ``BookSnapshot.from_tick`` of every tick that carries depth;
  ticks without depth are only counted, as the matcher never fills from LTP alone) and
  time (``on_time``: orders whose latency has elapsed are matched against the books held);
- turns every matcher ``OrderUpdate`` into a ``BrokerOrder`` as Upstox reports one
  (cumulative ``filled_quantity`` and ``average_price`` in paise, Upstox's status text in
  ``broker_status``) and queues it for :meth:`PaperBroker.updates`;
- keeps the day's order book, trade book (one ``BrokerTrade`` per execution, ids
  ``PAPER-T<n>``) and net positions per instrument and product, for reconciliation.

Market protection: a MARKET order placed with a ``protection_price`` (the worst price the
risk check priced it at) is matched as a LIMIT at that price, an SL-M as an SL with that
price, as Upstox converts a protected market order; the order book still shows the order
type that was placed. Without a ``protection_price`` but with ``market_protection`` (a
percentage; -1 = automatic, taken as ``AUTO_PROTECTION_PCT``) the limit is priced here,
once, like the risk check does: from the touch of the book held (the trigger for SL-M),
on a one-paisa tick and without the circuit limits, which the book does not carry. With
neither, or with no book to price from, the order works as a plain market order.

The order book keeps every order of the current IST day plus older ones still working;
the trade book the day's executions; a position's ``quantity`` is net since the process
started (older days' net is carried like Upstox's overnight quantity), its buy and sell
figures the day's. Everything lives in memory and dies with the process: in paper mode the
engine's recovery takes its journal as the truth. No I/O, time from the injected clock;
one event loop (the matcher and the records are not locked).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from quant.core.clock import Clock
from quant.core.events import Tick
from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.book import BookSnapshot
from quant.trading.broker import (
    Broker,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerTrade,
    PlaceRequest,
)
from quant.trading.errors import TradingError
from quant.trading.intent import Amendment, OrderIntent
from quant.trading.order import Fill, Order
from quant.trading.paper import OrderUpdate, PaperConfig, PaperMatcher
from quant.trading.risk import ist_date, protection_price
from quant.trading.snapshot import Quote

log = logging.getLogger(__name__)

#: what ``market_protection = -1`` (automatic) is priced as here (the simulator's choice
#: for equities and futures; Upstox does not publish its own)
AUTO_PROTECTION_PCT = 3
#: ``BrokerRejected.code`` values of the paper broker
DUPLICATE = "PAPER_DUPLICATE"
NOT_FOUND = "PAPER_NOT_FOUND"
NOT_MODIFIABLE = "PAPER_NOT_MODIFIABLE"
BAD_REQUEST = "PAPER_BAD_REQUEST"

S = OrderStatus
#: Upstox's status text for each status (``quant.upstox.broker`` reads the same texts back)
BROKER_STATUS: dict[OrderStatus, str] = {
    S.PENDING_NEW: "put order req received",
    S.OPEN: "open",
    S.PARTIALLY_FILLED: "open",
    S.TRIGGER_PENDING: "trigger pending",
    S.FILLED: "complete",
    S.CANCELLED: "cancelled",
    S.REJECTED: "rejected",
    S.MODIFY_PENDING: "modify pending",
    S.CANCEL_PENDING: "cancel pending",
}


@dataclass(slots=True)
class _Record:
    """One paper order: the intent as placed (what the book shows) and the matcher's state."""

    placed: OrderIntent
    order: Order
    protection: int


@dataclass(slots=True)
class _Position:
    overnight: int = 0
    buy_quantity: int = 0
    sell_quantity: int = 0
    buy_value: int = 0
    sell_value: int = 0

    def add(self, fill: Fill) -> None:
        if fill.side is Side.BUY:
            self.buy_quantity += fill.quantity
            self.buy_value += fill.value
        else:
            self.sell_quantity += fill.quantity
            self.sell_value += fill.value

    @property
    def quantity(self) -> int:
        return self.overnight + self.buy_quantity - self.sell_quantity


def _matched_intent(intent: OrderIntent, protection: int) -> OrderIntent:
    """The intent the matcher works: a protected MARKET / SL-M becomes LIMIT / SL."""
    if not protection:
        return intent
    if intent.order_type is OrderType.MARKET:
        return dataclasses.replace(intent, order_type=OrderType.LIMIT, price=protection)
    if intent.order_type is OrderType.SL_M:
        return dataclasses.replace(intent, order_type=OrderType.SL, price=protection)
    return intent


class PaperBroker:
    """``quant.trading.broker.Broker`` over ``PaperMatcher``; see the module docstring."""

    def __init__(self, clock: Clock, config: PaperConfig | None = None) -> None:
        self._clock = clock
        self.matcher = PaperMatcher(config)
        self._records: dict[str, _Record] = {}  # by broker order id, in placement order
        self._by_tag: dict[str, str] = {}  # client order id -> broker order id
        self._trades: list[BrokerTrade] = []
        self._positions: dict[tuple[str, str], _Position] = {}
        self._updates: asyncio.Queue[BrokerOrder] = asyncio.Queue()
        self._day: date = ist_date(clock.now_ns())
        self._trade_seq = 0
        #: ticks with no depth (LTPC mode): nothing to fill from, so not fed to the matcher
        self.ticks_without_depth = 0
        #: ticks whose depth did not make a valid book (logged, skipped)
        self.bad_books = 0

    # --- counters of the matcher -------------------------------------------------------------

    @property
    def stale_skips(self) -> int:
        """Matches refused because the book held was older than ``stale_after_ns``."""
        return self.matcher.stale_skips

    @property
    def pending_updates(self) -> int:
        """Order updates queued and not yet read from :meth:`updates`."""
        return self._updates.qsize()

    def take_updates(self) -> list[BrokerOrder]:
        """Every queued order update, in order, without waiting (a backtest's driver)."""
        out: list[BrokerOrder] = []
        while not self._updates.empty():
            out.append(self._updates.get_nowait())
        return out

    # --- market data and time ----------------------------------------------------------------

    def on_tick(self, tick: Tick) -> None:
        """Feed the tick's book to the matcher and publish what it filled or triggered."""
        if not tick.depth:
            self.ticks_without_depth += 1
            return
        try:
            book = BookSnapshot.from_tick(tick)
        except TradingError as e:
            self.bad_books += 1
            log.warning("paper broker: tick of %s skipped: %s", tick.instrument_key, e)
            return
        self._apply(self.matcher.on_book(book, self._clock.now_ns()))

    def on_time(self) -> None:
        """Let time pass: orders whose latency has elapsed match the books held."""
        self._apply(self.matcher.on_time(self._clock.now_ns()))

    # --- commands ------------------------------------------------------------------------------

    async def place(self, request: PlaceRequest) -> tuple[str, ...]:
        cid, intent = request.client_order_id, request.intent
        if cid in self._by_tag:
            raise BrokerRejected(
                DUPLICATE, f"place {cid}: the paper broker already has order {self._by_tag[cid]}"
            )
        protection = self._protection(request)
        now = self._clock.now_ns()
        try:
            order = Order.new(_matched_intent(intent, protection), cid, now)
            updates = self.matcher.submit(order, now, request.ts_decided)
        except TradingError as e:  # InvalidIntent, PaperError
            raise BrokerRejected(BAD_REQUEST, f"place {cid} refused: {e}") from e
        broker_id = updates[0].order.broker_order_id
        self._records[broker_id] = _Record(intent, order, protection)
        self._by_tag[cid] = broker_id
        self._apply(updates)
        return (broker_id,)

    async def modify(self, broker_order_id: str, amended: OrderIntent) -> None:
        record = self._working(broker_order_id, "modify")
        placed = record.placed
        if (amended.strategy, amended.instrument_key, amended.side, amended.product) != (
            placed.strategy,
            placed.instrument_key,
            placed.side,
            placed.product,
        ):
            raise BrokerRejected(
                BAD_REQUEST,
                f"modify {broker_order_id}: strategy, instrument, side and product cannot change",
            )
        want = _matched_intent(amended, record.protection)
        have = record.order.intent
        changes = {
            name: getattr(want, name)
            for name in ("quantity", "price", "trigger_price", "order_type", "validity")
            if getattr(want, name) != getattr(have, name)
        }
        if not changes:
            record.placed = amended  # e.g. the tag only: nothing for the matcher to do
            return
        cid = record.order.client_order_id
        try:
            updates = self.matcher.modify(cid, Amendment(**changes), self._clock.now_ns())
        except TradingError as e:
            raise BrokerRejected(BAD_REQUEST, f"modify {broker_order_id}: {e}") from e
        if updates is None:  # cannot happen: _working checked it is working
            raise BrokerRejected(NOT_MODIFIABLE, f"modify {broker_order_id}: not working")
        record.placed = amended
        self._apply(updates)

    async def cancel(self, broker_order_id: str) -> None:
        record = self._working(broker_order_id, "cancel")
        update = self.matcher.cancel(record.order.client_order_id, self._clock.now_ns())
        if update is None:  # cannot happen: _working checked it is working
            raise BrokerRejected(NOT_MODIFIABLE, f"cancel {broker_order_id}: not working")
        self._apply([update])

    # --- state ---------------------------------------------------------------------------------

    async def order_book(self) -> list[BrokerOrder]:
        self._roll_day()
        return [self._broker_order(r) for r in self._records.values()]

    async def trades(self) -> list[BrokerTrade]:
        self._roll_day()
        return list(self._trades)

    async def positions(self) -> list[BrokerPosition]:
        self._roll_day()
        return [
            BrokerPosition(
                instrument_key=key,
                product=product,
                quantity=p.quantity,
                buy_quantity=p.buy_quantity,
                sell_quantity=p.sell_quantity,
                buy_value=p.buy_value,
                sell_value=p.sell_value,
            )
            for (key, product), p in self._positions.items()
        ]

    async def find_by_tag(self, client_order_id: str) -> list[BrokerOrder]:
        broker_id = self._by_tag.get(client_order_id)
        record = self._records.get(broker_id) if broker_id else None
        return [self._broker_order(record)] if record else []

    async def updates(self) -> AsyncIterator[BrokerOrder]:
        """Every order update, in order; never ends on its own (one consumer)."""
        while True:
            yield await self._updates.get()

    # --- internals -----------------------------------------------------------------------------

    def _protection(self, request: PlaceRequest) -> int:
        """The worst fill price of a MARKET / SL-M order, 0 for none (module docstring)."""
        intent = request.intent
        if intent.order_type not in (OrderType.MARKET, OrderType.SL_M):
            return 0
        if request.protection_price:
            return request.protection_price
        pct = request.market_protection
        if not pct:
            return 0
        if pct < 0:
            pct = AUTO_PROTECTION_PCT
        if intent.order_type is OrderType.SL_M:
            start = intent.trigger_price
        else:
            book = self.matcher.book(intent.instrument_key)
            if book is None:
                return 0
            touch = book.asks if intent.side is Side.BUY else book.bids
            start = touch[0].price if touch else book.ltp
        if start <= 0:
            return 0
        return protection_price(intent.side, start, pct, 1, Quote(ltp=start))

    def _working(self, broker_order_id: str, what: str) -> _Record:
        record = self._records.get(broker_order_id)
        if record is None:
            raise BrokerRejected(NOT_FOUND, f"{what} {broker_order_id}: no such paper order")
        if record.order.is_terminal:
            raise BrokerRejected(
                NOT_MODIFIABLE,
                f"{what} {broker_order_id}: the order is {BROKER_STATUS[record.order.status]}",
            )
        return record

    def _apply(self, updates: Iterable[OrderUpdate]) -> None:
        for u in updates:
            broker_id = u.order.broker_order_id
            record = self._records.get(broker_id)
            if record is None:  # every matcher order came through place(): cannot happen
                continue
            record.order = u.order
            if u.fill is not None:
                self._record_fill(broker_id, u.fill)
            self._updates.put_nowait(self._broker_order(record))

    def _record_fill(self, broker_id: str, fill: Fill) -> None:
        self._roll_day()
        self._trade_seq += 1
        self._trades.append(
            BrokerTrade(
                trade_id=f"PAPER-T{self._trade_seq}",
                broker_order_id=broker_id,
                instrument_key=fill.instrument_key,
                side=fill.side,
                product=fill.product.value,
                quantity=fill.quantity,
                price=fill.price,
            )
        )
        key = (fill.instrument_key, fill.product.value)
        self._positions.setdefault(key, _Position()).add(fill)

    def _roll_day(self) -> None:
        """On a new IST day: drop yesterday's finished orders and trades, carry positions."""
        today = ist_date(self._clock.now_ns())
        if today == self._day:
            return
        self._day = today
        self._trades.clear()
        for broker_id, record in list(self._records.items()):
            if record.order.is_terminal:
                del self._records[broker_id]
                del self._by_tag[record.order.client_order_id]
        for key, p in list(self._positions.items()):
            self._positions[key] = _Position(overnight=p.quantity)

    @staticmethod
    def _broker_order(record: _Record) -> BrokerOrder:
        order, placed = record.order, record.placed
        return BrokerOrder(
            broker_order_id=order.broker_order_id,
            client_order_id=order.client_order_id,
            instrument_key=placed.instrument_key,
            side=placed.side,
            order_type=placed.order_type,
            product=placed.product.value,
            quantity=order.intent.quantity,
            filled_quantity=order.filled_quantity,
            price=placed.price,
            trigger_price=placed.trigger_price,
            average_price=order.average_price,
            status=order.status,
            broker_status=BROKER_STATUS[order.status],
            message=order.message,
        )


if TYPE_CHECKING:  # mypy proves that PaperBroker implements every method of the port

    def _is_a_broker(clock: Clock) -> Broker:
        return PaperBroker(clock)
