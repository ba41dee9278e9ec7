"""``ExecutionEngine``: the order path, from intent to fill, with positions, P&L and controls.

One engine per execution process; it is the only writer of the account's orders. What it
does, in order, for one intent (``submit``):

1. numbers it: client order id ``quant.trading.client_ids.client_order_id(strategy, IST
   day, sequence)``, ``sequence`` from the message or the engine's next one for that
   strategy and day. A repeated (strategy, day, sequence) returns the orders already made
   and sends nothing (at-least-once delivery of ``orders.intents`` is harmless);
2. live mode needs an algo name (per strategy, else the default): without one the intent
   is rejected ``NO_ALGO_NAME``;
3. the pure pre-trade check ``quant.trading.risk.check`` on a ``RiskSnapshot`` of the
   engine's state (quote, positions, working orders, the day's P&L, trading states);
4. each child order asks the order-rate limiter for a send time: in queue mode a later
   slot is held in the engine's send queue and ``on_time`` sends it when its time comes; in
   reject mode an order over the limit is rejected ``RATE_LIMIT``;
5. every order state change is appended to the journal first, then published, then
   acknowledged: PENDING_NEW is journaled *before* ``broker.place``. A rejection is
   journaled as REJECTED with its reason code (``OrderEvent.reason``) and never reaches
   the broker. ``OrderStateUnknown`` from ``place`` leaves the order PENDING_NEW;
   ``on_time`` resolves it with ``broker.find_by_tag`` and never places it again.

Fills are the increases of the broker's cumulative ``filled_quantity`` (at its
``average_price``) between updates, so a repeated or replayed update adds nothing. Each
fill updates the ``PositionBook`` and the day's charges (``quant.trading.charges``). The
kill switch, daily loss and MIS square-off are in ``on_kill_switch`` / ``request_kill`` and
``on_time`` (helpers in ``controls.py``); ``recover`` rebuilds everything from the journal
and reconciles with the broker (helpers in ``recovery.py``).

Concurrency: one asyncio loop. Order state changes are serialised by one lock (so the
journal holds each order's events in the order they happened); the broker is called
outside it. No I/O except through the ports and the ``Broker``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar
from quant.core.clock import IST, NS_PER_SECOND, Clock
from quant.core.control import KillSwitch
from quant.core.events import Tick
from quant.core.instruments import Instrument
from quant.core.orders import OrderStatus
from quant.execution import controls, recovery
from quant.execution.ports import (
    ControlPublisher,
    EngineMetrics,
    EventPublisher,
    NullMetrics,
    OrderJournal,
)
from quant.trading import charges as fees
from quant.trading.broker import (
    Broker,
    BrokerError,
    BrokerOrder,
    OrderRefused,
    OrderStateUnknown,
    PlaceRequest,
)
from quant.trading.charges import ChargeBreakdown, DayCharges
from quant.trading.client_ids import client_order_id, strategy_prefix
from quant.trading.errors import ReplayError, TradingError
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.order import Fill, Order
from quant.trading.positions import Position, PositionBook, PositionKey
from quant.trading.ratelimit import Admitted, OrderRateLimiter
from quant.trading.replay import fills_from_events
from quant.trading.risk import Rejected, check, ist_date
from quant.trading.risk_limits import RejectReason, RiskLimits
from quant.trading.rounding import div_round
from quant.trading.snapshot import DayPnl, PositionView, Quote, RiskSnapshot, WorkingOrder
from quant.trading.squareoff import SQUARE_OFF_TAG, MisSquareOff
from quant.trading.state import ACCOUNT, EffectKind, TradingState, TradingStates, scope_key
from quant.trading.transitions import TRANSITIONS

log = logging.getLogger(__name__)

S = OrderStatus
R = RejectReason
_NS_PER_DAY = 86_400 * NS_PER_SECOND
_IST_OFFSET_NS = int(IST.utcoffset(None).total_seconds()) * NS_PER_SECOND
#: how often ``on_time`` asks the broker about one order whose placement is unknown
UNKNOWN_RETRY_NS = NS_PER_SECOND
MAX_TRADES = 10_000


class EngineNotReady(TradingError):
    """``submit`` before ``recover`` finished (the API answers 503)."""


class UnknownOrder(TradingError):
    """No order with that client order id (the API answers 404)."""


class NotCancellable(TradingError):
    """The order is final or a cancel is already pending (the API answers 409)."""


class RecoveryError(TradingError):
    """The journal cannot be replayed; the engine stays not ready."""


@dataclass(frozen=True, slots=True)
class Submission:
    """The answer to one intent: its client order id, its orders (one per child, as they are
    now) and the rejection, if it was rejected (then ``orders`` holds the REJECTED order)."""

    client_order_id: str
    orders: tuple[Order, ...]
    rejected: Rejected | None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One fill with the charges it adds to the day, and the broker's order id."""

    fill: Fill
    charges: ChargeBreakdown
    broker_order_id: str


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What ``recover`` found and did."""

    orders_loaded: int
    open_orders: int
    fills_applied: int
    found_by_tag: int
    lost_before_send: int
    position_mismatches: tuple[str, ...]


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
    #: when the intent arrived (UTC ns), for the intent-to-ack time
    received_ns: int = 0


def _day_start_ns(now_ns: int) -> int:
    """00:00 IST of ``now_ns``'s IST day, as UTC ns."""
    return (now_ns + _IST_OFFSET_NS) // _NS_PER_DAY * _NS_PER_DAY - _IST_OFFSET_NS


