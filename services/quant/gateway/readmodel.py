"""In-memory read model: the latest tick, enriched tick and greeks per instrument.

:meth:`LiveMarketState.apply` takes any market event; the gateway's bus feeder
(``quant.gateway.feeder``) calls it for every message on the tick, greeks and enriched
topics, and the routers read it through :class:`~quant.gateway.ports.MarketReadModel`.
Older events (by ``ts_event``) never overwrite newer ones, so replays are harmless.
"""

from __future__ import annotations

from typing import TypeVar

from quant.core.events import EnrichedTick, OptionGreeks, Tick

_E = TypeVar("_E", Tick, EnrichedTick, OptionGreeks)
MarketEvent = Tick | EnrichedTick | OptionGreeks


class LiveMarketState:
    """Latest state per instrument_key; single-threaded (one event loop)."""

    def __init__(self) -> None:
        self._ticks: dict[str, Tick] = {}
        self._enriched: dict[str, EnrichedTick] = {}
        self._greeks: dict[str, OptionGreeks] = {}
        self.events_applied = 0

    def apply(self, event: MarketEvent) -> None:
        self.events_applied += 1
        if isinstance(event, Tick):
            _keep_newest(self._ticks, event)
        elif isinstance(event, EnrichedTick):
            _keep_newest(self._enriched, event)
        else:
            _keep_newest(self._greeks, event)

    def last_tick(self, instrument_key: str) -> Tick | None:
        return self._ticks.get(instrument_key)

    def last_enriched(self, instrument_key: str) -> EnrichedTick | None:
        return self._enriched.get(instrument_key)

    def last_greeks(self, instrument_key: str) -> OptionGreeks | None:
        return self._greeks.get(instrument_key)

    def instruments_seen(self) -> int:
        return len(self._ticks)


def _keep_newest(table: dict[str, _E], event: _E) -> None:
    old = table.get(event.instrument_key)
    if old is None or old.ts_event <= event.ts_event:
        table[event.instrument_key] = event
