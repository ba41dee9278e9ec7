"""Binds the feature service's ports to ``quant.analytics`` and ``quant.store``.

* :class:`AnalyticsEngine` wraps :class:`quant.analytics.engine.FeatureEngine` (its
  snapshot is plain JSON-able data; here it becomes bytes for the snapshot store);
* :func:`option_specs` registers every option of the instrument master with the engine;
* :class:`StoreSink` writes to a ``quant.store`` tick store. Its writes are durable when
  the call returns (QuestDB's ILP/HTTP flush answers after the WAL commit; SQLite commits
  per call), so ``flush()`` only has to make them visible to readers.

Built by the feature composition roots (``quant features``, ``quant up``, benchmarks).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from quant.analytics.engine import FeatureEngine, OptionSpec
from quant.core.events import Candle, EnrichedTick, OptionGreeks, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.store.ports import TickWriter


class AnalyticsEngine:
    """``FeatureEngine`` port over the analytics engine."""

    def __init__(self, engine: FeatureEngine) -> None:
        self.engine = engine

    def process(self, ticks: Sequence[Tick]) -> tuple[list[EnrichedTick], list[Candle]]:
        return self.engine.process(ticks)

    def snapshot(self) -> bytes:
        return json.dumps(self.engine.snapshot(), separators=(",", ":")).encode()

    def restore(self, blob: bytes) -> None:
        self.engine.restore(json.loads(blob))


def option_specs(instruments: Iterable[Instrument]) -> dict[str, OptionSpec]:
    """An ``OptionSpec`` for every option (with underlying, strike and expiry) given."""
    specs: dict[str, OptionSpec] = {}
    for inst in instruments:
        if not inst.is_option or inst.expiry is None or inst.strike_paise is None:
            continue
        if not inst.underlying_key:
            continue
        specs[inst.instrument_key] = OptionSpec(
            underlying_key=inst.underlying_key,
            strike=inst.strike_paise,
            expiry=inst.expiry,
            is_call=inst.instrument_type is InstrumentType.CALL,
        )
    return specs


class StoreSink:
    """``TickSink`` over a ``quant.store`` tick writer."""

    def __init__(self, store: TickWriter) -> None:
        self.store = store

    def write_ticks(self, ticks: Sequence[Tick]) -> None:
        self.store.write_ticks(ticks)

    def write_greeks(self, greeks: Sequence[OptionGreeks]) -> None:
        self.store.write_greeks(greeks)

    def write_enriched(self, enriched: Sequence[EnrichedTick]) -> None:
        self.store.write_enriched(enriched)

    def write_candles(self, candles: Sequence[Candle]) -> None:
        self.store.write_candles(candles)

    def flush(self) -> None:
        """Writes are durable on return (see the module docstring): nothing to do."""
