"""``BookSnapshot``: the order book of one instrument at one instant, as the paper broker sees it.

An immutable value: up to the feed's depth of bid and ask levels (price in paise, quantity
in units; bids best first, i.e. descending, asks best first, ascending), the last traded
price and quantity, the exchange time of that trade (``last_trade_ts``, UTC ns; it tells a
new trade from the same one repeated in the next snapshot) and the exchange time of the
snapshot (``ts_event``, UTC ns, used by the stale-quote guard). Malformed snapshots raise
``InvalidBook`` with the reason (a locked or crossed book is accepted as it is: the
exchange shows one in the pre-open call auction). :meth:`BookSnapshot.from_tick` builds one
from the feed's ``Tick`` (levels with no price or no quantity are left out). The paper matcher
(``quant.trading.paper``) is its consumer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from quant.core.events import Tick
from quant.trading.errors import TradingError


class InvalidBook(TradingError):
    """A book snapshot is malformed: unsorted levels, non-positive prices or quantities."""


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price level of one side: ``quantity`` units at ``price`` paise."""

    price: int
    quantity: int


def _check_side(levels: tuple[BookLevel, ...], descending: bool, what: str) -> None:
    for level in levels:
        if level.price <= 0 or level.quantity <= 0:
            raise InvalidBook(
                f"{what} level {level.quantity} @ {level.price} paise: price and quantity "
                "must be > 0 (leave empty levels out)"
            )
    for a, b in itertools.pairwise(levels):
        if (a.price <= b.price) if descending else (a.price >= b.price):
            order = "descending" if descending else "ascending"
            raise InvalidBook(f"{what} levels must be strictly {order} by price, best first")


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """One instrument's book at ``ts_event``; see the module docstring."""

    instrument_key: str
    ts_event: int
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()
    ltp: int = 0
    last_trade_qty: int = 0
    last_trade_ts: int = 0

    def __post_init__(self) -> None:
        _check_side(self.bids, True, "bid")
        _check_side(self.asks, False, "ask")
        if self.ltp < 0 or self.last_trade_qty < 0:
            raise InvalidBook(f"{self.instrument_key}: negative LTP or last trade quantity")

    @classmethod
    def from_tick(cls, tick: Tick) -> BookSnapshot:
        """The snapshot of a feed ``Tick`` (full mode: depth; LTPC mode: no levels)."""
        bids = tuple(
            BookLevel(d.bid_price, d.bid_quantity)
            for d in tick.depth
            if d.bid_price > 0 and d.bid_quantity > 0
        )
        asks = tuple(
            BookLevel(d.ask_price, d.ask_quantity)
            for d in tick.depth
            if d.ask_price > 0 and d.ask_quantity > 0
        )
        return cls(
            tick.instrument_key,
            tick.ts_event,
            bids,
            asks,
            ltp=tick.ltp,
            last_trade_qty=tick.ltq,
            last_trade_ts=tick.ltt_ns,
        )
