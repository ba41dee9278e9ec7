"""``StrategyContext``: everything a strategy's callbacks may read and the only way they act.

One context per strategy, made by the host and passed to every callback. It gives:

- time: ``clock`` (the injected ``quant.core.clock.Clock``; simulated in a backtest),
  ``now_ns``, ``now_ist()``, ``today``; timers ``at`` (IST time of day) and ``every``;
- market state: ``instrument(key)`` (last tick, enriched tick, bars, last price) and
  ``last_price(key)``; what to receive: ``subscribe`` (instruments) and ``subscribe_bars``;
- reference data: ``instrument_master`` (the host's ``InstrumentIndex``: an instrument's
  lot and tick size, option chains with their expiries and strikes);
- its own orders and positions: ``open_orders``, ``position``, ``positions``, ``pnl``;
- ``params`` (the validated ``Params`` model), ``state`` (a small persistent dict of JSON
  values), ``log`` (a logger named ``quant.strategies.<id>``);
- order helpers ``market``, ``limit``, ``stop``, ``cancel``, ``cancel_all``,
  ``close_position``. They only emit commands (``IntentMessage`` / ``CancelRequest``, see
  ``commands``), tagged with the strategy's id; the host hands them out with its algo name.
  Each placed intent gets the strategy's next sequence number of the IST day, and the helper
  returns the client order id the execution service will give it
  (``quant.trading.client_ids``: prefix of the strategy id, day, sequence).

Money is integer paise; quantities are units (shares or contracts, not lots). Intents are
validated when made: a bad one raises ``InvalidIntent`` from the helper (so the callback
raises and the strategy stops, with the reason recorded).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from quant.core.clock import IST, Clock, ns_to_datetime
from quant.core.orders import OrderType, Side
from quant.core.symbols import InstrumentIndex
from quant.trading.client_ids import MAX_SEQUENCE, client_order_id
from quant.trading.errors import InvalidIntent
from quant.trading.intent import IntentMessage, OrderIntent, Product, Validity
from quant.trading.positions import Position
from quant.trading.risk import ist_date
from quant.trading.strategy.base import StrategyParams
from quant.trading.strategy.commands import CancelRequest, Command
from quant.trading.strategy.market import InstrumentState, MarketState
from quant.trading.strategy.own_orders import OpenOrder, OwnOrders, Pnl
from quant.trading.strategy.state import State
from quant.trading.strategy.timers import Timers

if TYPE_CHECKING:
    from quant.trading.strategy.host import StrategyHost


def _side(side: Side | str) -> Side:
    if isinstance(side, Side):
        return side
    try:
        return Side[str(side).upper()]
    except KeyError:
        raise InvalidIntent(
            f"side must be Side.BUY, Side.SELL, 'BUY' or 'SELL', got {side!r}"
        ) from None


class StrategyContext:
    """The context of one strategy; see the module docstring."""

    def __init__(
        self,
        *,
        strategy_id: str,
        algo_name: str,
        clock: Clock,
        market: MarketState,
        params: StrategyParams,
        state: State,
        orders: OwnOrders,
        timers: Timers,
        owner: int,
        host: StrategyHost,
    ) -> None:
        self.strategy_id = strategy_id
        self.algo_name = algo_name
        self.clock = clock
        self.params = params
        self.state = state
        self.log = logging.getLogger(f"quant.strategies.{strategy_id}")
        self._market = market
        self._orders = orders
        self._timers = timers
        self._owner = owner
        self._host = host
        self._instruments: set[str] = set()
        self._bar_minutes: set[int] = set()
        self._staged: list[Command] = []
        self._used: dict[date, int] = {}  # per IST day: the highest sequence used
        self._seq_day: date | None = None
        self._seq = 0

    # --- time ---------------------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """The injected clock's time, UTC ns."""
        return self.clock.now_ns()

    def now_ist(self) -> datetime:
        """The clock's time as an aware IST datetime."""
        return ns_to_datetime(self.clock.now_ns(), IST)

    @property
    def today(self) -> date:
        """The IST date of the clock's time."""
        return ist_date(self.clock.now_ns())

    def at(self, name: str, when: time | str) -> int:
        """Call ``on_timer`` every day at IST time ``when`` (``"15:10"``); returns the first
        due time. Setting ``name`` again replaces it."""
        due = self._timers.at(self._owner, name, when, self.clock.now_ns())
        self._host._timer_set(due)
        return due

    def every(self, name: str, seconds: float) -> int:
        """Call ``on_timer`` every ``seconds``, from now; returns the first due time."""
        due = self._timers.every(self._owner, name, seconds, self.clock.now_ns())
        self._host._timer_set(due)
        return due

    def cancel_timer(self, name: str) -> bool:
        """Stop timer ``name``; False if there was none."""
        return self._timers.cancel(self._owner, name)

    # --- market data --------------------------------------------------------------------------

    def subscribe(self, *instrument_keys: str) -> None:
        """Receive ticks, enriched ticks and bars of these instruments only (adds to the
        set). Without any subscription a strategy receives every instrument's."""
        for key in instrument_keys:
            if not isinstance(key, str) or "|" not in key:
                raise ValueError(f"{key!r} is not an instrument key like NSE_EQ|INE002A01018")
        self._instruments.update(instrument_keys)

    def subscribe_bars(self, minutes: int) -> None:
        """Receive ``on_bar`` with closed ``minutes``-minute bars (1 = the 1-minute candles),
        IST-aligned from the 09:15 open, for the subscribed instruments."""
        self._host._bars_for(minutes)
        self._bar_minutes.add(minutes)

    @property
    def instruments(self) -> frozenset[str]:
        """The subscribed instruments (empty: all)."""
        return frozenset(self._instruments)

    def instrument(self, instrument_key: str) -> InstrumentState | None:
        """The latest state of an instrument the host has seen, or None."""
        return self._market.get(instrument_key)

    def last_price(self, instrument_key: str) -> int:
        """The instrument's last price in paise; 0 if none seen yet."""
        s = self._market.get(instrument_key)
        return s.last_price if s is not None else 0

    @property
    def instrument_master(self) -> InstrumentIndex:
        """The instrument master the host was given (empty if none): ``get(key)`` for an
        instrument's lot size, tick size, expiry and strike, ``resolve(symbol)``,
        ``option_chain(underlying_key)`` (nearest expiry first, then strike, CE before PE)."""
        return self._host.instruments

    # --- own orders and positions ----------------------------------------------------------

    def open_orders(self, instrument_key: str | None = None) -> list[OpenOrder]:
        """The strategy's orders that are not final (just-emitted ones as PENDING_NEW)."""
        return self._orders.open_orders(instrument_key)

    def position(self, instrument_key: str, product: Product = Product.INTRADAY) -> Position:
        """The strategy's position in an instrument and product (flat if none)."""
        return self._orders.position(instrument_key, product)

    def positions(self) -> list[Position]:
        """The strategy's positions that are not flat."""
        return self._orders.positions()

    def pnl(self, marks: Mapping[str, int] | None = None) -> Pnl:
        """Realised and unrealised P&L in paise, before charges; marks default to the last
        prices."""
        return self._orders.pnl(self._market.last_prices() if marks is None else marks)

    # --- order helpers --------------------------------------------------------------------------

    def market(
        self,
        instrument_key: str,
        side: Side | str,
        quantity: int,
        *,
        product: Product = Product.INTRADAY,
        validity: Validity = Validity.DAY,
        tag: str = "",
    ) -> str:
        """Place a MARKET order; returns its client order id."""
        return self._place(
            instrument_key, side, quantity, OrderType.MARKET, product, 0, 0, validity, tag
        )

    def limit(
        self,
        instrument_key: str,
        side: Side | str,
        quantity: int,
        price: int,
        *,
        product: Product = Product.INTRADAY,
        validity: Validity = Validity.DAY,
        tag: str = "",
    ) -> str:
        """Place a LIMIT order at ``price`` paise; returns its client order id."""
        return self._place(
            instrument_key, side, quantity, OrderType.LIMIT, product, price, 0, validity, tag
        )

    def stop(
        self,
        instrument_key: str,
        side: Side | str,
        quantity: int,
        trigger_price: int,
        *,
        price: int = 0,
        product: Product = Product.INTRADAY,
        validity: Validity = Validity.DAY,
        tag: str = "",
    ) -> str:
        """Place a stop order triggered at ``trigger_price`` paise: SL-M (market when
        triggered) without ``price``, SL (limit at ``price``) with it."""
        order_type = OrderType.SL if price else OrderType.SL_M
        return self._place(
            instrument_key, side, quantity, order_type, product, price, trigger_price, validity, tag
        )

    def cancel(self, client_order_id: str) -> bool:
        """Ask to cancel one of the strategy's open orders; False (nothing emitted) if it is
        not open (already final, or not the strategy's)."""
        if not self._orders.is_open(client_order_id):
            return False
        self._staged.append(CancelRequest(self.strategy_id, client_order_id, self.now_ns))
        return True

    def cancel_all(self, instrument_key: str | None = None) -> int:
        """Ask to cancel every open order (of one instrument); returns how many."""
        orders = self._orders.open_orders(instrument_key)
        return sum(self.cancel(o.client_order_id) for o in orders)

    def close_position(
        self, instrument_key: str, *, product: Product = Product.INTRADAY, tag: str = ""
    ) -> str | None:
        """Flatten the position with a MARKET order; returns its client order id, or None if
        there is nothing to close. Open orders on the closing side (a close already on its
        way) count as closing, so calling it again does not flip the position."""
        net = self._orders.position(instrument_key, product).net_quantity
        if not net:
            return None
        side = Side.SELL if net > 0 else Side.BUY
        closing = sum(
            o.remaining_quantity
            for o in self._orders.open_orders(instrument_key)
            if o.side is side and o.product is product
        )
        quantity = abs(net) - closing
        if quantity <= 0:
            return None
        return self._place(
            instrument_key, side, quantity, OrderType.MARKET, product, 0, 0, Validity.DAY, tag
        )

    def _place(
        self,
        instrument_key: str,
        side: Side | str,
        quantity: int,
        order_type: OrderType,
        product: Product,
        price: int,
        trigger_price: int,
        validity: Validity,
        tag: str,
    ) -> str:
        intent = OrderIntent(
            self.strategy_id,
            instrument_key,
            _side(side),
            quantity,
            order_type,
            product,
            price=price,
            trigger_price=trigger_price,
            validity=validity,
            tag=tag,
        )
        now = self.clock.now_ns()
        day = ist_date(now)
        if day != self._seq_day:
            self._seq_day, self._seq = day, self._used.get(day, 0)
        if self._seq >= MAX_SEQUENCE:
            raise InvalidIntent(
                f"strategy {self.strategy_id!r} has used all {MAX_SEQUENCE} order ids for {day}"
            )
        self._seq += 1
        self._used[day] = self._seq
        cid = client_order_id(self.strategy_id, day, self._seq)
        self._staged.append(IntentMessage(intent, self._seq, now))
        self._orders.pending(cid, intent, now)
        return cid
