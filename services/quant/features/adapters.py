"""Binds the feature service's ports to ``quant.analytics`` and ``quant.store``.

* :class:`AnalyticsEngine` wraps :class:`quant.analytics.engine.FeatureEngine`; its
  snapshot is binary: a JSON header (version, instrument keys, history level names) and
  the state's int64 arrays (:func:`state_parts`, the parts the service saves without
  copying them, the history levels' columns as :class:`~quant.features.ports.Piece`s that
  ``FileSnapshotStore`` writes once; :func:`pack_state` joins them; :func:`unpack_state`).
  Older JSON snapshots still restore.
* :func:`option_specs` registers every option of the instrument master with the engine;
* :class:`StoreSink` turns the service's column batches into the tick store's typed batches
  (``quant.store.columns``: ``ticks``, each tick with its features in one row;
  ``option_greeks``; ``ohlc``) and writes them with ``TickWriter.write``. Over QuestDB it
  is built with :meth:`StoreSink.batched`: a ``quant.store.batching.BatchingWriter`` joins
  batches into large requests and ``flush()`` waits for them, retrying failed writes
  when given a ``retry_delay`` (``failing`` says why while it does; ``give_up()`` on
  shutdown); over SQLite writes are durable on return.

Built by the feature composition roots (``quant features``, ``quant up``, benchmarks).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from quant.analytics.columns import TickColumns
from quant.analytics.engine import FeatureEngine, OptionSpec
from quant.analytics.rolling import HISTORY_COLUMNS
from quant.analytics.segments import IntArray
from quant.core.events import Candle, OptionGreeks
from quant.core.instruments import Instrument, InstrumentType
from quant.features.ports import EngineOutput, Part, Parts, Piece, join_parts
from quant.store.batching import BatchingWriter
from quant.store.columns import candle_batch, greeks_batch, tick_batch
from quant.store.ports import TickWriter

_MAGIC = b"QFE\x02"
_LEN = struct.Struct("<I")


def _raw(a: IntArray) -> bytes | memoryview:
    """The array's little-endian int64 memory as bytes: a view unless it is empty."""
    if not a.size:
        return b""  # a memoryview of a zero-size array cannot be cast to bytes
    return np.ascontiguousarray(a, dtype="<i8").data.cast("B")


def state_parts(
    head: dict[str, Any], arrays: Mapping[str, IntArray], pieces: Mapping[str, str] | None = None
) -> list[Part]:
    """Header + arrays as parts of one blob: magic, header length, JSON header, then each
    array's raw little-endian int64 memory (a view, not a copy: the history is large).
    The arrays named in ``pieces`` never change: they go as :class:`Piece`s of that name."""
    layout = [[name, list(a.shape)] for name, a in arrays.items()]
    header = json.dumps({**head, "arrays": layout}, separators=(",", ":")).encode()
    named = pieces or {}
    body: list[Part] = [
        Piece(named[name], _raw(a)) if name in named and a.size else _raw(a)
        for name, a in arrays.items()
    ]
    return [_MAGIC + _LEN.pack(len(header)) + header, *body]


def history_pieces(head: Mapping[str, Any]) -> dict[str, str]:
    """Array name -> piece name for the history levels' columns of a snapshot header
    (``history.<i>.<column>`` -> ``<level ident>.<column>``)."""
    return {
        f"history.{i}.{column}": f"{ident}.{column}"
        for i, ident in enumerate(head.get("history_ids") or [])
        for column in HISTORY_COLUMNS
    }


def pack_state(head: dict[str, Any], arrays: Mapping[str, IntArray]) -> bytes:
    """:func:`state_parts` joined into one ``bytes``."""
    return join_parts(state_parts(head, arrays))


def unpack_state(blob: bytes) -> tuple[dict[str, Any], dict[str, IntArray]]:
    """Inverse of :func:`pack_state` (arrays are read-only views of ``blob``)."""
    if not blob.startswith(_MAGIC):
        raise ValueError("not a binary engine snapshot")
    (size,) = _LEN.unpack_from(blob, len(_MAGIC))
    start = len(_MAGIC) + _LEN.size
    head = json.loads(blob[start : start + size])
    offset = start + size
    arrays: dict[str, IntArray] = {}
    for name, shape in head.pop("arrays"):
        count = int(np.prod(shape)) if shape else 1
        a = np.frombuffer(blob, dtype="<i8", count=count, offset=offset)
        arrays[str(name)] = a.reshape(shape).astype(np.int64, copy=False)
        offset += count * 8
    if offset != len(blob):
        raise ValueError(f"engine snapshot has {len(blob) - offset} trailing bytes")
    return head, arrays


class AnalyticsEngine:
    """``FeatureEngine`` port over the analytics engine."""

    def __init__(self, engine: FeatureEngine) -> None:
        self.engine = engine

    def process(self, ticks: TickColumns) -> EngineOutput:
        features, candles = self.engine.process_columns(ticks)
        return EngineOutput(features, candles, self.engine.now_ns())

    def snapshot(self) -> bytes:
        return join_parts(self.snapshot_later()())

    def snapshot_later(self) -> Callable[[], Parts]:
        """Copies what the engine updates in place; history levels are never modified, so
        their columns go as :class:`Piece`s named by level (kept from an earlier save)."""
        head, arrays = self.engine.snapshot_arrays()
        captured = {
            name: a.copy() if name.startswith("fields.") or name == "open_candles" else a
            for name, a in arrays.items()
        }
        pieces = history_pieces(head)
        return lambda: state_parts(head, captured, pieces)

    def restore(self, blob: bytes) -> None:
        if blob.startswith(_MAGIC):
            self.engine.restore_arrays(*unpack_state(blob))
        else:  # a JSON snapshot from before the binary format
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
    """``TickSink`` over a tick store's ``write`` (see the module docstring)."""

    def __init__(self, store: TickWriter, writer: BatchingWriter | None = None) -> None:
        self.store: TickWriter = writer or store
        self._writer = writer

    @classmethod
    def batched(cls, store: TickWriter, **options: Any) -> StoreSink:
        """Writes go through a background :class:`BatchingWriter` (``options`` are its)."""
        return cls(store, BatchingWriter(store, **options))

    def write_ticks(self, ticks: TickColumns, out: EngineOutput) -> None:
        if ticks.keys:
            self.store.write(tick_batch(ticks, out.features, out.ts_enriched))

    def write_greeks(self, greeks: Sequence[OptionGreeks]) -> None:
        if greeks:
            self.store.write(greeks_batch(greeks))

    def write_candles(self, candles: Sequence[Candle]) -> None:
        if candles:
            self.store.write(candle_batch(candles))

    def flush(self) -> None:
        """Wait for the background writes, if batched (direct writes are done on return)."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Write what is queued and stop the background writer (the store stays open)."""
        if self._writer is not None:
            self._writer.close()

    def abandon(self) -> int:
        """Stop the background writer without writing what waits (a crash); rows dropped."""
        return self._writer.abandon() if self._writer is not None else 0

    def give_up(self) -> None:
        """Stop retrying failed writes (shutting down: what is not written is redone)."""
        if self._writer is not None:
            self._writer.give_up()

    @property
    def failing(self) -> str | None:
        """The error of the write being retried, or ``None`` while writes succeed."""
        return self._writer.failing if self._writer is not None else None