class ExecutionEngine:
    """The order path of one account; see the module docstring."""

    def __init__(
        self,
        *,
        clock: Clock,
        broker: Broker,
        journal: OrderJournal,
        publisher: EventPublisher,
        control: ControlPublisher,
        instruments: Callable[[str], Instrument | None],
        limits: RiskLimits,
        limiter: OrderRateLimiter,
        mode: Literal["paper", "live"],
        algo_names: Mapping[str, str] | None = None,
        default_algo_name: str = "",
        square_off: MisSquareOff | None = None,
        metrics: EngineMetrics | None = None,
        calendar: ExchangeCalendar = NSE_CALENDAR,
    ) -> None:
        if mode not in ("paper", "live"):
            raise ValueError(f"mode must be 'paper' or 'live', got {mode!r}")
        self._clock = clock
        self._broker = broker
        self._journal = journal
        self._publisher = publisher
        self._control = control
        self._instruments = instruments
        self._limits = limits
        self._limiter = limiter
        self._mode: Literal["paper", "live"] = mode
        self._algo_names = dict(algo_names or {})
        self._default_algo_name = default_algo_name
        self._square_off = square_off
        self._metrics: EngineMetrics = metrics if metrics is not None else NullMetrics()
        self._calendar = calendar
        self.ready = False

        self._lock = asyncio.Lock()
        self._orders: dict[str, Order] = {}
        self._info: dict[str, OrderInfo] = {}
        self._by_broker: dict[str, str] = {}
        self._working: dict[str, WorkingOrder] = {}
        self._submissions: dict[str, Submission] = {}
        self._in_flight: dict[str, asyncio.Event] = {}
        self._sequences: dict[tuple[str, date], int] = {}
        self._book = PositionBook()
        self._by_instrument: dict[str, set[PositionKey]] = {}
        self._trades: deque[TradeRecord] = deque(maxlen=MAX_TRADES)
        self._day_charges: dict[date, DayCharges] = {}
        self._charges: dict[str, int] = {}
        self._marks: dict[str, int] = {}
        self._quotes: dict[str, Quote] = {}
        self._circuits: dict[str, tuple[int, int]] = {}
        self._states = TradingStates()
        self._kills: dict[str, tuple[bool, bool, int]] = {}
        #: (send at, "place" | "cancel", client order id), send times non-decreasing
        self._queue: deque[tuple[int, str, str]] = deque()
        self._cancel_retry: set[str] = set()
        self._cancel_on_ack: set[str] = set()
        self._unknown: dict[str, int] = {}

    # --- reads ------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def orders(self, limit: int = 100) -> list[Order]:
        """The newest ``limit`` orders, newest first."""
        out: list[Order] = []
        for cid in reversed(self._orders):
            if len(out) >= limit:
                break
            out.append(self._orders[cid])
        return out

    def order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def order_info(self, client_order_id: str) -> OrderInfo | None:
        """Reason code, algo name, mode and send time of an order."""
        return self._info.get(client_order_id)

    def trades(self, limit: int = 50) -> list[TradeRecord]:
        """The newest ``limit`` fills with their charges, newest first."""
        return list(reversed(self._trades))[:limit]

    def positions(self) -> list[Position]:
        """Every position the day has seen, in key order (flat ones too)."""
        return list(self._book)

    def marks(self) -> Mapping[str, int]:
        """The last traded price per instrument (paise)."""
        return dict(self._marks)

    def states(self) -> TradingStates:
        return self._states

    def submitted_at(self, client_order_id: str) -> int | None:
        """When the order went to the broker (UTC ns), ``None`` if it has not (yet)."""
        info = self._info.get(client_order_id)
        return info.submitted_at if info else None

    def strategies(self) -> list[str]:
        """Strategies with a position or charges today."""
        return sorted(set(self._book.strategies()) | set(self._charges))

    def charges(self, strategy: str | None = None) -> int:
        """The day's charges in paise, of the account or one strategy."""
        if strategy is None:
            return sum(self._charges.values())
        return self._charges.get(strategy, 0)

    def pnl(self, strategy: str | None = None) -> DayPnl:
        """Realised, unrealised (at the marks; average price without one) and charges."""
        realised = unrealised = 0
        for p in self._book:
            if strategy is not None and p.key.strategy != strategy:
                continue
            realised += p.realised
            if p.net_quantity:
                unrealised += p.unrealised(self._mark(p))
        return DayPnl(realised, unrealised, self.charges(strategy))

    def queue_depth(self) -> int:
        """Orders and cancels waiting for their rate-limit slot."""
        return len(self._queue)

    def _mark(self, p: Position) -> int:
        mark = self._marks.get(p.key.instrument_key)
        return mark if mark is not None else p.average_price

    # --- market data ------------------------------------------------------------------------

    def set_circuit_limits(self, instrument_key: str, lower: int, upper: int) -> None:
        """The day's price band of an instrument (paise; 0 = none), for the risk quote."""
        self._circuits[instrument_key] = (lower, upper)

    def on_tick(self, tick: Tick) -> None:
        """Take the tick's LTP as the mark and its best bid/ask as the risk quote."""
        if tick.ltp > 0:
            self._marks[tick.instrument_key] = tick.ltp
        bid = ask = 0
        if tick.depth:
            bid, ask = tick.depth[0].bid_price, tick.depth[0].ask_price
        lower, upper = self._circuits.get(tick.instrument_key, (0, 0))
        self._quotes[tick.instrument_key] = Quote(tick.ltp, bid, ask, upper, lower, tick.ts_event)

    # --- intents ----------------------------------------------------------------------------

    async def submit(self, message: IntentMessage) -> Submission:
        """Check, record and send one intent; see the module docstring. ``EngineNotReady``
        before ``recover``; ``InvalidIntent`` for a sequence out of range."""
        if not self.ready:
            raise EngineNotReady("the execution engine is still recovering; retry shortly")
        received = self._clock.now_ns()
        self._metrics.intent()
        intent = message.intent
        day = ist_date(received)
        sequence = message.sequence or self._next_sequence(intent.strategy, day)
        base = client_order_id(intent.strategy, day, sequence)
        while base in self._in_flight:  # the same intent is being handled right now
            await self._in_flight[base].wait()
        done = self._submissions.get(base)
        if done is not None:
            return self._current(done)
        self._use_sequence(intent.strategy, day, sequence)
        event = self._in_flight[base] = asyncio.Event()
        try:
            return await self._submit(intent, base, received)
        finally:
            del self._in_flight[base]
            event.set()

    def _next_sequence(self, strategy: str, day: date) -> int:
        return self._sequences.get((strategy_prefix(strategy), day), 0) + 1

    def _use_sequence(self, strategy: str, day: date, sequence: int) -> None:
        k = (strategy_prefix(strategy), day)
        self._sequences[k] = max(self._sequences.get(k, 0), sequence)

    def _current(self, sub: Submission) -> Submission:
        orders = tuple(self._orders.get(o.client_order_id, o) for o in sub.orders)
        return dataclasses.replace(sub, orders=orders)

    async def _submit(
        self, intent: OrderIntent, base: str, received: int, reason: str = ""
    ) -> Submission:
        """Risk-check, record and send ``intent`` as the orders of ``base``; a ``reason``
        (``FLATTEN``, ``SQUARE_OFF``) marks an order the engine makes itself: it bypasses
        the trading-state check, not the other rules nor the limiter."""
        algo = ""
        if self._mode == "live":
            algo = self._algo_names.get(intent.strategy) or self._default_algo_name
            if not algo:
                return await self._reject(
                    intent,
                    base,
                    Rejected(
                        R.NO_ALGO_NAME,
                        f"live orders need an algo name (X-Algo-Name): none is set for "
                        f"strategy {intent.strategy} and there is no default",
                    ),
                    reason,
                )
        result = check(intent, self._snapshot(intent, bypass_state=bool(reason)), self._limits)
        if isinstance(result, Rejected):
            return await self._reject(intent, base, result, reason)
        now = self._clock.now_ns()
        ids: list[str] = []
        send_now: list[str] = []
        throttled: Rejected | None = None
        for k, child in enumerate(result.children):
            cid = recovery.child_id(base, k)
            ids.append(cid)
            info = OrderInfo(
                reason=reason,
                algo_name=algo,
                mode=self._mode,
                market_protection=child.market_protection_pct or None,
                received_ns=received,
            )
            order = Order.new(child.intent, cid, now)
            slot = self._limiter.admit(now)
            if not isinstance(slot, Admitted):
                info.reason = R.RATE_LIMIT.value
                throttled = throttled or Rejected(R.RATE_LIMIT, slot.message)
                await self._create(order.rejected(slot.message, now), info)
                self._metrics.rejection(R.RATE_LIMIT.value)
                continue
            await self._create(order, info)
            if slot.send_at_ns > now:
                self._queue.append((slot.send_at_ns, "place", cid))
            else:
                send_now.append(cid)
        self._metrics.queue_depth(len(self._queue))
        orders = tuple(self._orders[c] for c in ids)
        all_throttled = all(o.status is S.REJECTED for o in orders)
        sub = Submission(base, orders, throttled if all_throttled else None)
        self._submissions[base] = sub
        for cid in send_now:
            await self._send(cid)
        return self._current(sub)

    async def _reject(
        self, intent: OrderIntent, base: str, rejected: Rejected, reason: str = ""
    ) -> Submission:
        now = self._clock.now_ns()
        order = Order.new(intent, base, now).rejected(rejected.message, now)
        info = OrderInfo(reason=rejected.reason.value, mode=self._mode, received_ns=now)
        await self._create(order, info)
        self._metrics.rejection(rejected.reason.value)
        if reason:
            log.warning("%s order %s rejected: %s", reason, base, rejected.message)
        sub = Submission(base, (self._orders[base],), rejected)
        self._submissions[base] = sub
        return sub

    def _snapshot(self, intent: OrderIntent, bypass_state: bool = False) -> RiskSnapshot:
        key, strategy = intent.instrument_key, intent.strategy
        views = []
        for pk in self._by_instrument.get(key, ()):
            p = self._book.get(*pk)
            if p.net_quantity:
                views.append(PositionView(pk.strategy, pk.product, p.net_quantity))
        other = 0
        for p in self._book:
            if p.key.strategy == strategy and p.key.instrument_key != key and p.net_quantity:
                other += abs(p.net_quantity) * self._mark(p)
        return RiskSnapshot(
            now_ns=self._clock.now_ns(),
            instrument=self._instruments(key),
            quote=self._quotes.get(key),
            positions=tuple(views),
            working_orders=tuple(self._working.values()),
            account_pnl=self.pnl(),
            strategy_pnl=self.pnl(strategy),
            strategy_other_exposure=other,
            account_state=TradingState.ACTIVE if bypass_state else self._states.account.state,
            strategy_state=TradingState.ACTIVE if bypass_state else self._states.of(strategy).state,
            calendar=self._calendar,
        )

    # --- sending ----------------------------------------------------------------------------

    async def _send(self, cid: str) -> None:
        """Place a recorded PENDING_NEW order (once: never again after this call)."""
        order = self._orders[cid]
        if order.status is not S.PENDING_NEW or order.broker_order_id:
            return  # cancelled while it waited for its slot, or already answered
        info = self._info[cid]
        info.submitted_at = self._clock.now_ns()
        request = PlaceRequest(
            order.intent, cid, info.algo_name or None, market_protection=info.market_protection
        )
        try:
            broker_ids = await self._broker.place(request)
        except OrderStateUnknown as e:
            log.warning("order %s: placement outcome unknown (%s); will look it up by tag", cid, e)
            self._unknown[cid] = 0
            return
        except OrderRefused as e:
            code = e.reason if e.reason in R.__members__ else R.BROKER_REJECTED.value
            await self._broker_refused(cid, code, str(e))
            return
        except BrokerError as e:
            await self._broker_refused(cid, R.BROKER_REJECTED.value, str(e))
            return
        except Exception:
            log.exception("order %s: place failed unexpectedly; will look it up by tag", cid)
            self._unknown[cid] = 0
            return
        now = self._clock.now_ns()
        self._metrics.intent_to_ack((now - info.received_ns) / NS_PER_SECOND)
        if broker_ids:
            if len(broker_ids) > 1:
                log.warning("order %s: broker split it into %s", cid, broker_ids)
            bid = broker_ids[0]
            await self._update(cid, lambda o: o if o.broker_order_id else _acknowledge(o, bid, now))
        await self._cancel_if_asked(cid)

    async def _broker_refused(self, cid: str, code: str, message: str) -> None:
        now = self._clock.now_ns()
        new = await self._update(
            cid,
            lambda o: o.rejected(message, now) if S.REJECTED in TRANSITIONS[o.status] else o,
            reject_reason=code,
        )
        if new.status is S.REJECTED:
            log.warning("order %s rejected by the broker: %s", cid, message)

    # --- broker updates ---------------------------------------------------------------------

    async def on_broker_update(self, update: BrokerOrder) -> None:
        """Apply one broker order update (stream or order book row) to its order; updates
        for orders that are not ours are ignored."""
        cid = update.client_order_id
        if cid not in self._orders:
            cid = self._by_broker.get(update.broker_order_id, "")
            if not cid:
                log.debug("update for order %s not placed by us", update.broker_order_id)
                return
        self._unknown.pop(cid, None)
        now = self._clock.now_ns()
        await self._update(
            cid, lambda o: apply_update(o, update, now), reject_reason=R.BROKER_REJECTED.value
        )
        await self._cancel_if_asked(cid)

    # --- journal ----------------------------------------------------------------------------

    async def _create(self, order: Order, info: OrderInfo) -> Order:
        async with self._lock:
            self._info[order.client_order_id] = info
            return await self._commit(None, order)

    async def _update(
        self, cid: str, change: Callable[[Order], Order], reject_reason: str = ""
    ) -> Order:
        """Apply ``change`` to the order and record the result if it differs."""
        async with self._lock:
            old = self._orders[cid]
            try:
                new = change(old)
            except TradingError as e:
                log.warning("order %s: update ignored: %s", cid, e)
                return old
            if new == old:
                return old
            if reject_reason and new.status is S.REJECTED and old.status is not S.REJECTED:
                self._info[cid].reason = reject_reason
                self._metrics.rejection(reject_reason)
            return await self._commit(old, new)

    async def _commit(self, old: Order | None, new: Order) -> Order:
        """Journal, then apply, then publish one state change (under the lock)."""
        cid = new.client_order_id
        info = self._info[cid]
        now = self._clock.now_ns()
        event = new.to_event(now, self._mode)._replace(reason=info.reason, algo_name=info.algo_name)
        await self._journal.append(event)
        self._orders[cid] = new
        if new.broker_order_id:
            self._by_broker[new.broker_order_id] = cid
        i = new.intent
        if new.is_terminal:
            self._working.pop(cid, None)
        else:
            self._working[cid] = WorkingOrder(
                i.strategy, i.instrument_key, i.product, i.side, new.remaining_quantity
            )
        filled = new.filled_quantity - (old.filled_quantity if old else 0)
        if filled > 0:
            value = new.filled_value - (old.filled_value if old else 0)
            fill = Fill(
                cid, i.strategy, i.instrument_key, i.product, i.side, filled, value, new.ts_event
            )
            self._book_fill(fill, new.broker_order_id)
        if old is None or old.status is not new.status:
            self._metrics.order_status(new.status.name)
        try:
            await self._publisher.publish(event)
        except Exception:
            log.exception("order %s: publishing the %s event failed", cid, new.status.name)
        return new

    def _book_fill(self, fill: Fill, broker_order_id: str) -> None:
        key = PositionKey(fill.strategy, fill.instrument_key, fill.product)
        self._by_instrument.setdefault(fill.instrument_key, set()).add(key)
        self._book.apply(fill)
        charges = self._charges_of(fill)
        self._charges[fill.strategy] = self._charges.get(fill.strategy, 0) + charges.total
        self._trades.append(TradeRecord(fill, charges, broker_order_id))

    def _charges_of(self, fill: Fill) -> ChargeBreakdown:
        day = ist_date(fill.ts_event)
        inst = self._instruments(fill.instrument_key)
        if inst is None:
            log.warning("no instrument %s: charges of %s left at 0", fill.instrument_key, fill)
            return ChargeBreakdown()
        book = self._day_charges.get(day)
        if book is None:
            book = self._day_charges[day] = DayCharges(day)
        try:
            return book.add(
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

    # --- cancel -----------------------------------------------------------------------------

    async def cancel(self, client_order_id: str) -> Order:
        """Ask the broker to cancel an order; ``UnknownOrder`` / ``NotCancellable``.

        An order still waiting for its rate-limit slot is cancelled at once (it never goes);
        one sent but not yet acknowledged becomes CANCEL_PENDING and the cancel goes when
        the broker's order id is known.
        """
        cid = client_order_id
        order = self._orders.get(cid)
        if order is None:
            raise UnknownOrder(f"no order {cid}")
        if order.is_terminal or order.status is S.CANCEL_PENDING:
            raise NotCancellable(f"order {cid} is {order.status.name}; it cannot be cancelled")
        now = self._clock.now_ns()
        queued = [q for q in self._queue if q[1] == "place" and q[2] == cid]
        if queued:
            self._queue.remove(queued[0])
            self._metrics.queue_depth(len(self._queue))
            return await self._update(
                cid, lambda o: o.cancelled(now, "cancelled before it was sent")
            )
        new = await self._update(
            cid, lambda o: o if o.status is S.CANCEL_PENDING else o.cancel_requested(now)
        )
        if new.status is S.CANCEL_PENDING:
            await self._dispatch_cancel(cid)
        return self._orders[cid]

    async def _dispatch_cancel(self, cid: str) -> None:
        order = self._orders[cid]
        if order.status is not S.CANCEL_PENDING:
            return
        if not order.broker_order_id:
            self._cancel_on_ack.add(cid)
            return
        now = self._clock.now_ns()
        slot = self._limiter.admit(now)
        if not isinstance(slot, Admitted):
            self._cancel_retry.add(cid)  # a cancel is never dropped: retried in on_time
            return
        if slot.send_at_ns > now:
            self._queue.append((slot.send_at_ns, "cancel", cid))
            self._metrics.queue_depth(len(self._queue))
            return
        await self._send_cancel(cid)

    async def _send_cancel(self, cid: str) -> None:
        order = self._orders[cid]
        if order.status is not S.CANCEL_PENDING:
            return
        try:
            await self._broker.cancel(order.broker_order_id)
        except BrokerError as e:
            now, why = self._clock.now_ns(), str(e)
            log.warning("cancel of %s refused: %s", cid, why)
            await self._update(
                cid,
                lambda o: o.request_refused(why, now) if o.status is S.CANCEL_PENDING else o,
            )
        except Exception:
            log.exception("cancel of %s failed; the broker's updates will tell", cid)

    async def _cancel_if_asked(self, cid: str) -> None:
        if cid in self._cancel_on_ack and self._orders[cid].broker_order_id:
            self._cancel_on_ack.discard(cid)
            await self._dispatch_cancel(cid)

    # --- controls (kill switch, daily loss, square-off), time -------------------------------

    async def on_kill_switch(self, command: KillSwitch) -> None:
        """Apply a kill switch command from ``control.commands``; the same message again
        (same scope, switch and ``ts_event``) changes nothing."""
        scope = controls.scope_of(command)
        seen = (command.engaged, command.flatten, command.ts_event)
        if self._kills.get(scope) == seen:
            return
        self._kills[scope] = seen
        now = self._clock.now_ns()
        cmd = controls.command_of(command)
        self._states, effects = self._states.apply(cmd, scope, now, command.reason)
        self._report_state(scope)
        log.warning("kill switch %s for %s: %s", cmd.value, scope_key(scope), command.reason)
        for effect in effects:
            if effect.kind is EffectKind.CANCEL_WORKING_ORDERS:
                await self._cancel_scope(effect.scope)
            elif effect.kind is EffectKind.FLATTEN_POSITIONS:
                await self._flatten(effect.scope)

    async def request_kill(
        self,
        action: Literal["halt", "flatten", "resume"],
        strategy: str = "",
        reason: str = "",
    ) -> TradingStates:
        """A kill switch asked for through the API: applied now, then published on
        ``control.commands`` (so a restarted engine reads it back). A publish failure
        propagates after the local state has changed."""
        if action not in ("halt", "flatten", "resume"):
            raise ValueError(f"kill switch action must be halt, flatten or resume, not {action!r}")
        now = self._clock.now_ns()
        command = KillSwitch(
            engaged=action != "resume",
            flatten=action == "flatten",
            reason=reason or f"{action} requested",
            trading_day=ist_date(now).isoformat(),
            ts_event=now,
            strategy=strategy,
        )
        await self.on_kill_switch(command)
        await self._control.publish(command)
        return self._states

    def _report_state(self, scope: str) -> None:
        name = "account" if scope == ACCOUNT else scope
        self._metrics.trading_state(name, int(self._states.of(scope).state))

    async def _cancel_scope(self, scope: str) -> None:
        for cid, order in list(self._orders.items()):
            if order.is_terminal or order.status is S.CANCEL_PENDING:
                continue
            if not controls.in_scope(order.intent.strategy, scope):
                continue
            if self._info[cid].reason in controls.CLOSING_REASONS:
                continue
            try:
                await self.cancel(cid)
            except TradingError as e:
                log.warning("kill switch: cancel of %s: %s", cid, e)

    async def _close_positions(self, scope: str, product: Product | None, reason: str) -> None:
        closers = [
            o
            for cid, o in self._orders.items()
            if not o.is_terminal and self._info[cid].reason in controls.CLOSING_REASONS
        ]
        tag = SQUARE_OFF_TAG if reason == controls.SQUARE_OFF else ""
        for p in self._book.open_positions(product):
            if not controls.in_scope(p.key.strategy, scope):
                continue
            intent = controls.still_to_close(controls.closing_intent(p, tag), closers)
            if intent is None:
                continue
            now = self._clock.now_ns()
            day = ist_date(now)
            sequence = self._next_sequence(intent.strategy, day)
            self._use_sequence(intent.strategy, day, sequence)
            base = client_order_id(intent.strategy, day, sequence)
            sub = await self._submit(intent, base, now, reason=reason)
            if sub.rejected is not None:
                log.error("%s of %s not sent: %s", reason, p.key, sub.rejected.message)

    async def _flatten(self, scope: str) -> None:
        await self._close_positions(scope, None, controls.FLATTEN)

    async def on_time(self) -> None:
        """Call about every 100 ms: sends queued orders whose slot has come, retries held
        cancels, resolves placements of unknown outcome by tag, applies the daily-loss
        limit and runs the MIS square-off."""
        if not self.ready:
            return
        now = self._clock.now_ns()
        while self._queue and self._queue[0][0] <= now:
            _, kind, cid = self._queue.popleft()
            if kind == "place":
                await self._send(cid)
            else:
                await self._send_cancel(cid)
        self._metrics.queue_depth(len(self._queue))
        for cid in list(self._cancel_retry):
            self._cancel_retry.discard(cid)
            await self._dispatch_cancel(cid)
        await self._resolve_unknown(now)
        self._check_daily_loss(now)
        if self._square_off is not None:
            await self._run_square_off(now)

    async def _resolve_unknown(self, now: int) -> None:
        for cid, tried in list(self._unknown.items()):
            if tried and now - tried < UNKNOWN_RETRY_NS:
                continue
            self._unknown[cid] = now
            try:
                rows = await self._broker.find_by_tag(cid)
            except Exception:
                log.exception("looking up order %s by tag failed; will retry", cid)
                continue
            for row in rows:
                await self.on_broker_update(row)

    def _check_daily_loss(self, now: int) -> None:
        scopes = [(ACCOUNT, self._limits.max_daily_loss)]
        scopes += [(s, self._limits.for_strategy(s).max_daily_loss) for s in self.strategies()]
        for scope, cap in scopes:
            if not cap:
                continue
            loss = self.pnl(None if scope == ACCOUNT else scope).loss
            states, _ = self._states.on_daily_loss(scope, loss, cap, now)
            if states is not self._states:
                self._states = states
                self._report_state(scope)
                log.warning("%s: %s", scope_key(scope), states.of(scope).reason)

    async def _run_square_off(self, now: int) -> None:
        assert self._square_off is not None
        working = [o for o in self._orders.values() if not o.is_terminal]
        plan = self._square_off.check(now, self._book.open_positions(Product.INTRADAY), working)
        if plan is None:
            return
        log.warning("MIS square-off for %s: %d cancels", plan.day, len(plan.cancel))
        for cid in plan.cancel:
            if self._info[cid].reason in controls.CLOSING_REASONS:
                continue
            try:
                await self.cancel(cid)
            except TradingError as e:
                log.warning("square-off: cancel of %s: %s", cid, e)
        await self._close_positions(ACCOUNT, Product.INTRADAY, controls.SQUARE_OFF)

    # --- recovery ---------------------------------------------------------------------------

    async def recover(self, since_ns: int | None = None) -> RecoveryReport:
        """Rebuild from the journal (from 00:00 IST today unless ``since_ns``), reconcile
        with the broker, then become ready. Must run once, before any ``submit``."""
        now = self._clock.now_ns()
        since = _day_start_ns(now) if since_ns is None else since_ns
        events = await self._journal.since(since)
        journal = recovery.JournalState.of(events)
        try:
            fills = list(fills_from_events(events))
        except ReplayError as e:
            raise RecoveryError(f"the order journal cannot be replayed: {e}") from e
        async with self._lock:
            for cid, evs in journal.events.items():
                try:
                    order = recovery.order_from_events(evs)
                except TradingError as e:
                    log.error("journal: order %s skipped: %s", cid, e)
                    continue
                self._orders[cid] = order
                self._info[cid] = OrderInfo(
                    reason=journal.reason(cid),
                    algo_name=journal.algo_name(cid),
                    mode=evs[-1].mode or self._mode,
                    submitted_at=journal.submitted_at(cid),
                )
                if order.broker_order_id:
                    self._by_broker[order.broker_order_id] = cid
                if not order.is_terminal:
                    i = order.intent
                    self._working[cid] = WorkingOrder(
                        i.strategy, i.instrument_key, i.product, i.side, order.remaining_quantity
                    )
            for fill in fills:
                known = self._orders.get(fill.client_order_id)
                self._book_fill(fill, known.broker_order_id if known else "")
            for k, seq in journal.sequences.items():
                self._sequences[k] = max(self._sequences.get(k, 0), seq)
            for base, cids in journal.intents.items():
                orders = tuple(self._orders[c] for c in cids if c in self._orders)
                if not orders:
                    continue
                rejected = None
                if len(orders) == 1 and orders[0].status is S.REJECTED:
                    code = self._info[orders[0].client_order_id].reason
                    if code in R.__members__:
                        rejected = Rejected(R(code), orders[0].message)
                self._submissions[base] = Submission(base, orders, rejected)
        if self._square_off is not None:
            today = ist_date(now)
            if any(
                e.reason == controls.SQUARE_OFF and ist_date(e.ts_event) == today for e in events
            ):
                self._square_off.mark_done(today)
        report = await self._reconcile(len(journal.events))
        self.ready = True
        log.info("recovered: %s", report)
        return report

    async def _reconcile(self, loaded: int) -> RecoveryReport:
        """Compare the journal's open orders (and, live, positions) with the broker's."""
        try:
            rows = await self._broker.order_book()
        except Exception:
            log.exception("recovery: the broker's order book is unavailable")
            rows = []
        by_tag = {r.client_order_id: r for r in rows if r.client_order_id}
        fills_applied = found = lost = 0
        mismatches: list[str] = []
        now = self._clock.now_ns()
        for cid, order in list(self._orders.items()):
            if order.is_terminal:
                continue
            row = by_tag.get(cid)
            if row is None and order.status is S.PENDING_NEW and not order.broker_order_id:
                try:
                    found_rows = await self._broker.find_by_tag(cid)
                except Exception:
                    log.exception("recovery: looking up %s by tag failed", cid)
                    self._unknown[cid] = 0  # retried by on_time; never placed again
                    continue
                row = found_rows[0] if found_rows else None
            if row is not None:
                if order.status is S.PENDING_NEW and not order.broker_order_id:
                    found += 1
                before = len(self._trades)
                await self.on_broker_update(row)
                fills_applied += len(self._trades) - before
            elif order.status is S.PENDING_NEW and not order.broker_order_id:
                lost += 1
                await self._update(
                    cid,
                    lambda o: o.rejected("never reached the broker (the process stopped)", now),
                    reject_reason=R.LOST_BEFORE_SEND.value,
                )
            elif self._mode == "paper":
                await self._update(
                    cid,
                    lambda o: o.cancelled(now, "the paper broker's book ended with its process"),
                )
            else:
                mismatches.append(
                    f"order {cid} ({order.status.name}) is not in the broker's order book"
                )
        if self._mode == "live":
            try:
                mismatches.extend(
                    recovery.position_mismatches(self._book, await self._broker.positions())
                )
            except Exception:
                log.exception("recovery: the broker's positions are unavailable")
                mismatches.append("the broker's positions could not be read")
        if mismatches:
            self._metrics.reconcile_mismatch(len(mismatches))
            for m in mismatches:
                log.error("reconcile: %s", m)
        return RecoveryReport(
            orders_loaded=loaded,
            open_orders=sum(1 for o in self._orders.values() if not o.is_terminal),
            fills_applied=fills_applied,
            found_by_tag=found,
            lost_before_send=lost,
            position_mismatches=tuple(mismatches),
        )


def _acknowledge(order: Order, broker_order_id: str, ts: int) -> Order:
    """The broker answered ``place`` with ``broker_order_id``."""
    return order.accepted(broker_order_id, ts)


def apply_update(order: Order, u: BrokerOrder, ts: int) -> Order:
    """``order`` after the broker's report ``u`` (cumulative fills, status, broker id).

    The fill is the increase of ``u.filled_quantity`` over the order's; the order's filled
    value becomes ``u.average_price x u.filled_quantity`` exactly (the fill's value is the
    difference); a report with fewer fills than the order has adds none. A final order stays as
    it is; a REJECTED report for an order already working becomes CANCELLED (the table has
    no such edge: the exchange removed it).
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
