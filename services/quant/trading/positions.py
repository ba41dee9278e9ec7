"""Positions per (strategy, instrument, product) and their P&L, in integer paise.

A ``Position`` is immutable; ``Position.apply(fill)`` returns the position after the fill.
It holds the signed net quantity (units; negative when short), the signed ``cost`` of the
open units (what they were opened at, in paise; negative when short) and the ``realised``
P&L, plus the gross bought/sold quantities and values (the cash flows).

Accounting (average cost, exact in integers):

- a fill that adds to the position (or opens it) adds its value to ``cost``;
- a fill that reduces it closes ``c`` units: their share of the cost,
  ``cost * c / |net|`` rounded half away from zero (``quant.trading.rounding``), leaves
  ``cost`` and ``realised`` gains the closing value minus that share (for a short, the share
  minus the value paid to buy back); closing the whole position takes all of ``cost``;
- a fill that flips the position (sells more than is held, or buys more than is short)
  closes the old position and opens the rest; its value is split by quantity, rounded the
  same way, the rest going to the new position.
- ``unrealised(mark) = net_quantity * mark - cost``.

Because each rounded share is subtracted from what remains, no paisa is made or lost:
``realised + unrealised(mark) == sold_value - bought_value + net_quantity * mark`` holds
exactly for every sequence of fills (the cash-flow identity the property tests check).
``average_price`` (``cost / net``, rounded) is for display; charges are not included here.

``PositionBook`` holds the positions of an account: one per (strategy, instrument_key,
product), so each strategy's P&L is its own and MIS (product ``I``) positions can be
squared off on their own; per-instrument and per-strategy views add them up. It is a
plain mutable container with no I/O (the OMS owns one); the positions in it are values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from quant.core.orders import Side
from quant.trading.errors import InvalidFill, TradingError
from quant.trading.intent import Product
from quant.trading.order import Fill
from quant.trading.rounding import div_round


class PositionKey(NamedTuple):
    """What a position is held per: the strategy, the instrument and the product."""

    strategy: str
    instrument_key: str
    product: Product


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


@dataclass(frozen=True, slots=True)
class Position:
    """One strategy's position in one instrument and product; see the module docstring."""

    key: PositionKey
    net_quantity: int = 0
    cost: int = 0
    realised: int = 0
    bought_quantity: int = 0
    sold_quantity: int = 0
    bought_value: int = 0
    sold_value: int = 0

    @property
    def is_flat(self) -> bool:
        return self.net_quantity == 0

    @property
    def average_price(self) -> int:
        """Average open price in paise (``cost / net``, halves away from zero); 0 when flat."""
        return div_round(self.cost, self.net_quantity) if self.net_quantity else 0

    @property
    def cash_flow(self) -> int:
        """Money received minus money paid for all fills so far, in paise (before charges)."""
        return self.sold_value - self.bought_value

    def unrealised(self, mark: int) -> int:
        """P&L of the open units if they were valued at ``mark`` paise."""
        return self.net_quantity * mark - self.cost

    def pnl(self, mark: int) -> int:
        """Realised plus unrealised P&L at ``mark``, in paise."""
        return self.realised + self.unrealised(mark)

    def apply(self, fill: Fill) -> Position:
        """The position after ``fill``; ``InvalidFill`` if the fill is for another position."""
        key = PositionKey(fill.strategy, fill.instrument_key, fill.product)
        if key != self.key:
            raise InvalidFill(f"fill of {fill.client_order_id} is for {key}, not {self.key}")
        s, value = fill.signed_quantity, fill.value
        net, cost, realised = self.net_quantity, self.cost, self.realised
        direction = _sign(s)
        if net == 0 or _sign(net) == direction:
            net, cost = net + s, cost + direction * value
        else:
            closing = min(abs(s), abs(net))
            close_value = value if closing == abs(s) else div_round(value * closing, abs(s))
            removed = cost if closing == abs(net) else div_round(cost * closing, abs(net))
            realised += _sign(net) * close_value - removed
            cost -= removed
            net += direction * closing
            opening = abs(s) - closing
            if opening:
                net += direction * opening
                cost += direction * (value - close_value)
        if fill.side is Side.BUY:
            bought = (self.bought_quantity + fill.quantity, self.bought_value + value)
            sold = (self.sold_quantity, self.sold_value)
        else:
            bought = (self.bought_quantity, self.bought_value)
            sold = (self.sold_quantity + fill.quantity, self.sold_value + value)
        return Position(  # not dataclasses.replace: this is the OMS hot path
            self.key,
            net_quantity=net,
            cost=cost,
            realised=realised,
            bought_quantity=bought[0],
            bought_value=bought[1],
            sold_quantity=sold[0],
            sold_value=sold[1],
        )


class PositionBook:
    """All positions of an account, keyed by (strategy, instrument, product)."""

    __slots__ = ("_positions",)

    def __init__(self, positions: Iterable[Position] = ()) -> None:
        self._positions: dict[PositionKey, Position] = {p.key: p for p in positions}

    def apply(self, fill: Fill) -> Position:
        """Book ``fill``; returns the position it changed."""
        key = PositionKey(fill.strategy, fill.instrument_key, fill.product)
        position = self._positions.get(key) or Position(key)
        updated = position.apply(fill)
        self._positions[key] = updated
        return updated

    def get(self, strategy: str, instrument_key: str, product: Product) -> Position:
        """The position (flat if there has been no fill)."""
        key = PositionKey(strategy, instrument_key, product)
        return self._positions.get(key) or Position(key)

    def __iter__(self) -> Iterator[Position]:
        return iter(sorted(self._positions.values(), key=lambda p: p.key))

    def __len__(self) -> int:
        return len(self._positions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PositionBook):
            return NotImplemented
        return self._positions == other._positions

    __hash__ = None  # type: ignore[assignment]  # mutable container

    def open_positions(self, product: Product | None = None) -> list[Position]:
        """Positions that are not flat (of ``product`` only, if given), in key order."""
        return [p for p in self if p.net_quantity and product in (None, p.key.product)]

    def net_quantity(self, instrument_key: str, strategy: str | None = None) -> int:
        """Net units held in an instrument, over all strategies and products or one strategy."""
        return sum(
            p.net_quantity
            for p in self._positions.values()
            if p.key.instrument_key == instrument_key and strategy in (None, p.key.strategy)
        )

    def by_instrument(self) -> dict[str, int]:
        """Net units per instrument over all strategies and products (zeros left out)."""
        out: dict[str, int] = {}
        for p in self._positions.values():
            out[p.key.instrument_key] = out.get(p.key.instrument_key, 0) + p.net_quantity
        return {k: v for k, v in sorted(out.items()) if v}

    def strategies(self) -> list[str]:
        return sorted({k.strategy for k in self._positions})

    def realised(self, strategy: str | None = None) -> int:
        """Realised P&L in paise, of the account or of one strategy."""
        return sum(p.realised for p in self._select(strategy))

    def unrealised(self, marks: Mapping[str, int], strategy: str | None = None) -> int:
        """Unrealised P&L at ``marks`` (paise per instrument_key); every open one needs a mark."""
        total = 0
        for p in self._select(strategy):
            if not p.net_quantity:
                continue
            mark = marks.get(p.key.instrument_key)
            if mark is None:
                raise TradingError(f"no mark price for open position {p.key.instrument_key}")
            total += p.unrealised(mark)
        return total

    def _select(self, strategy: str | None) -> Iterator[Position]:
        return (p for p in self._positions.values() if strategy in (None, p.key.strategy))
