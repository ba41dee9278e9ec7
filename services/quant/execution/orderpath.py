"""The order path of the execution engine: intents, sends, broker updates, the journal, cancels.

``OrderPath`` is the part of ``quant.execution.engine.ExecutionEngine`` that moves orders:
``submit`` (numbering, algo name, risk check, rate limiter, journal, broker), the send queue,
``on_broker_update`` (fills from cumulative reports), cancels, and the one place every order
state change goes through (``_create_all`` / ``_update``: journal, then books, then
publish; the publisher is flushed outside the lock). The controls
(``quant.execution.controls.Controls``) and recovery (``ExecutionEngine``) build on it; the
module docstring of ``quant.execution.engine`` describes the whole.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar
from quant.core.clock import NS_PER_SECOND, Clock
from quant.core.events import Tick
from quant.core.instruments import Instrument
from quant.core.orders import OrderEvent, OrderStatus
from quant.execution import recovery
from quant.execution.books import Books, OrderInfo, TradeRecord, apply_update
from quant.execution.ports import (
    ControlPublisher,
    EngineMetrics,
    EventPublisher,
    NullMetrics,
    OrderJournal,
    QuoteSource,
    ReferenceQuote,
)
from quant.execution.refquotes import DEFAULT_RETRY_S, DEFAULT_WAIT_S, DailyQuotes
from quant.trading.broker import (
    Broker,
    BrokerError,
    BrokerOrder,
    OrderRefused,
    OrderStateUnknown,
    PlaceRequest,
)
from quant.trading.client_ids import client_order_id, strategy_prefix
from quant.trading.errors import TradingError
from quant.trading.intent import Amendment, IntentMessage, OrderIntent
from quant.trading.order import Order
from quant.trading.positions import Position
from quant.trading.ratelimit import Admitted, OrderRateLimiter
from quant.trading.risk import Rejected, check, ist_date
from quant.trading.risk_limits import RejectReason, RiskLimits
from quant.trading.snapshot import DayPnl, RiskSnapshot
from quant.trading.squareoff import MisSquareOff
from quant.trading.state import TradingState, TradingStates
from quant.trading.transitions import TRANSITIONS

log = logging.getLogger(__name__)

S = OrderStatus
R = RejectReason
#: how often ``on_time`` asks the broker about one order whose placement is unknown
UNKNOWN_RETRY_NS = NS_PER_SECOND


class EngineNotReady(TradingError):
    """``submit`` before ``recover`` finished (the API answers 503)."""


class UnknownOrder(TradingError):
    """No order with that client order id (the API answers 404)."""


class NotCancellable(TradingError):
    """The order is final or a cancel is already pending (the API answers 409)."""


class NotModifiable(TradingError):
    """The order is final, not yet acknowledged by the broker, or has a modify or cancel
    pending (the API answers 409)."""


class ModifyRefused(TradingError):
    """The amended order breaks a pre-trade rule, or the order-rate limit has no slot for
    it (the API answers 422 with the reason)."""

    def __init__(self, rejected: Rejected) -> None:
        super().__init__(rejected.message)
        self.rejected = rejected


class RecoveryError(TradingError):
    """The journal cannot be replayed; the engine stays not ready."""


@dataclass(frozen=True, slots=True)
class Submission:
    """The answer to one intent: its client order id, its orders (one per child, as they are
    now) and the rejection, if it was rejected (then ``orders`` holds the REJECTED order)."""

    client_order_id: str
    orders: tuple[Order, ...]
    rejected: Rejected | None


class OrderPath:
    """Intents to orders to fills; see the module docstring."""

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
        quotes: QuoteSource | None = None,
        quote_wait_s: float = DEFAULT_WAIT_S,
        quote_retry_s: float = DEFAULT_RETRY_S,
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

        self._lock = asyncio.Lock()  # one order state change at a time (journal order)
        self._submit_lock = asyncio.Lock()  # one risk check + recording at a time
        self._b = Books(instruments)
        self._submissions: dict[str, Submission] = {}
        self._in_flight: dict[str, asyncio.Event] = {}
        self._sequences: dict[tuple[str, date], int] = {}
        #: (client order id prefix, IST day) -> the strategy name whose ids use it that day
        self._prefix_owners: dict[tuple[str, date], str] = {}
        self._states = TradingStates()
        self._kills: dict[str, tuple[bool, bool, int]] = {}
        #: (send at, "place" | "cancel" | "modify", client order id), send times non-decreasing
        self._queue: deque[tuple[int, str, str]] = deque()
        self._cancel_retry: set[str] = set()
        self._cancel_on_ack: set[str] = set()
        self._unknown: dict[str, int] = {}
        #: circuit limits and first quotes from the broker's REST quote (none: no band check)
        self._ref_quotes = (
            None
            if quotes is None
            else DailyQuotes(
                quotes,
                clock,
                self._apply_reference_quote,
                on_failure=self._metrics.quote_fetch_failed,
                wait_s=quote_wait_s,
                retry_s=quote_retry_s,
            )
        )

    # --- reads ------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def orders(self, limit: int = 100) -> list[Order]:
        """The newest ``limit`` orders, newest first."""
        return self._b.newest(limit)

    def order(self, client_order_id: str) -> Order | None:
        return self._b.orders.get(client_order_id)

    def order_info(self, client_order_id: str) -> OrderInfo | None:
        """Reason code, algo name, mode and send time of an order."""
        return self._b.info.get(client_order_id)

    def trades(self, limit: int = 50) -> list[TradeRecord]:
        """The newest ``limit`` fills with their charges, newest first."""
        return list(reversed(self._b.trades))[:limit]

    def positions(self) -> list[Position]:
        """Every position the day has seen, in key order (flat ones too)."""
        return list(self._b.book)

    def marks(self) -> Mapping[str, int]:
        """The last traded price per instrument (paise)."""
        return dict(self._b.marks)

    def states(self) -> TradingStates:
        return self._states

    def submitted_at(self, client_order_id: str) -> int | None:
        """When the order went to the broker (UTC ns), ``None`` if it has not (yet)."""
        info = self._b.info.get(client_order_id)
        return info.submitted_at if info else None

    def strategies(self) -> list[str]:
        """Strategies with a position or charges today."""
        return self._b.strategies()

    def charges(self, strategy: str | None = None) -> int:
        """The day's charges in paise, of the account or one strategy."""
        return self._b.charges(strategy)

    def pnl(self, strategy: str | None = None) -> DayPnl:
        """Realised, unrealised (at the marks; average price without one) and charges."""
        return self._b.pnl(strategy)

    def queue_depth(self) -> int:
        """Orders and cancels waiting for their rate-limit slot."""
        return len(self._queue)

    # --- market data ------------------------------------------------------------------------

    def set_circuit_limits(self, instrument_key: str, lower: int, upper: int) -> None:
        """The day's price band of an instrument (paise; 0 = none), for the risk quote."""
        self._b.set_circuit_limits(instrument_key, lower, upper)

    def on_tick(self, tick: Tick) -> None:
        """Take the tick's LTP as the mark and its best bid/ask as the risk quote."""
        self._b.on_tick(tick)

    async def prefetch_quotes(self, instrument_keys: Iterable[str]) -> None:
        """Fetch today's REST quotes (circuit limits) of the instruments not fetched yet,
        and again of those whose quote is getting stale (no tick comes for them), in one
        request, waiting at most ``quote_wait_s`` (the service calls it for a batch of
        intents before submitting them; ``submit`` does it for its own instrument, a
        flatten or square-off for the positions it closes)."""
        if self._ref_quotes is None:
            return
        keys = list(instrument_keys)
        now = self._clock.now_ns()
        stale = [k for k in keys if self._quote_stale(k, now)]
        await self._ref_quotes.ensure(keys, refresh=stale)

    def _quote_stale(self, instrument_key: str, now: int) -> bool:
        """No quote, or one past half the age limit (a refresh in time for the check)."""
        quote = self._b.quotes.get(instrument_key)
        if quote is None:
            return True
        limit = self._limits.max_quote_age_ns
        return bool(limit) and now - quote.ts_event > limit // 2

    def cancel_quote_requests(self) -> None:
        """Stop the REST quote requests in flight (the service is stopping)."""
        if self._ref_quotes is not None:
            self._ref_quotes.cancel()

    def _apply_reference_quote(self, q: ReferenceQuote) -> None:
        """The day's circuit limits of the instrument, and its quote unless a tick gave a
        newer one."""
        self._b.set_circuit_limits(q.instrument_key, q.lower_circuit, q.upper_circuit)
        self._b.seed_quote(q.instrument_key, q.ltp, q.best_bid, q.best_ask, q.ts_event)

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
        taken = self._claim_prefix(intent.strategy, day)
        if taken is not None:
            self._metrics.rejection(taken.reason.value)
            log.warning("intent of %s rejected: %s", intent.strategy, taken.message)
            return Submission("", (), taken)
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
            await self.prefetch_quotes((intent.instrument_key,))
            return await self._submit(intent, base, received, decided=message.ts_event)
        finally:
            del self._in_flight[base]
            event.set()

    def _claim_prefix(self, strategy: str, day: date) -> Rejected | None:
        """Make ``strategy`` the owner of its client order id prefix for ``day``, or the
        rejection ``STRATEGY_PREFIX_TAKEN`` if another strategy name owns it: the two would
        share client order ids (idempotency and the broker's tag lookup would mix them up).
        Nothing is journaled for such an intent: there is no id of its own to journal it
        under."""
        prefix = strategy_prefix(strategy)
        owner = self._prefix_owners.setdefault((prefix, day), strategy)
        if owner == strategy:
            return None
        return Rejected(
            R.STRATEGY_PREFIX_TAKEN,
            f"strategy {strategy!r} would use the client order id prefix {prefix!r}, which "
            f"strategy {owner!r} already uses today; rename {strategy!r} (a name of at most "
            f"6 lowercase letters and digits is its own prefix)",
        )

    def _next_sequence(self, strategy: str, day: date) -> int:
        return self._sequences.get((strategy_prefix(strategy), day), 0) + 1

    def _use_sequence(self, strategy: str, day: date, sequence: int) -> None:
        k = (strategy_prefix(strategy), day)
        self._sequences[k] = max(self._sequences.get(k, 0), sequence)

    def _current(self, sub: Submission) -> Submission:
        orders = tuple(self._b.orders.get(o.client_order_id, o) for o in sub.orders)
        return dataclasses.replace(sub, orders=orders)

    async def _submit(
        self, intent: OrderIntent, base: str, received: int, reason: str = "", decided: int = 0
    ) -> Submission:
        """Risk-check, record and send ``intent`` as the orders of ``base``; a ``reason``
        (``FLATTEN``, ``SQUARE_OFF``) marks an order the engine makes itself: it bypasses
        the trading-state check, not the other rules nor the limiter.

        The check and the recording of its orders hold the submit lock, so the next
        intent's check sees them (open orders, worst-case positions); the sends do not.
        ``decided``: when the strategy decided (the intent's ``ts_event``; 0 unknown).
        """
        try:
            async with self._submit_lock:
                sub, send_now = await self._check_and_record(
                    intent, base, received, reason, decided
                )
            for cid in send_now:
                await self._send(cid)
        finally:
            await self._flush()  # PENDING_NEW (or REJECTED) was only sent, not yet flushed
        return self._current(sub)

    async def _check_and_record(
        self, intent: OrderIntent, base: str, received: int, reason: str, decided: int = 0
    ) -> tuple[Submission, list[str]]:
        algo = ""
        if self._mode == "live":
            algo = self._algo_names.get(intent.strategy) or self._default_algo_name
            if not algo:
                no_algo = Rejected(
                    R.NO_ALGO_NAME,
                    f"live orders need an algo name (X-Algo-Name): none is set for "
                    f"strategy {intent.strategy} and there is no default",
                )
                return await self._reject(intent, base, no_algo, reason), []
        result = check(intent, self._snapshot(intent, bypass_state=bool(reason)), self._limits)
        if isinstance(result, Rejected):
            return await self._reject(intent, base, result, reason), []
        now = self._clock.now_ns()
        ids: list[str] = []
        send_now: list[str] = []
        queued: list[tuple[int, str, str]] = []
        created: list[tuple[Order, OrderInfo]] = []
        throttled: Rejected | None = None
        for k, child in enumerate(result.children):
            cid = recovery.child_id(base, k)
            ids.append(cid)
            info = OrderInfo(
                reason=reason,
                algo_name=algo,
                mode=self._mode,
                market_protection=child.market_protection_pct or None,
                protection_price=child.protection_price,
                received_ns=received,
                decided_ns=decided,
            )
            order = Order.new(child.intent, cid, now)
            slot = self._limiter.admit(now)
            if not isinstance(slot, Admitted):
                info.reason = R.RATE_LIMIT.value
                throttled = throttled or Rejected(R.RATE_LIMIT, slot.message)
                created.append((order.rejected(slot.message, now), info))
                self._metrics.rejection(R.RATE_LIMIT.value)
                continue
            created.append((order, info))
            if slot.send_at_ns > now:
                queued.append((slot.send_at_ns, "place", cid))
                if decided:  # it is sent later: so much later than decided
                    info.decided_ns = decided + slot.send_at_ns - now
            else:
                send_now.append(cid)
        await self._create_all(created)  # one journal write for all the children
        self._queue.extend(queued)  # only once recorded: on_time sends from the queue
        self._metrics.queue_depth(len(self._queue))
        orders = tuple(self._b.orders[c] for c in ids)
        all_throttled = all(o.status is S.REJECTED for o in orders)
        sub = Submission(base, orders, throttled if all_throttled else None)
        self._submissions[base] = sub
        return sub, send_now

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
        sub = Submission(base, (self._b.orders[base],), rejected)
        self._submissions[base] = sub
        return sub

    def _snapshot(self, intent: OrderIntent, bypass_state: bool = False) -> RiskSnapshot:
        active = TradingState.ACTIVE
        return self._b.snapshot(
            intent,
            self._clock.now_ns(),
            active if bypass_state else self._states.account.state,
            active if bypass_state else self._states.of(intent.strategy).state,
            self._calendar,
        )

    # --- sending ----------------------------------------------------------------------------

    async def _send(self, cid: str) -> None:
        """Place a recorded PENDING_NEW order (once: never again after this call)."""
        order = self._b.orders[cid]
        if order.status is not S.PENDING_NEW or order.broker_order_id:
            return  # cancelled while it waited for its slot, or already answered
        info = self._b.info[cid]
        info.submitted_at = self._clock.now_ns()
        request = PlaceRequest(
            order.intent,
            cid,
            info.algo_name or None,
            market_protection=info.market_protection,
            protection_price=info.protection_price,
            ts_decided=info.decided_ns,
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
            try:
                await self._update(
                    cid, lambda o: o if o.broker_order_id else _acknowledge(o, bid, now)
                )
            except Exception:
                # the order is at the broker but its OPEN could not be journaled: on_time
                # looks it up by tag again (and journals it then), it is never placed again
                self._unknown[cid] = now
                raise
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
        if cid not in self._b.orders:
            cid = self._b.by_broker.get(update.broker_order_id, "")
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
        """Record a new order (journalled and sent; the caller flushes the publisher)."""
        await self._create_all([(order, info)])
        return self._b.orders[order.client_order_id]

    async def _create_all(self, items: Sequence[tuple[Order, OrderInfo]]) -> None:
        """Record new orders: their events in one journal write, then books, then sent."""
        if not items:
            return
        async with self._lock:
            now = self._clock.now_ns()
            events = [self._event(order, info, now) for order, info in items]
            await self._append(events)
            for (order, info), event in zip(items, events, strict=True):
                self._b.info[order.client_order_id] = info
                self._applied(None, order, event)

    async def _update(
        self, cid: str, change: Callable[[Order], Order], reject_reason: str = ""
    ) -> Order:
        """Apply ``change`` to the order and record the result if it differs."""
        async with self._lock:
            old = self._b.orders[cid]
            try:
                new = change(old)
            except TradingError as e:
                log.warning("order %s: update ignored: %s", cid, e)
                return old
            if new == old:
                return old
            if reject_reason and new.status is S.REJECTED and old.status is not S.REJECTED:
                self._b.info[cid].reason = reject_reason
                self._metrics.rejection(reject_reason)
            event = self._event(new, self._b.info[cid], self._clock.now_ns())
            await self._append([event])
            self._applied(old, new, event)
        await self._flush()  # outside the lock: the next change is journalled meanwhile
        return new

    def _event(self, order: Order, info: OrderInfo, now: int) -> OrderEvent:
        return order.to_event(now, self._mode)._replace(
            reason=info.reason, algo_name=info.algo_name
        )

    async def _append(self, events: Sequence[OrderEvent]) -> None:
        """Journal ``events`` (durable when it returns; under the lock)."""
        if len(events) == 1:
            await self._journal.append(events[0])
        else:
            await self._journal.append_many(events)

    def _applied(self, old: Order | None, new: Order, event: OrderEvent) -> None:
        """A journalled change: into the books, then sent on ``orders.events`` (under the
        lock, so each order's events go out in the order they were journalled)."""
        self._b.record(old, new)
        if old is None or old.status is not new.status:
            self._metrics.order_status(new.status.name)
        try:
            self._publisher.send(event)
        except Exception:
            log.exception(
                "order %s: publishing the %s event failed", new.client_order_id, new.status.name
            )

    async def _flush(self) -> None:
        """Wait until every event sent so far is delivered (a failure is logged: the
        journal has the events; the bus is not the record)."""
        try:
            await self._publisher.flush()
        except Exception:
            log.exception("publishing order events failed")

    # --- cancel -----------------------------------------------------------------------------

    async def cancel(self, client_order_id: str) -> Order:
        """Ask the broker to cancel an order; ``UnknownOrder`` / ``NotCancellable``.

        An order still waiting for its rate-limit slot is cancelled at once (it never goes);
        one sent but not yet acknowledged becomes CANCEL_PENDING and the cancel goes when
        the broker's order id is known.
        """
        cid = client_order_id
        order = self._b.orders.get(cid)
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
        return self._b.orders[cid]

    async def _dispatch_cancel(self, cid: str) -> None:
        order = self._b.orders[cid]
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
        order = self._b.orders[cid]
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

    # --- modify -----------------------------------------------------------------------------

    async def modify(self, client_order_id: str, amendment: Amendment) -> Order:
        """Ask the broker to change a working order's quantity, price, trigger price, type
        or validity; ``UnknownOrder``, ``NotModifiable``, ``InvalidIntent`` (a bad
        amendment), ``ModifyRefused`` (a pre-trade rule, or no rate-limit slot).

        The amended order passes the same pre-trade check as a new one (as an order next
        to the one it changes: conservative on position limits), must stay one order (no
        freeze-quantity split) and takes a slot of the order-rate limiter (Upstox counts
        modifies with places and cancels). MODIFY_PENDING is journalled before the request
        goes; the broker's report with the new values makes the order working again with
        them (:func:`~quant.execution.books.apply_update`); a refusal restores it as it was.
        """
        cid = client_order_id
        order = self._b.orders.get(cid)
        if order is None:
            raise UnknownOrder(f"no order {cid}")
        if order.is_terminal or order.status in (S.MODIFY_PENDING, S.CANCEL_PENDING):
            raise NotModifiable(f"order {cid} is {order.status.name}; it cannot be modified")
        if not order.broker_order_id:
            raise NotModifiable(
                f"order {cid} is not acknowledged by the broker yet; modify it once it is "
                f"{S.OPEN.name}"
            )
        amended = amendment.apply(order.intent)  # InvalidIntent for a bad result
        async with self._submit_lock:
            result = check(amended, self._snapshot(amended), self._limits)
            if isinstance(result, Rejected):
                raise ModifyRefused(result)
            if len(result.children) != 1:
                raise ModifyRefused(
                    Rejected(
                        R.FREEZE_QUANTITY,
                        f"order {cid}: {amended.quantity} is above the freeze quantity; "
                        "a modification cannot split an order (place another one)",
                    )
                )
            now = self._clock.now_ns()
            slot = self._limiter.admit(now)
            if not isinstance(slot, Admitted):
                raise ModifyRefused(Rejected(R.RATE_LIMIT, slot.message))
            new = await self._update(cid, lambda o: o.modify_requested(amendment, now))
        if new.status is not S.MODIFY_PENDING:
            raise NotModifiable(f"order {cid} is {new.status.name}; it cannot be modified")
        if slot.send_at_ns > now:
            self._queue.append((slot.send_at_ns, "modify", cid))
            self._metrics.queue_depth(len(self._queue))
        else:
            await self._send_modify(cid)
        return self._b.orders[cid]

    async def _send_modify(self, cid: str) -> None:
        order = self._b.orders[cid]
        if order.status is not S.MODIFY_PENDING or order.pending is None:
            return  # cancelled meanwhile (a cancel overrides a modification)
        try:
            await self._broker.modify(order.broker_order_id, order.pending.apply(order.intent))
        except BrokerError as e:
            now, why = self._clock.now_ns(), str(e)
            log.warning("modify of %s refused: %s", cid, why)
            await self._update(
                cid,
                lambda o: o.request_refused(why, now) if o.status is S.MODIFY_PENDING else o,
            )
        except Exception:
            log.exception("modify of %s failed; the broker's updates will tell", cid)

    async def _cancel_if_asked(self, cid: str) -> None:
        if cid in self._cancel_on_ack and self._b.orders[cid].broker_order_id:
            self._cancel_on_ack.discard(cid)
            await self._dispatch_cancel(cid)


def _acknowledge(order: Order, broker_order_id: str, ts: int) -> Order:
    """The broker answered ``place`` with ``broker_order_id``."""
    return order.accepted(broker_order_id, ts)
