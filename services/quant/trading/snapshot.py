"""The immutable market and account snapshot a pre-trade risk check is taken against.

The execution service builds one ``RiskSnapshot`` per intent from what it holds (the
instrument master row, the latest quote, its position book, its working orders, the day's
P&L and the trading states) and its injected clock's ``now_ns``; ``quant.trading.risk.check``
is then a pure function of (intent, snapshot, limits). Everything is integer paise and
units. Only what concerns the intent's instrument is listed per position / order, except
``working_orders``, which is the whole account's (its length is the open-order count).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar
from quant.core.instruments import Instrument
from quant.core.orders import Side
from quant.trading.intent import Product
from quant.trading.state import TradingState


@dataclass(frozen=True, slots=True)
class Quote:
    """The instrument's latest quote; a price of 0 means "not known" (no trade, empty side).

    ``upper_circuit`` / ``lower_circuit`` are the exchange price band of the day (Upstox
    ``upper_circuit_limit`` / ``lower_circuit_limit``); 0 when the exchange publishes none.
    """

    ltp: int
    best_bid: int = 0
    best_ask: int = 0
    upper_circuit: int = 0
    lower_circuit: int = 0
    ts_event: int = 0


@dataclass(frozen=True, slots=True)
class PositionView:
    """One (strategy, product) position in the snapshot's instrument."""

    strategy: str
    product: Product
    net_quantity: int


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """One working (not terminal) order of the account: what is still to fill."""

    strategy: str
    instrument_key: str
    product: Product
    side: Side
    remaining_quantity: int


@dataclass(frozen=True, slots=True)
class DayPnl:
    """The day's P&L of the account or a strategy, paise."""

    realised: int = 0
    unrealised: int = 0
    charges: int = 0

    @property
    def net(self) -> int:
        """Realised + unrealised - charges (negative is a loss)."""
        return self.realised + self.unrealised - self.charges

    @property
    def loss(self) -> int:
        """The loss as a positive number (0 when in profit)."""
        return max(0, -self.net)


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """Everything a risk check needs besides the intent and the limits; see the module doc."""

    now_ns: int
    instrument: Instrument | None
    quote: Quote | None
    positions: tuple[PositionView, ...] = ()
    working_orders: tuple[WorkingOrder, ...] = ()
    account_pnl: DayPnl = DayPnl()
    strategy_pnl: DayPnl = DayPnl()
    #: gross notional (|net| x mark, paise) of the strategy in every *other* instrument
    strategy_other_exposure: int = 0
    account_state: TradingState = TradingState.ACTIVE
    strategy_state: TradingState = TradingState.ACTIVE
    calendar: ExchangeCalendar = field(default=NSE_CALENDAR)

    def net_quantity(self, strategy: str | None = None, product: Product | None = None) -> int:
        """Net units in the instrument, of one strategy and/or product or all of them."""
        return sum(
            p.net_quantity
            for p in self.positions
            if strategy in (None, p.strategy) and product in (None, p.product)
        )

    def working_quantity(
        self,
        instrument_key: str,
        side: Side,
        strategy: str | None = None,
        product: Product | None = None,
    ) -> int:
        """Units still to fill on ``side`` in the instrument (of a strategy/product, or all)."""
        return sum(
            o.remaining_quantity
            for o in self.working_orders
            if o.instrument_key == instrument_key
            and o.side is side
            and strategy in (None, o.strategy)
            and product in (None, o.product)
        )
