"""Trading state per account and per strategy: ACTIVE, REDUCING or HALTED, as a pure machine.

- **ACTIVE**: any order that passes the other risk rules may go.
- **REDUCING**: only *position-reducing* orders (below) may go.
- **HALTED**: no new order at all; the service cancels the scope's working orders (and, on
  *halt and flatten*, closes its positions with marketable orders it places itself).

The account has one state and each strategy its own; the state that applies to an intent
is the stricter of its strategy's and the account's (``TradingStates.effective``). States
change only by an explicit ``Command`` (``HALT``, ``FLATTEN`` = halt and flatten,
``REDUCE``, ``RESUME``) or by the daily-loss limit (``on_daily_loss``: ACTIVE -> REDUCING,
never out of HALTED). Nothing resumes by itself: only ``RESUME`` makes a scope ACTIVE.
Each change returns ``Effect``s (cancel the scope's working orders, flatten its positions)
for the service to carry out; applying the same command twice changes nothing the second
time and returns no effect, so commands replayed from a compacted topic are harmless.

**Position-reducing** (``is_position_reducing``), for a scope (the account, or one strategy)
and the intent's instrument and product: the scope holds a non-zero net position, the
intent's side is opposite to it, and the intent's quantity plus the quantity still to fill
of the scope's working orders on the same side (same instrument and product) is at most
the position's size. So even if every such order fills, the position only shrinks toward
zero: it never grows and never flips. Under Upstox, intraday (``I``) and delivery (``D``)
positions are separate, so a SELL under ``D`` does not reduce an ``I`` long.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from types import MappingProxyType

from quant.core.orders import Side
from quant.trading.intent import OrderIntent

ACCOUNT = ""  # the scope name of the account (strategy names are never empty)


class TradingState(IntEnum):
    """Ordered by strictness: a larger value restricts more."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


class Command(StrEnum):
    HALT = "halt"
    FLATTEN = "flatten"  # halt, then close every position of the scope
    REDUCE = "reduce"
    RESUME = "resume"


class EffectKind(StrEnum):
    CANCEL_WORKING_ORDERS = "cancel_working_orders"
    FLATTEN_POSITIONS = "flatten_positions"


@dataclass(frozen=True, slots=True)
class Effect:
    """Something the service must do after a state change, for a scope (``ACCOUNT`` or a
    strategy name)."""

    kind: EffectKind
    scope: str


@dataclass(frozen=True, slots=True)
class ScopeState:
    """One scope's state, why it is in it (a person's words) and since when (UTC ns)."""

    state: TradingState = TradingState.ACTIVE
    reason: str = ""
    since_ns: int = 0


_COMMAND_STATE = {
    Command.HALT: TradingState.HALTED,
    Command.FLATTEN: TradingState.HALTED,
    Command.REDUCE: TradingState.REDUCING,
    Command.RESUME: TradingState.ACTIVE,
}


def scope_key(scope: str) -> str:
    """The key a command for ``scope`` is stored under (e.g. on a compacted topic)."""
    return "account" if scope == ACCOUNT else f"strategy:{scope}"


@dataclass(frozen=True, slots=True)
class TradingStates:
    """The account's state and every strategy's that is not plainly ACTIVE."""

    account: ScopeState = ScopeState()
    strategies: Mapping[str, ScopeState] = field(default_factory=lambda: MappingProxyType({}))

    def of(self, scope: str) -> ScopeState:
        if scope == ACCOUNT:
            return self.account
        return self.strategies.get(scope, ScopeState())

    def effective(self, strategy: str) -> TradingState:
        """The state that applies to ``strategy``'s orders: the stricter of the two."""
        return max(self.account.state, self.of(strategy).state)

    def _with(self, scope: str, new: ScopeState) -> TradingStates:
        if scope == ACCOUNT:
            return dataclasses.replace(self, account=new)
        strategies = dict(self.strategies)
        if new.state is TradingState.ACTIVE:
            strategies.pop(scope, None)
        else:
            strategies[scope] = new
        return dataclasses.replace(self, strategies=MappingProxyType(strategies))

    def apply(
        self, command: Command, scope: str, ts_ns: int, reason: str = ""
    ) -> tuple[TradingStates, tuple[Effect, ...]]:
        """The states after ``command`` for ``scope``, and what the service must do.

        HALT / FLATTEN cancel the scope's working orders (FLATTEN then closes its positions,
        also when the scope was already halted); REDUCE and RESUME change the state only.
        A command that changes nothing returns the same states and no effect.
        """
        target = _COMMAND_STATE[Command(command)]
        current = self.of(scope)
        effects: tuple[Effect, ...] = ()
        if target is TradingState.HALTED and current.state is not TradingState.HALTED:
            effects = (Effect(EffectKind.CANCEL_WORKING_ORDERS, scope),)
        if command is Command.FLATTEN:
            effects = (*effects, Effect(EffectKind.FLATTEN_POSITIONS, scope))
        if target is current.state:
            return self, effects
        who = "the account" if scope == ACCOUNT else f"strategy {scope}"
        text = reason or f"{command.value} command for {who}"
        return self._with(scope, ScopeState(target, text, ts_ns)), effects

    def on_daily_loss(
        self, scope: str, loss: int, limit: int, ts_ns: int
    ) -> tuple[TradingStates, tuple[Effect, ...]]:
        """Switch an ACTIVE scope to REDUCING once its day's ``loss`` (paise) reaches ``limit``.

        A limit of 0 is no limit. A scope already REDUCING or HALTED is left as it is; a
        scope never goes back to ACTIVE here, however the P&L moves.
        """
        current = self.of(scope)
        if not limit or loss < limit or current.state is not TradingState.ACTIVE:
            return self, ()
        reason = f"daily loss {loss} paise reached the limit of {limit} paise"
        return self._with(scope, ScopeState(TradingState.REDUCING, reason, ts_ns)), ()


def is_position_reducing(intent: OrderIntent, net_quantity: int, working_same_side: int) -> bool:
    """Whether ``intent`` reduces a scope's position; see the module docstring.

    ``net_quantity``: the scope's net units in the intent's instrument and product;
    ``working_same_side``: units still to fill of the scope's working orders on the intent's
    side in that instrument and product.
    """
    if net_quantity == 0:
        return False
    opposite = Side.SELL if net_quantity > 0 else Side.BUY
    return intent.side is opposite and intent.quantity + working_same_side <= abs(net_quantity)
