"""Pure helpers of the engine's controls: kill switch commands and closing orders.

A ``KillSwitch`` on ``control.commands`` is state, keyed by scope (the account, or one
strategy): ``engaged`` with ``flatten`` is FLATTEN (halt, cancel, close every position),
``engaged`` alone HALT, not engaged RESUME (``quant.trading.state.Command``). The engine
makes the closing orders of a FLATTEN and of the MIS square-off itself: one marketable
order per open position, for the position's own strategy and product, for what is not
already being closed by a working closing order of the same kind (so a command replayed
after a restart, or a square-off after a flatten, does not close a position twice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from quant.core.control import KillSwitch
from quant.core.orders import OrderType, Side
from quant.trading.intent import OrderIntent
from quant.trading.order import Order
from quant.trading.positions import Position
from quant.trading.state import ACCOUNT, Command

#: ``OrderEvent.reason`` of the orders the engine makes itself
FLATTEN = "FLATTEN"
SQUARE_OFF = "SQUARE_OFF"
CLOSING_REASONS = frozenset({FLATTEN, SQUARE_OFF})


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
