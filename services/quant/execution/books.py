"""The engine's books: orders, positions, fills with charges, marks and quotes, in memory.

``Books`` is the synchronous state of ``ExecutionEngine``: the engine journals a state
change first, then ``Books.record`` applies it (working orders, broker ids, and the fill,
if the change filled more: position, P&L, charges, trade record). ``apply_update`` turns a
broker report into the order's next state; ``snapshot`` builds the ``RiskSnapshot`` an
intent is checked against. No I/O, no clock: times come in as arguments.

A fill is the increase of an order's cumulative filled quantity and value between two
states, so recording the same state twice, or replaying the journal, adds nothing twice.
Charges are per fill, as each adds to its IST day's contract note
(``quant.trading.charges.DayCharges``); a fill whose charges cannot be computed (no
instrument row, an untabulated segment) is booked with zero charges and a warning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from quant.core.calendar import ExchangeCalendar
from quant.core.events import Tick
from quant.core.instruments import Instrument
from quant.core.orders import OrderStatus
from quant.trading import charges as fees
from quant.trading.broker import BrokerOrder
from quant.trading.charges import ChargeBreakdown, DayCharges
from quant.trading.errors import TradingError
from quant.trading.intent import OrderIntent
from quant.trading.order import Fill, Order
from quant.trading.positions import Position, PositionBook, PositionKey
from quant.trading.risk import ist_date
from quant.trading.rounding import div_round
from quant.trading.snapshot import DayPnl, PositionView, Quote, RiskSnapshot, WorkingOrder
from quant.trading.state import TradingState
from quant.trading.transitions import TRANSITIONS

log = logging.getLogger(__name__)

S = OrderStatus
MAX_TRADES = 10_000


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One fill with the charges it adds to the day, and the broker's order id."""

    fill: Fill
    charges: ChargeBreakdown
    broker_order_id: str


@dataclass(slots=True)
class OrderInfo:
    """What the engine keeps about an order besides the ``Order`` value itself."""

    reason: str = ""
    algo_name: str = ""
    mode: str = "paper"
    #: when the order went to the broker (UTC ns), ``None`` until then
    submitted_at: int | None = None
    #: Upstox ``market_protection`` to send (MARKET / SL-M), ``None`` for none
    market_protection: int | None = None
    #: the worst fill price (paise) of a MARKET / SL-M order as the risk check priced it
    #: (``ChildOrder.protection_price``; 0 = none): the paper broker fills within it
    protection_price: int = 0
    #: when the intent arrived (UTC ns), for the intent-to-ack time
    received_ns: int = 0
    #: when the strategy decided (the intent's ``ts_event``, plus any wait for a rate-limit
    #: slot), 0 unknown: the paper broker's event-time latency counts from it
    decided_ns: int = 0


