"""``BatchingWriter``: joins small batches, flushes on demand, stops on the first failure."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from quant.store.batching import BatchingWriter
from quant.store.columns import TABLES
from quant.store.ports import StoreError
from quant.store.sqlite_ticks import SqliteTickStore


def _candles(start: int, n: int) -> dict[str, Any]:
    cols: dict[str, Any] = {c: np.arange(start, start + n, dtype=np.int64) for c in TABLES["ohlc"]}
    cols["instrument_key"] = [f"NSE_EQ|K{i % 3}" for i in range(start, start + n)]
    cols["interval_seconds"] = np.full(n, 60, dtype=np.int64)
    return cols


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.rows: list[int] = []
        self.fail_on = fail_on
        self.gate = threading.Event()
        self.gate.set()

    def write_columns(self, table: str, columns: Mapping[str, Any]) -> None:
        self.gate.wait()
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise StoreError("server said no")
        self.calls.append((table, len(columns["ts"])))
        self.rows.extend(np.asarray(columns["ts"]).tolist())


def test_small_batches_are_joined_in_order_and_flush_waits_for_them() -> None:
    store = Recorder()
    store.gate.clear()  # hold the first write so the rest pile up behind it
    writer = BatchingWriter(store, min_rows=1, max_delay_s=10.0)
    writer.write_columns("ohlc", _candles(0, 5))
    for start in range(5, 50, 5):
        writer.write_columns("ohlc", _candles(start, 5))
    store.gate.set()
    writer.flush(timeout=10)
    assert store.rows == list(range(50))
    assert len(store.calls) < 10  # the queued batches went out together
    writer.close()


def test_rows_below_min_rows_wait_for_max_delay_not_forever() -> None:
    store = Recorder()
    writer = BatchingWriter(store, min_rows=1_000, max_delay_s=0.05)
    writer.write_columns("ohlc", _candles(0, 3))
    deadline = threading.Event()
    for _ in range(100):
        if store.rows:
            break
        deadline.wait(0.02)
    assert store.rows == [0, 1, 2]
    writer.close()


def test_a_failed_write_is_raised_to_the_caller_and_stops_the_writer() -> None:
    store = Recorder(fail_on=0)
    writer = BatchingWriter(store, min_rows=1, max_delay_s=0.01)
    writer.write_columns("ohlc", _candles(0, 2))
    with pytest.raises(StoreError, match="server said no"):
        writer.flush(timeout=10)
    with pytest.raises(StoreError, match="earlier tick-store write failed"):
        writer.write_columns("ohlc", _candles(2, 2))
    with pytest.raises(StoreError):
        writer.close()
    assert store.rows == []


def test_backpressure_blocks_writers_while_too_much_is_pending() -> None:
    store = Recorder()
    store.gate.clear()
    writer = BatchingWriter(store, min_rows=1, max_delay_s=0.01, max_pending_rows=10)
    writer.write_columns("ohlc", _candles(0, 10))  # taken by the thread, blocked in write
    for _ in range(100):
        if writer.pending_rows == 0:
            break
        threading.Event().wait(0.01)
    writer.write_columns("ohlc", _candles(10, 10))  # pending now full
    done = threading.Event()

    def third() -> None:
        writer.write_columns("ohlc", _candles(20, 5))
        done.set()

    t = threading.Thread(target=third)
    t.start()
    assert not done.wait(0.2)  # blocked: 10 rows pending, limit 10
    store.gate.set()
    assert done.wait(5)
    t.join()
    writer.close()
    assert store.rows == list(range(25))


def test_mismatched_or_missing_columns_are_refused_at_the_call() -> None:
    writer = BatchingWriter(Recorder())
    bad = _candles(0, 3)
    bad["open"] = np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError, match="different lengths"):
        writer.write_columns("ohlc", bad)
    del bad["open"]
    with pytest.raises(ValueError, match="missing columns"):
        writer.write_columns("ohlc", bad)
    with pytest.raises(ValueError, match="unknown table"):
        writer.write_columns("trades", bad)
    writer.close()


def test_over_the_embedded_store_rows_land_once() -> None:
    store = SqliteTickStore().open()
    writer = BatchingWriter(store, min_rows=7, max_delay_s=0.01)
    for start in range(0, 30, 3):
        writer.write_columns("ohlc", _candles(start, 3))
    writer.write_columns("ohlc", _candles(0, 3))  # a replay: upserts, no duplicates
    writer.flush(timeout=10)
    assert store.count("ohlc") == 30
    writer.close()
    store.close()
