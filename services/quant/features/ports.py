"""Ports of the feature service, owned here: the engine, the tick sink, snapshots.

The service works on columns (``quant.analytics.columns``): a polled batch is decoded
straight into ``TickColumns``, enriched into ``EnrichedColumns``, encoded and written
from those arrays, without a tuple per tick. ``quant.features.adapters`` binds the ports
to ``quant.analytics`` (the pure engine) and ``quant.store`` (QuestDB / embedded tick
store); the unit tests use fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from quant.analytics.columns import EnrichedColumns, TickColumns
from quant.core.events import Candle, OptionGreeks


class Piece(NamedTuple):
    """A large part of a snapshot that never changes once made (a column of a rolling-window
    history level), named for good by ``ident``: a snapshot store that still holds the
    piece of that name from an earlier save may keep it instead of writing it again."""

    ident: str
    data: bytes | memoryview


Part = bytes | memoryview | Piece
Parts = Sequence[Part]
"""One blob as consecutive parts (a snapshot: its header, then each array's memory)."""


def part_bytes(part: Part) -> bytes | memoryview:
    """The bytes of one part."""
    return part.data if isinstance(part, Piece) else part


def join_parts(parts: Parts) -> bytes:
    """The blob the parts make up."""
    return b"".join(part_bytes(p) for p in parts)


class EngineOutput(NamedTuple):
    """What the engine made of one batch: per-tick features (input order) and candles."""

    features: EnrichedColumns
    candles: Sequence[Candle]
    ts_enriched: int  # when the batch was enriched (the engine's clock)


class FeatureEngine(Protocol):
    """The pure feature engine: deterministic in its input, snapshot-able."""

    def process(self, ticks: TickColumns) -> EngineOutput:
        """Enrich ``ticks`` (in order) and return their features and any closed candles."""
        ...

    def snapshot_later(self) -> Callable[[], Parts]:
        """Capture the state now (cheaply); the returned call serialises that captured
        state, on any thread, while processing goes on, as the pieces of one blob (large
        arrays as views of their memory: no copy of the state under the GIL)."""
        ...

    def restore(self, blob: bytes) -> None: ...


class TickSink(Protocol):
    """Where ticks (with their features), greeks and candles are written (idempotently)."""

    def write_ticks(self, ticks: TickColumns, out: EngineOutput) -> None:
        """Write the batch ``ticks`` with ``out``, the engine's output for it (one row each)."""
        ...

    def write_greeks(self, greeks: Sequence[OptionGreeks]) -> None: ...

    def write_candles(self, candles: Sequence[Candle]) -> None: ...

    def flush(self) -> None:
        """Make every write so far durable; raise if any failed."""
        ...


class SnapshotStore(Protocol):
    """Durable storage of the engine's latest snapshot."""

    def load(self) -> bytes | None: ...

    def save(self, parts: Parts) -> int:
        """Replace the snapshot by the concatenation of ``parts`` (atomically); returns
        the bytes this save wrote (a store may keep pieces it already holds)."""
        ...