class Books:
    """Orders, positions, trades, charges, marks and quotes; see the module docstring."""

    def __init__(self, instruments: Callable[[str], Instrument | None]) -> None:
        self.instruments = instruments
        self.orders: dict[str, Order] = {}  # in creation order
        self.info: dict[str, OrderInfo] = {}
        self.by_broker: dict[str, str] = {}
        self.working: dict[str, WorkingOrder] = {}
        self.book = PositionBook()
        self._by_instrument: dict[str, set[PositionKey]] = {}
        self.trades: deque[TradeRecord] = deque(maxlen=MAX_TRADES)
        self._day_charges: dict[date, DayCharges] = {}
        self._charges: dict[str, int] = {}
        self.marks: dict[str, int] = {}
        self.quotes: dict[str, Quote] = {}
        self._circuits: dict[str, tuple[int, int]] = {}

    # --- orders -----------------------------------------------------------------------------

    def record(self, old: Order | None, new: Order, *, book_fill: bool = True) -> None:
        """Apply one (journaled) state change of an order, with the fill it adds (unless
        ``book_fill`` is off: recovery books the journal's fills one by one)."""
        cid = new.client_order_id
        self.orders[cid] = new
        if new.broker_order_id:
            self.by_broker[new.broker_order_id] = cid
        i = new.intent
        if new.is_terminal:
            self.working.pop(cid, None)
        else:
            self.working[cid] = WorkingOrder(
                i.strategy, i.instrument_key, i.product, i.side, new.remaining_quantity
            )
        filled = new.filled_quantity - (old.filled_quantity if old else 0)
        if filled > 0 and book_fill:
            value = new.filled_value - (old.filled_value if old else 0)
            fill = Fill(
                cid, i.strategy, i.instrument_key, i.product, i.side, filled, value, new.ts_event
            )
            self.book_fill(fill, new.broker_order_id)

    def newest(self, limit: int) -> list[Order]:
        out: list[Order] = []
        for cid in reversed(self.orders):
            if len(out) >= limit:
                break
            out.append(self.orders[cid])
        return out

    def open_orders(self) -> Iterator[Order]:
        return (o for o in self.orders.values() if not o.is_terminal)

    # --- fills, positions, P&L ---------------------------------------------------------------

    def book_fill(self, fill: Fill, broker_order_id: str) -> None:
        key = PositionKey(fill.strategy, fill.instrument_key, fill.product)
        self._by_instrument.setdefault(fill.instrument_key, set()).add(key)
        self.book.apply(fill)
        charges = self._charges_of(fill)
        self._charges[fill.strategy] = self._charges.get(fill.strategy, 0) + charges.total
        self.trades.append(TradeRecord(fill, charges, broker_order_id))

    def _charges_of(self, fill: Fill) -> ChargeBreakdown:
        day = ist_date(fill.ts_event)
        inst = self.instruments(fill.instrument_key)
        if inst is None:
            log.warning("no instrument %s: charges of %s left at 0", fill.instrument_key, fill)
            return ChargeBreakdown()
        notes = self._day_charges.get(day)
        if notes is None:
            notes = self._day_charges[day] = DayCharges(day)
        try:
            return notes.add(
                fees.Fill(
                    fill.instrument_key,
                    inst.instrument_type,
                    fill.product.value,
                    fill.side,
                    fill.quantity,
                    fill.price,
                    day,
                    fill.client_order_id,
                    fees.rate_class_for(inst),
                )
            )
        except (fees.ChargesError, TradingError, ValueError) as e:
            log.warning("charges of fill of %s not computed: %s", fill.client_order_id, e)
            return ChargeBreakdown()

    def strategies(self) -> list[str]:
        """Strategies with a position or charges."""
        return sorted(set(self.book.strategies()) | set(self._charges))

    def charges(self, strategy: str | None = None) -> int:
        """Charges in paise, of the account or one strategy."""
        if strategy is None:
            return sum(self._charges.values())
        return self._charges.get(strategy, 0)

    def mark(self, p: Position) -> int:
        """The position's instrument's last price, or its average price without one."""
        mark = self.marks.get(p.key.instrument_key)
        return mark if mark is not None else p.average_price

    def pnl(self, strategy: str | None = None) -> DayPnl:
        """Realised, unrealised (at the marks) and charges, of the account or a strategy."""
        realised = unrealised = 0
        for p in self.book:
            if strategy is not None and p.key.strategy != strategy:
                continue
            realised += p.realised
            if p.net_quantity:
                unrealised += p.unrealised(self.mark(p))
        return DayPnl(realised, unrealised, self.charges(strategy))

    # --- market data and risk ----------------------------------------------------------------

    def set_circuit_limits(self, instrument_key: str, lower: int, upper: int) -> None:
        """The day's price band (paise, 0 = none): the quote has it now, and each tick's."""
        self._circuits[instrument_key] = (lower, upper)
        quote = self.quotes.get(instrument_key)
        if quote is not None:
            self.quotes[instrument_key] = dataclasses.replace(
                quote, lower_circuit=lower, upper_circuit=upper
            )

    def seed_quote(self, instrument_key: str, ltp: int, bid: int, ask: int, ts: int) -> bool:
        """A quote from elsewhere than the feed (the REST quote), taken unless a tick gave a
        newer one; its LTP becomes the mark too (ticks set both). Returns whether it was
        taken."""
        current = self.quotes.get(instrument_key)
        if current is not None and current.ts_event >= ts:
            return False
        lower, upper = self._circuits.get(instrument_key, (0, 0))
        self.quotes[instrument_key] = Quote(ltp, bid, ask, upper, lower, ts)
        if ltp > 0:
            self.marks[instrument_key] = ltp
        return True

    def on_tick(self, tick: Tick) -> None:
        if tick.ltp > 0:
            self.marks[tick.instrument_key] = tick.ltp
        bid = ask = 0
        if tick.depth:
            bid, ask = tick.depth[0].bid_price, tick.depth[0].ask_price
        lower, upper = self._circuits.get(tick.instrument_key, (0, 0))
        self.quotes[tick.instrument_key] = Quote(tick.ltp, bid, ask, upper, lower, tick.ts_event)

    def snapshot(
        self,
        intent: OrderIntent,
        now_ns: int,
        account_state: TradingState,
        strategy_state: TradingState,
        calendar: ExchangeCalendar,
    ) -> RiskSnapshot:
        """The risk check's view of the account for ``intent``."""
        key, strategy = intent.instrument_key, intent.strategy
        views = []
        for pk in self._by_instrument.get(key, ()):
            p = self.book.get(*pk)
            if p.net_quantity:
                views.append(PositionView(pk.strategy, pk.product, p.net_quantity))
        other = 0
        for p in self.book:
            if p.key.strategy == strategy and p.key.instrument_key != key and p.net_quantity:
                other += abs(p.net_quantity) * self.mark(p)
        return RiskSnapshot(
            now_ns=now_ns,
            instrument=self.instruments(key),
            quote=self.quotes.get(key),
            positions=tuple(views),
            working_orders=tuple(self.working.values()),
            account_pnl=self.pnl(),
            strategy_pnl=self.pnl(strategy),
            strategy_other_exposure=other,
            account_state=account_state,
            strategy_state=strategy_state,
            calendar=calendar,
        )


