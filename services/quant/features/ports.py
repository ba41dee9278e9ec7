"""Ports of the feature service, owned here: the engine, the tick sink, snapshots.

``quant.features.adapters`` binds them to ``quant.analytics`` (the pure engine) and
``quant.store`` (QuestDB / embedded tick store); the unit tests use fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from quant.core.events import Candle, EnrichedTick, OptionGreeks, Tick


class FeatureEngine(Protocol):
    """The pure feature engine: deterministic in its input, snapshot-able."""

    def process(self, ticks: Sequence[Tick]) -> tuple[Sequence[EnrichedTick], Sequence[Candle]]:
        """Enrich ``ticks`` (in order) and return them with any candles they closed."""
        ...

    def snapshot(self) -> bytes: ...

    def restore(self, blob: bytes) -> None: ...


class TickSink(Protocol):
    """Where ticks, greeks, enriched ticks and candles are written (idempotently)."""

    def write_ticks(self, ticks: Sequence[Tick]) -> None: ...

    def write_greeks(self, greeks: Sequence[OptionGreeks]) -> None: ...

    def write_enriched(self, enriched: Sequence[EnrichedTick]) -> None: ...

    def write_candles(self, candles: Sequence[Candle]) -> None: ...

    def flush(self) -> None:
        """Make every write so far durable; raise if any failed."""
        ...


class SnapshotStore(Protocol):
    """Durable storage of the engine's latest snapshot."""

    def load(self) -> bytes | None: ...

    def save(self, blob: bytes) -> None: ...
