"""In-memory read model: the latest tick, enriched tick and greeks per instrument.

:meth:`LiveMarketState.apply` takes any market event; the gateway's bus feeder
(``quant.gateway.feeder``) calls it for every message on the tick, greeks and enriched
topics, and the routers read it through :class:`~quant.gateway.ports.MarketReadModel`.
Older events (by ``ts_event``) never overwrite newer ones, so replays are harmless.
:meth:`LiveMarketState.age_s` and :meth:`LiveMarketState.is_stale` say how old an
instrument's data is by exchange time, for the quote API and for a consumer that must
refuse stale data.
"""

from __future__ import annotations

from typing import TypeVar

from quant.core import freshness
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

    def as_of_ns(self, instrument_key: str) -> int | None:
        """Exchange time of the newest tick or enriched tick of ``instrument_key``."""
        tick = self._ticks.get(instrument_key)
        enriched = self._enriched.get(instrument_key)
        if tick is None and enriched is None:
            return None
        return max(e.ts_event for e in (tick, enriched) if e is not None)

    def age_s(self, instrument_key: str, now_ns: int) -> float | None:
        """Seconds from the exchange time of the newest data to ``now_ns`` (None: no data)."""
        as_of = self.as_of_ns(instrument_key)
        return None if as_of is None else freshness.age_seconds(as_of, now_ns)

    def is_stale(
        self,
        instrument_key: str,
        now_ns: int,
        max_age_s: float = freshness.DEFAULT_STALE_AFTER_S,
    ) -> bool:
        """True when there is no data, or the newest is older than ``max_age_s``."""
        as_of = self.as_of_ns(instrument_key)
        return as_of is None or freshness.is_stale(as_of, now_ns, max_age_s)

    def instruments_seen(self) -> int:
        return len(self._ticks)


def _keep_newest(table: dict[str, _E], event: _E) -> None:
    old = table.get(event.instrument_key)
    if old is None or old.ts_event <= event.ts_event:
        table[event.instrument_key] = event
