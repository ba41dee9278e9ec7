"""The latest market state per instrument, as the strategies see it through their context.

``MarketState`` is kept by the host from everything it is fed (ticks, enriched ticks,
1-minute candles and the N-minute bars it builds), shared by all its strategies, updated
before the callbacks of an event run. ``InstrumentState`` is one instrument's read-only
view: the last tick, the last enriched tick, the last closed bar per interval, and the
last price (paise) with its time, from whichever of those came last.
"""

from __future__ import annotations

from quant.core.events import Candle, EnrichedTick, Tick


class InstrumentState:
    """The latest of one instrument; read-only for strategies (the host updates it)."""

    __slots__ = ("_bars", "_enriched", "_key", "_last_price", "_tick", "_ts_last")

    def __init__(self, instrument_key: str) -> None:
        self._key = instrument_key
        self._tick: Tick | None = None
        self._enriched: EnrichedTick | None = None
        self._bars: dict[int, Candle] = {}
        self._last_price = 0
        self._ts_last = 0

    @property
    def instrument_key(self) -> str:
        return self._key

    @property
    def tick(self) -> Tick | None:
        """The last feed tick (None if none was fed)."""
        return self._tick

    @property
    def enriched(self) -> EnrichedTick | None:
        """The last enriched tick: features such as ``session_vwap``, ``imbalance_l1``."""
        return self._enriched

    @property
    def last_price(self) -> int:
        """The last traded price in paise (a tick's or enriched tick's ``ltp``, or a bar's
        close, whichever is newest); 0 before any."""
        return self._last_price

    @property
    def ts_last(self) -> int:
        """When ``last_price`` was seen (the event's ``ts_event``, or a bar's end), UTC ns."""
        return self._ts_last

    def bar(self, minutes: int = 1) -> Candle | None:
        """The last closed bar of ``minutes`` (1 = the 1-minute candles), or None."""
        return self._bars.get(minutes * 60)

    def __repr__(self) -> str:
        return f"InstrumentState({self._key!r}, last_price={self._last_price})"


class MarketState:
    """``InstrumentState`` per instrument key; the host's writer methods keep it current."""

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[str, InstrumentState] = {}

    def get(self, instrument_key: str) -> InstrumentState | None:
        return self._states.get(instrument_key)

    def instruments(self) -> list[str]:
        """Every instrument seen, sorted."""
        return sorted(self._states)

    def last_prices(self) -> dict[str, int]:
        """Last price per instrument (those that have one), for P&L marks."""
        return {k: s._last_price for k, s in self._states.items() if s._last_price > 0}

    def _state(self, key: str) -> InstrumentState:
        s = self._states.get(key)
        if s is None:
            s = self._states[key] = InstrumentState(key)
        return s

    def _price(self, s: InstrumentState, price: int, ts: int) -> None:
        if price > 0 and ts >= s._ts_last:
            s._last_price, s._ts_last = price, ts

    def update_tick(self, tick: Tick) -> None:
        s = self._states.get(tick.instrument_key) or self._state(tick.instrument_key)
        s._tick = tick
        if tick.ltp > 0 and tick.ts_event >= s._ts_last:
            s._last_price, s._ts_last = tick.ltp, tick.ts_event

    def update_enriched(self, tick: EnrichedTick) -> None:
        s = self._states.get(tick.instrument_key) or self._state(tick.instrument_key)
        s._enriched = tick
        if tick.ltp > 0 and tick.ts_event >= s._ts_last:  # the hot path: _price inlined
            s._last_price, s._ts_last = tick.ltp, tick.ts_event

    def update_bar(self, bar: Candle) -> None:
        s = self._state(bar.instrument_key)
        s._bars[bar.interval_seconds] = bar
        self._price(s, bar.close, bar.ts_start + bar.interval_seconds * 1_000_000_000)
