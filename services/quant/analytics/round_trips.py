"""Fills grouped into round trips (flat -> position -> flat) for the performance report.

A round trip in one instrument starts with the fill that takes its position away from
zero and ends with the fill that brings it back to zero; fills that add to or reduce the
position in between belong to it. A fill that crosses zero (long 10, sell 15) closes the
trade with the part it needs and opens the next one with the rest; its charges are split
in proportion to the quantity (the closing part gets the rounding remainder).

Per trade: ``quantity`` = the total quantity bought on the entry side, ``entry_price`` /
``exit_price`` = the quantity-weighted averages of the entry-side and exit-side fills,
rounded to the paisa; ``gross_pnl`` = exit-side value - entry-side value for a long
(the reverse for a short), exact; ``charges`` = the sum of its fills' (parts of) charges.
Pure; called by the backtest to turn its fills into :class:`TradeRecord` rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from quant.analytics.performance import TradeRecord, round_div
from quant.core.orders import Side


class FillRecord(NamedTuple):
    """One execution: side, quantity (> 0), price and charges in paise, time in UTC ns."""

    instrument_key: str
    side: Side
    quantity: int
    price: int
    ts: int
    charges: int = 0
    symbol: str = ""


class _Open:
    """The round trip being built in one instrument."""

    def __init__(self, fill: FillRecord) -> None:
        self.first = fill
        self.position = 0  # signed: > 0 long
        self.entry_qty = self.entry_value = 0
        self.exit_qty = self.exit_value = 0
        self.charges = 0

    def add(self, side: Side, qty: int, price: int, charges: int) -> None:
        sign = 1 if side is Side.BUY else -1
        if side is self.first.side:
            self.entry_qty += qty
            self.entry_value += qty * price
        else:
            self.exit_qty += qty
            self.exit_value += qty * price
        self.position += sign * qty
        self.charges += charges

    def close(self, exit_fill: FillRecord) -> TradeRecord:
        long = self.first.side is Side.BUY
        gross = self.exit_value - self.entry_value if long else self.entry_value - self.exit_value
        return TradeRecord(
            instrument_key=self.first.instrument_key,
            side=self.first.side,
            quantity=self.entry_qty,
            entry_ts=self.first.ts,
            exit_ts=exit_fill.ts,
            entry_price=round_div(self.entry_value, self.entry_qty),
            exit_price=round_div(self.exit_value, self.exit_qty),
            gross_pnl=gross,
            charges=self.charges,
            symbol=self.first.symbol,
        )


class RoundTrips(NamedTuple):
    """Closed trades (in the order they closed) and the quantity still open per instrument."""

    trades: list[TradeRecord]
    open_positions: dict[str, int]


def round_trips(fills: Iterable[FillRecord]) -> RoundTrips:
    """Group time-ordered fills into round trips; see the module docstring for the rules."""
    trades: list[TradeRecord] = []
    book: dict[str, _Open] = {}
    last_ts: int | None = None
    for f in fills:
        if f.quantity <= 0 or f.price < 0 or f.charges < 0:
            raise ValueError(f"bad fill in {f.instrument_key}: {f}")
        if last_ts is not None and f.ts < last_ts:
            raise ValueError(f"fills must be in time order: {f.ts} after {last_ts}")
        last_ts = f.ts
        trade = book.get(f.instrument_key)
        if trade is None:
            trade = book[f.instrument_key] = _Open(f)
        closing = 0 if f.side is trade.first.side else min(f.quantity, abs(trade.position))
        if closing == 0:
            trade.add(f.side, f.quantity, f.price, f.charges)
            continue
        rest = f.quantity - closing
        rest_charges = f.charges * rest // f.quantity
        trade.add(f.side, closing, f.price, f.charges - rest_charges)
        if trade.position == 0:
            trades.append(trade.close(f))
            del book[f.instrument_key]
        if rest:
            opened = book[f.instrument_key] = _Open(f._replace(quantity=rest))
            opened.add(f.side, rest, f.price, rest_charges)
    return RoundTrips(trades, {k: t.position for k, t in sorted(book.items())})
