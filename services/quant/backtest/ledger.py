"""The backtest's books: fills, charges, round-trip trades and daily equity from order events.

``Ledger.on_event`` takes every ``OrderEvent`` the execution engine journals (the same
stream as ``orders.events``) and derives the fills the way the engine's books do: the
increase of an order's cumulative ``filled_quantity`` / ``filled_value``. Each fill is
priced with ``quant.trading.charges.DayCharges`` (one contract note per IST day, as the
engine does), moves the cash (``capital`` - buys + sells - charges) and the position of
(strategy, instrument, product), and opens, extends, closes or flips a round trip
(``quant.analytics.performance.TradeRecord``: a position from flat back to flat). The
equity of a day is the cash plus every position at its last price, taken at the end of
each IST day the replay went through (``close_day``). Money is integer paise throughout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from quant.analytics.performance import EquityPoint, TradeRecord
from quant.core.instruments import Instrument
from quant.core.orders import OrderEvent, Side
from quant.trading import charges as fees
from quant.trading.errors import TradingError
from quant.trading.risk import ist_date

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FillRow:
    """One execution as the backtest saw it (paise, UTC ns)."""

    ts: int
    strategy: str
    client_order_id: str
    instrument_key: str
    product: str
    side: Side
    quantity: int
    value: int
    charges: int


@dataclass(slots=True)
class _Open:
    """A round trip in progress: what was entered and what was exited so far."""

    side: Side
    open_quantity: int
    entry_ts: int
    entry_quantity: int = 0
    entry_value: int = 0
    exit_quantity: int = 0
    exit_value: int = 0
    exit_ts: int = 0
    charges: int = 0


def _div_round(a: int, b: int) -> int:
    return (2 * a + b) // (2 * b)


class Ledger:
    """Fills, charges, positions, round trips and daily equity; see the module docstring."""

    def __init__(
        self,
        capital: int,
        instruments: Callable[[str], Instrument | None],
        symbols: Callable[[str], str] = lambda key: "",
    ) -> None:
        self.capital = capital
        self.cash = capital
        self._instruments = instruments
        self._symbols = symbols
        self._filled: dict[str, tuple[int, int]] = {}
        self._notes: dict[date, fees.DayCharges] = {}
        self.positions: dict[tuple[str, str, str], int] = {}
        self._open: dict[tuple[str, str, str], _Open] = {}
        self.fills: list[FillRow] = []
        self.trades: list[TradeRecord] = []
        self.equity: list[EquityPoint] = []
        self.charges = 0
        self.marks: dict[str, int] = {}

    def on_event(self, e: OrderEvent) -> None:
        """One journaled order state change (any order, any status)."""
        before_q, before_v = self._filled.get(e.client_order_id, (0, 0))
        quantity = e.filled_quantity - before_q
        if quantity <= 0:
            return
        value = e.filled_value - before_v
        self._filled[e.client_order_id] = (e.filled_quantity, e.filled_value)
        charge = self._charges_of(e, quantity, value)
        self.charges += charge
        self.cash += (value if e.side is Side.SELL else -value) - charge
        fill = FillRow(
            e.ts_event,
            e.strategy,
            e.client_order_id,
            e.instrument_key,
            e.product,
            e.side,
            quantity,
            value,
            charge,
        )
        self.fills.append(fill)
        self._book(fill)

    def mark(self, instrument_key: str, price: int) -> None:
        """The instrument's last price (paise), for the end-of-day equity."""
        if price > 0:
            self.marks[instrument_key] = price

    def close_day(self, day: date) -> None:
        """Record ``day``'s closing equity (cash + positions at their last prices)."""
        held = 0
        for (_, key, _), quantity in sorted(self.positions.items()):
            if quantity:
                held += quantity * self.marks.get(key, 0)
        point = EquityPoint(day, self.cash + held)
        if self.equity and self.equity[-1].day == day:
            self.equity[-1] = point
        elif not self.equity or self.equity[-1].day < day:
            self.equity.append(point)

    def held_instruments(self) -> set[str]:
        """Instruments with a position that is not flat."""
        return {key for (_, key, _), quantity in self.positions.items() if quantity}

    def open_trades(self) -> int:
        """Round trips still open (positions not flat)."""
        return len(self._open)

    def close_open(self, ts: int) -> list[TradeRecord]:
        """The round trips still open, closed at ``ts`` at their instrument's last price
        (no charges: nothing was sold), for the report at the end of a run."""
        out = []
        for (_, key, _), rt in sorted(self._open.items()):
            mark = self.marks.get(key, _div_round(rt.entry_value, rt.entry_quantity))
            rt.exit_value += mark * rt.open_quantity
            rt.exit_quantity += rt.open_quantity
            rt.exit_ts = ts
            rt.open_quantity = 0
            out.append(self._round_trip(key, rt))
        return out

    # --- internals ------------------------------------------------------------------------

    def _charges_of(self, e: OrderEvent, quantity: int, value: int) -> int:
        inst = self._instruments(e.instrument_key)
        if inst is None:
            log.warning("no instrument %s: charges of %s left at 0", e.instrument_key, e)
            return 0
        day = ist_date(e.ts_event)
        notes = self._notes.get(day)
        if notes is None:
            notes = self._notes[day] = fees.DayCharges(day)
        try:
            return notes.add(
                fees.Fill(
                    e.instrument_key,
                    inst.instrument_type,
                    e.product,
                    e.side,
                    quantity,
                    _div_round(value, quantity),
                    day,
                    e.client_order_id,
                    fees.rate_class_for(inst),
                )
            ).total
        except (fees.ChargesError, TradingError, ValueError) as err:
            log.warning("charges of a fill of %s not computed: %s", e.client_order_id, err)
            return 0

    def _book(self, f: FillRow) -> None:
        pk = (f.strategy, f.instrument_key, f.product)
        signed = f.quantity if f.side is Side.BUY else -f.quantity
        self.positions[pk] = self.positions.get(pk, 0) + signed
        quantity, value, charge = f.quantity, f.value, f.charges
        while quantity:
            rt = self._open.get(pk)
            if rt is None:
                self._open[pk] = _Open(f.side, quantity, f.ts, quantity, value, charges=charge)
                return
            if rt.side is f.side:  # adding to the position
                rt.open_quantity += quantity
                rt.entry_quantity += quantity
                rt.entry_value += value
                rt.charges += charge
                return
            closing = min(quantity, rt.open_quantity)
            part_value = value if closing == quantity else value * closing // quantity
            part_charge = charge if closing == quantity else charge * closing // quantity
            rt.open_quantity -= closing
            rt.exit_quantity += closing
            rt.exit_value += part_value
            rt.exit_ts = f.ts
            rt.charges += part_charge
            quantity, value, charge = (
                quantity - closing,
                value - part_value,
                charge - part_charge,
            )
            if rt.open_quantity == 0:
                del self._open[pk]
                self.trades.append(self._round_trip(f.instrument_key, rt))

    def _round_trip(self, key: str, rt: _Open) -> TradeRecord:
        gross = rt.exit_value - rt.entry_value
        if rt.side is Side.SELL:
            gross = -gross
        return TradeRecord(
            instrument_key=key,
            side=rt.side,
            quantity=rt.entry_quantity,
            entry_ts=rt.entry_ts,
            exit_ts=rt.exit_ts,
            entry_price=_div_round(rt.entry_value, rt.entry_quantity),
            exit_price=_div_round(rt.exit_value, rt.exit_quantity),
            gross_pnl=gross,
            charges=rt.charges,
            symbol=self._symbols(key),
        )
