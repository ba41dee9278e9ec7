"""Immutable market-data events: the domain's view of a tick, greeks, candles and picks.

They are ``NamedTuple``s rather than frozen dataclasses on purpose: the ingestor builds
hundreds of thousands per second, and a NamedTuple is immutable, typed and several
times cheaper to construct. Prices are integer paise; timestamps UTC nanoseconds
(``ts_event`` exchange/feed time, ``ts_init`` local receive time).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple


class FeedMode(IntEnum):
    """Subscription mode of an instrument on the Upstox V3 feed (values match our proto)."""

    LTPC = 1
    FULL = 2
    OPTION_GREEKS = 3
    FULL_D30 = 4

    @property
    def wire_name(self) -> str:
        """Upstox's name for the mode in subscription requests."""
        return _WIRE_NAMES[self]

    @classmethod
    def from_wire(cls, name: str) -> FeedMode:
        try:
            return _FROM_WIRE[name]
        except KeyError:
            raise ValueError(
                f"unknown feed mode {name!r}; expected one of {sorted(_FROM_WIRE)}"
            ) from None


_WIRE_NAMES = {
    FeedMode.LTPC: "ltpc",
    FeedMode.FULL: "full",
    FeedMode.OPTION_GREEKS: "option_greeks",
    FeedMode.FULL_D30: "full_d30",
}
_FROM_WIRE = {v: k for k, v in _WIRE_NAMES.items()}


class AggressorSide(IntEnum):
    """Who initiated a trade (values match our proto)."""

    BUY = 1
    SELL = 2
    NONE = 3


class DepthLevel(NamedTuple):
    """One level of the order book, prices in paise."""

    bid_price: int
    bid_quantity: int
    ask_price: int
    ask_quantity: int


class FeedOhlc(NamedTuple):
    """An OHLC bar as carried by the feed: interval is "1d", "I1" or "I30"."""

    interval: str
    open: int
    high: int
    low: int
    close: int
    volume: int
    ts_ns: int


class Tick(NamedTuple):
    """A market-data update for one instrument."""

    instrument_key: str
    mode: FeedMode
    ts_event: int
    ts_init: int
    ltp: int
    ltt_ns: int = 0
    ltq: int = 0
    close_price: int = 0
    volume: int = 0
    atp: int = 0
    oi: int = 0
    total_buy_quantity: int = 0
    total_sell_quantity: int = 0
    depth: tuple[DepthLevel, ...] = ()
    ohlc: tuple[FeedOhlc, ...] = ()


class OptionGreeks(NamedTuple):
    """Upstox's greeks and IV for an option at one instant."""

    instrument_key: str
    ts_event: int
    ts_init: int
    ltp: int
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float
    oi: int = 0
    volume: int = 0


class EnrichedTick(NamedTuple):
    """A tick with the feature engine's microstructure features (see ``analytics``)."""

    instrument_key: str
    ts_event: int
    ts_init: int
    ltp: int
    volume: int
    session_vwap: float
    rolling_vwap: float
    imbalance_l1: float
    imbalance_d5: float
    imbalance_d30: float
    spread: int
    spread_bps: float
    microprice: float
    aggressor: AggressorSide
    trade_quantity: int
    buy_volume: int
    sell_volume: int
    trade_intensity: float
    ts_enriched: int
    iv: float = float("nan")
    delta: float = float("nan")
    gamma: float = float("nan")
    theta: float = float("nan")
    vega: float = float("nan")


class Candle(NamedTuple):
    """An OHLC candle built from ticks; ``ts_start`` aligned to an IST boundary."""

    instrument_key: str
    interval_seconds: int
    ts_start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    oi: int = 0
    trade_count: int = 0


class ScannerSuggestion(NamedTuple):
    """A ranked pick from the momentum scanner, with its reasons.

    ``ts_event`` is the cycle's time (UTC ns, the same for every pick of a cycle);
    ``rank`` 1 is the best; ``last_price`` is in paise; ``signals`` holds each signal's
    value as ``(name, value)`` pairs in ``quant.analytics.scanner_signals.SIGNAL_NAMES``
    order (NaN when a signal was unknown for the instrument).
    """

    instrument_key: str
    trading_symbol: str
    ts_event: int
    rank: int
    score: float
    reasons: tuple[str, ...]
    last_price: int
    feed_mode: FeedMode = FeedMode.FULL
    signals: tuple[tuple[str, float], ...] = ()
