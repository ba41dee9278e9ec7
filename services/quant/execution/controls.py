"""The engine's controls: the kill switch, the daily-loss limit, the MIS square-off, the timer.

A ``KillSwitch`` on ``control.commands`` is state, keyed by scope (the account, or one
strategy): ``engaged`` with ``flatten`` is FLATTEN (halt, cancel, close every position),
``engaged`` alone HALT, not engaged RESUME (``quant.trading.state.Command``). The engine
makes the closing orders of a FLATTEN and of the MIS square-off itself: one marketable
order per open position, for the position's own strategy and product, for what is not
already being closed by a working closing order of the same kind (so a command replayed
after a restart, or a square-off after a flatten, does not close a position twice).

``Controls`` adds them to the order path (``quant.execution.orderpath.OrderPath``):
``on_kill_switch`` / ``request_kill``, and ``on_time`` (queued sends, held cancels,
placements of unknown outcome resolved by tag, the daily-loss limit, the square-off). The
functions above it are the pure parts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Literal

from quant.core.clock import NS_PER_SECOND
from quant.core.control import KillSwitch
from quant.core.orders import OrderType, Side
from quant.execution.orderpath import UNKNOWN_RETRY_NS, OrderPath, S
from quant.trading.client_ids import client_order_id
from quant.trading.errors import TradingError
from quant.trading.intent import OrderIntent, Product
from quant.trading.order import Order
from quant.trading.positions import Position
from quant.trading.risk import ist_date
from quant.trading.squareoff import SQUARE_OFF_TAG
from quant.trading.state import ACCOUNT, Command, EffectKind, TradingStates, scope_key

log = logging.getLogger(__name__)

#: ``OrderEvent.reason`` of the orders the engine makes itself
FLATTEN = "FLATTEN"
SQUARE_OFF = "SQUARE_OFF"
CLOSING_REASONS = frozenset({FLATTEN, SQUARE_OFF})
#: after the day's square-off, how often intraday positions left open are closed again
SWEEP_NS = 5 * NS_PER_SECOND


def command_of(switch: KillSwitch) -> Command:
    """The trading-state command a kill switch message stands for."""
    if not switch.engaged:
        return Command.RESUME
    return Command.FLATTEN if switch.flatten else Command.HALT


def scope_of(switch: KillSwitch) -> str:
    """``ACCOUNT`` ("") or the strategy the kill switch is for."""
    return switch.strategy or ACCOUNT


def in_scope(strategy: str, scope: str) -> bool:
    return scope == ACCOUNT or strategy == scope


def closing_intent(position: Position, tag: str = "") -> OrderIntent:
    """A MARKET DAY order closing all of ``position`` (which must not be flat)."""
    k = position.key
    return OrderIntent(
        k.strategy,
        k.instrument_key,
        Side.SELL if position.net_quantity > 0 else Side.BUY,
        abs(position.net_quantity),
        OrderType.MARKET,
        k.product,
        tag=tag,
    )


def still_to_close(intent: OrderIntent, working_closers: Iterable[Order]) -> OrderIntent | None:
    """``intent`` less what working closing orders of its position and side still close;
    ``None`` if nothing is left."""
    i = intent
    pending = sum(
        o.remaining_quantity
        for o in working_closers
        if not o.is_terminal
        and (o.intent.strategy, o.intent.instrument_key, o.intent.product, o.intent.side)
        == (i.strategy, i.instrument_key, i.product, i.side)
    )
    left = i.quantity - pending
    return dataclasses.replace(i, quantity=left) if left > 0 else None


class Controls(OrderPath):
    """The kill switch, the daily-loss limit, the MIS square-off and the timer (``on_time``)
    on top of the order path."""

    _last_sweep: int = 0

    # --- controls (kill switch, daily loss, square-off), time -------------------------------

    async def on_kill_switch(self, command: KillSwitch) -> None:
        """Apply a kill switch command from ``control.commands``; the same message again
        (same scope, switch and ``ts_event``) changes nothing."""
        scope = scope_of(command)
        seen = (command.engaged, command.flatten, command.ts_event)
        if self._kills.get(scope) == seen:
            return
        self._kills[scope] = seen
        now = self._clock.now_ns()
        cmd = command_of(command)
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

    def _report_pnl(self) -> None:
        pnl = self.pnl()
        self._metrics.pnl(pnl.realised, pnl.unrealised, pnl.charges)

    def _report_state(self, scope: str) -> None:
        name = "account" if scope == ACCOUNT else scope
        self._metrics.trading_state(name, int(self._states.of(scope).state))

    async def _cancel_scope(self, scope: str) -> None:
        for cid, order in list(self._b.orders.items()):
            if order.is_terminal or order.status is S.CANCEL_PENDING:
                continue
            if not in_scope(order.intent.strategy, scope):
                continue
            if self._b.info[cid].reason in CLOSING_REASONS:
                continue
            try:
                await self.cancel(cid)
            except TradingError as e:
                log.warning("kill switch: cancel of %s: %s", cid, e)

    async def _close_positions(self, scope: str, product: Product | None, reason: str) -> None:
        closers = [
            o
            for cid, o in self._b.orders.items()
            if not o.is_terminal and self._b.info[cid].reason in CLOSING_REASONS
        ]
        tag = SQUARE_OFF_TAG if reason == SQUARE_OFF else ""
        closing = [
            p for p in self._b.book.open_positions(product) if in_scope(p.key.strategy, scope)
        ]
        await self.prefetch_quotes(p.key.instrument_key for p in closing)  # tickless: REST
        for p in closing:
            intent = still_to_close(closing_intent(p, tag), closers)
            if intent is None:
                continue
            now = self._clock.now_ns()
            day = ist_date(now)
            sequence = self._next_sequence(intent.strategy, day)
            self._use_sequence(intent.strategy, day, sequence)
            base = client_order_id(intent.strategy, day, sequence)
            sub = await self._submit(intent, base, now, reason=reason)
            if sub.rejected is not None:
                k = p.key
                log.error(
                    "%s of %s's position in %s (%s) not sent: %s",
                    reason,
                    k.strategy,
                    k.instrument_key,
                    k.product.value,
                    sub.rejected.message,
                )

    async def _flatten(self, scope: str) -> None:
        await self._close_positions(scope, None, FLATTEN)

    async def on_time(self) -> None:
        """Call about every 100 ms: sends queued orders whose slot has come, retries held
        cancels, resolves placements of unknown outcome by tag, retries failed REST quote
        requests (circuit limits), applies the daily-loss limit and runs the MIS
        square-off."""
        if not self.ready:
            return
        now = self._clock.now_ns()
        while self._queue and self._queue[0][0] <= now:
            _, kind, cid = self._queue.popleft()
            if kind == "place":
                await self._send(cid)
            elif kind == "modify":
                await self._send_modify(cid)
            else:
                await self._send_cancel(cid)
        self._metrics.queue_depth(len(self._queue))
        for cid in list(self._cancel_retry):
            self._cancel_retry.discard(cid)
            await self._dispatch_cancel(cid)
        await self._resolve_unknown(now)
        if self._ref_quotes is not None:
            self._ref_quotes.retry_due()
        self._check_daily_loss(now)
        self._report_pnl()
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
        """The day's square-off once, then a sweep every ``SWEEP_NS`` until the close: an
        intraday position opened or left after it (a cancelled order's late fill, a closing
        order refused) is closed too; positions already being closed are left alone."""
        assert self._square_off is not None
        working = [o for o in self._b.orders.values() if not o.is_terminal]
        plan = self._square_off.check(now, self._b.book.open_positions(Product.INTRADAY), working)
        if plan is None:
            day = ist_date(now)
            window = self._square_off.square_off_at(day)
            if (
                self._square_off.done_for == day
                and window is not None
                and window[0] <= now < window[1]
                and now - self._last_sweep >= SWEEP_NS
            ):
                self._last_sweep = now
                await self._close_positions(ACCOUNT, Product.INTRADAY, SQUARE_OFF)
            return
        self._last_sweep = now
        log.warning("MIS square-off for %s: %d cancels", plan.day, len(plan.cancel))
        for cid in plan.cancel:
            if self._b.info[cid].reason in CLOSING_REASONS:
                continue
            try:
                await self.cancel(cid)
            except TradingError as e:
                log.warning("square-off: cancel of %s: %s", cid, e)
        await self._close_positions(ACCOUNT, Product.INTRADAY, SQUARE_OFF)
