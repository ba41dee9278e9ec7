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

The risk quote is the instrument's latest tick; its circuit limits (which ticks do not
carry), and a first quote when no tick has come, are the broker's REST full quote, fetched
once per instrument per IST day by ``quant.execution.refquotes.DailyQuotes`` (when a
``QuoteSource`` is given): before an intent (a bounded wait) and at recovery for what is
held. A strategy name whose client order id prefix another one used that day is refused
``STRATEGY_PREFIX_TAKEN`` before anything else (the two would share ids).

Fills are the increases of the broker's cumulative ``filled_quantity`` (at its
``average_price``) between updates, so a repeated or replayed update adds nothing. Each
fill updates the ``PositionBook`` and the day's charges (``quant.trading.charges``). The
kill switch, daily loss and MIS square-off are in ``on_kill_switch`` / ``request_kill`` and
``on_time``; ``recover`` rebuilds everything from the journal and reconciles with the
broker. Modules: ``orderpath.py`` (``OrderPath``: submit, send queue, broker updates,
journal, cancel, modify), ``controls.py`` (``Controls(OrderPath)``: kill switch, daily loss,
square-off, ``on_time``), this module (``ExecutionEngine(Controls)``: ``recover``),
``books.py`` (the in-memory orders, positions, trades, charges and quotes, and
``apply_update``), ``recovery.py`` (the journal's pure parts).

Concurrency: one asyncio loop. Order state changes are serialised by one lock (so the
journal holds each order's events in the order they happened); the broker is called
outside it. No I/O except through the ports and the ``Broker``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from quant.core.clock import IST, NS_PER_SECOND
from quant.execution import controls, recovery
from quant.execution.books import OrderInfo, TradeRecord, apply_update
from quant.execution.controls import Controls
from quant.execution.orderpath import (
    EngineNotReady,
    ModifyRefused,
    NotCancellable,
    NotModifiable,
    R,
    RecoveryError,
    S,
    Submission,
    UnknownOrder,
)
from quant.trading.errors import ReplayError
from quant.trading.order import Order
from quant.trading.replay import fills_from_events
from quant.trading.risk import Rejected, ist_date
from quant.trading.state import ACCOUNT

__all__ = [
    "EngineNotReady",
    "ExecutionEngine",
    "ModifyRefused",
    "NotCancellable",
    "NotModifiable",
    "OrderInfo",
    "RecoveryError",
    "RecoveryReport",
    "Submission",
    "TradeRecord",
    "UnknownOrder",
    "apply_update",
]

log = logging.getLogger(__name__)
_NS_PER_DAY = 86_400 * NS_PER_SECOND
_IST_OFFSET_NS = int(IST.utcoffset(None).total_seconds()) * NS_PER_SECOND


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What ``recover`` found and did."""

    orders_loaded: int
    open_orders: int
    fills_applied: int
    found_by_tag: int
    lost_before_send: int
    position_mismatches: tuple[str, ...]


def _day_start_ns(now_ns: int) -> int:
    """00:00 IST of ``now_ns``'s IST day, as UTC ns."""
    return (now_ns + _IST_OFFSET_NS) // _NS_PER_DAY * _NS_PER_DAY - _IST_OFFSET_NS


class ExecutionEngine(Controls):
    """The order path of one account; see the module docstring. Construct it with the
    keyword arguments of ``OrderPath.__init__``; call ``recover`` once before ``submit``."""

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
            recovery.load(self._b, journal, fills, self._mode)
            for k, seq in journal.sequences.items():
                self._sequences[k] = max(self._sequences.get(k, 0), seq)
            for k, owner in journal.prefix_owners.items():
                self._prefix_owners.setdefault(k, owner)
        if self._square_off is not None:
            today = ist_date(now)
            if any(
                e.reason == controls.SQUARE_OFF and ist_date(e.ts_event) == today for e in events
            ):
                self._square_off.mark_done(today)
        report = await self._reconcile(len(journal.events))
        # circuit limits of what is held or working (bounded wait; retried if it fails)
        held = [p.key.instrument_key for p in self._b.book if p.net_quantity]
        held += [o.intent.instrument_key for o in self._b.open_orders()]
        await self.prefetch_quotes(held)
        for base, cids in journal.intents.items():
            orders = tuple(self._b.orders[c] for c in cids if c in self._b.orders)
            if orders:
                self._submissions[base] = Submission(base, orders, self._rejection_of(orders))
        self._check_daily_loss(self._clock.now_ns())
        self._report_state(ACCOUNT)
        self._report_pnl()
        self.ready = True
        log.info("recovered: %s", report)
        return report

    def _rejection_of(self, orders: tuple[Order, ...]) -> Rejected | None:
        """The rejection of an intent whose orders were all rejected (as ``submit`` said)."""
        if not all(o.status is S.REJECTED for o in orders):
            return None
        code = self._b.info[orders[0].client_order_id].reason
        if code not in R.__members__:
            return None
        return Rejected(R(code), orders[0].message)

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
        for cid, order in list(self._b.orders.items()):
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
                before = len(self._b.trades)
                await self.on_broker_update(row)
                fills_applied += len(self._b.trades) - before
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
                    recovery.position_mismatches(self._b.book, await self._broker.positions())
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
            open_orders=sum(1 for o in self._b.orders.values() if not o.is_terminal),
            fills_applied=fills_applied,
            found_by_tag=found,
            lost_before_send=lost,
            position_mismatches=tuple(mismatches),
        )