def apply_update(order: Order, u: BrokerOrder, ts: int) -> Order:
    """``order`` after the broker's report ``u`` (cumulative fills, status, broker id).

    The fill is the increase of ``u.filled_quantity`` over the order's; the order's filled
    value becomes ``u.average_price x u.filled_quantity`` exactly (the fill's value is the
    difference); a report with fewer fills than the order has adds none. A final order stays
    as it is; a REJECTED report for an order already working becomes CANCELLED (the table
    has no such edge: the exchange removed it). A MODIFY_PENDING order whose report shows
    the amended quantity, price, trigger price and type is modified.
    """
    o = order
    if u.broker_order_id and not o.broker_order_id:
        o = dataclasses.replace(o, broker_order_id=u.broker_order_id)
    if o.is_terminal:
        return o
    if u.status is S.REJECTED:
        why = u.message or "rejected by the broker"
        if S.REJECTED in TRANSITIONS[o.status]:
            return o.rejected(why, ts)
        return o.cancelled(ts, why)
    if o.status is S.PENDING_NEW and u.status is not S.PENDING_NEW and o.broker_order_id:
        o = o.accepted(o.broker_order_id, ts)
    if o.status is S.MODIFY_PENDING and o.pending is not None:
        want = o.pending.apply(o.intent)
        if (u.quantity, u.price, u.trigger_price, u.order_type) == (
            want.quantity,
            want.price,
            want.trigger_price,
            want.order_type,
        ):
            with contextlib.suppress(TradingError):  # fills meanwhile left it too small
                o = o.modified(ts)  # the broker reports the new values: the change is made
    if o.status is S.TRIGGER_PENDING and u.status is S.OPEN and not u.filled_quantity:
        o = o.triggered_at(ts)
    added = u.filled_quantity - o.filled_quantity
    if added > 0:
        value = u.average_price * u.filled_quantity - o.filled_value
        price = div_round(value, added) if value > 0 else u.average_price
        o, _ = o.fill(added, max(price, 1), ts)
        if value > 0 and value != added * price:  # keep the broker's cumulative value exact
            o = dataclasses.replace(o, filled_value=o.filled_value - added * price + value)
    if u.status is S.CANCELLED and not o.is_terminal:
        o = o.cancelled(ts, u.message)
    return o
