"""``BatchingWriter``: joins small batches, holds back the newest rows, flushes on demand,
stops on the first failure."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

import numpy as np
import pytest

from quant.store.batching import BatchingWriter
from quant.store.ports import StoreError
from quant.store.sqlite_ticks import SqliteTickStore
from quant.store.tables import OHLC_COLUMNS, CandleBatch, ColumnBatch


def _candles(start: int, n: int) -> CandleBatch:
    cols: dict[str, Any] = {c: np.arange(start, start + n, dtype=np.int64) for c in OHLC_COLUMNS}
    cols["instrument_key"] = [f"NSE_EQ|K{i % 3}" for i in range(start, start + n)]
    cols["interval_seconds"] = np.full(n, 60, dtype=np.int64)
    return CandleBatch(**cols)


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.rows: list[int] = []
        self.fail_on = fail_on
        self.gate = threading.Event()
        self.gate.set()

    def write(self, batch: ColumnBatch) -> None:
        self.gate.wait()
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise StoreError("server said no")
        self.calls.append((batch.TABLE, len(batch)))
        self.rows.extend(batch.ts.tolist())


def test_small_batches_are_joined_in_order_and_flush_waits_for_them() -> None:
    store = Recorder()
    store.gate.clear()  # hold the first write so the rest pile up behind it
    writer = BatchingWriter(store, min_rows=1, max_delay_s=10.0)
    writer.write(_candles(0, 5))
    for start in range(5, 50, 5):
        writer.write(_candles(start, 5))
    store.gate.set()
    writer.flush(timeout=10)
    assert store.rows == list(range(50))
    assert len(store.calls) < 10  # the queued batches went out together
    writer.close()


def test_rows_below_min_rows_wait_for_max_delay_not_forever() -> None:
    store = Recorder()
    writer = BatchingWriter(store, min_rows=1_000, max_delay_s=0.05)
    writer.write(_candles(0, 3))
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
    writer.write(_candles(0, 2))
    with pytest.raises(StoreError, match="server said no"):
        writer.flush(timeout=10)
    with pytest.raises(StoreError, match="earlier tick-store write failed"):
        writer.write(_candles(2, 2))
    with pytest.raises(StoreError):
        writer.close()
    assert store.rows == []


def test_backpressure_blocks_writers_while_too_much_is_pending() -> None:
    store = Recorder()
    store.gate.clear()
    writer = BatchingWriter(store, min_rows=1, max_delay_s=0.01, max_pending_rows=10, hold_back_s=0)
    writer.write(_candles(0, 10))  # taken by the thread, blocked in write
    for _ in range(100):
        if writer.pending_rows == 0:
            break
        threading.Event().wait(0.01)
    writer.write(_candles(10, 10))  # pending now full
    done = threading.Event()

    def third() -> None:
        writer.write(_candles(20, 5))
        done.set()

    t = threading.Thread(target=third)
    t.start()
    assert not done.wait(0.2)  # blocked: 10 rows pending, limit 10
    store.gate.set()
    assert done.wait(5)
    t.join()
    writer.close()
    assert store.rows == list(range(25))


def test_empty_batches_queue_nothing_and_malformed_ones_never_reach_the_writer() -> None:
    store = Recorder()
    writer = BatchingWriter(store, min_rows=1, max_delay_s=0.01)
    writer.write(_candles(0, 0))
    assert writer.pending_rows == 0
    writer.flush(timeout=10)
    assert store.calls == []
    # a batch is checked when it is made: the writer only ever gets well-formed ones
    bad = {c: np.zeros(3, dtype=np.int64) for c in OHLC_COLUMNS}
    bad.update(instrument_key=["NSE_EQ|A"] * 3, open=np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="different lengths"):
        CandleBatch(**bad)
    del bad["open"]
    with pytest.raises(TypeError, match="open"):
        CandleBatch(**bad)
    writer.close()


def test_over_the_embedded_store_rows_land_once() -> None:
    store = SqliteTickStore().open()
    writer = BatchingWriter(store, min_rows=7, max_delay_s=0.01)
    for start in range(0, 30, 3):
        writer.write(_candles(start, 3))
    writer.write(_candles(0, 3))  # a replay: upserts, no duplicates
    writer.flush(timeout=10)
    assert store.count("ohlc") == 30
    writer.close()
    store.close()


def _wait_for(predicate: Any, timeout: float = 5.0) -> None:
    tick = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        tick.wait(0.01)
    raise AssertionError("condition not reached")


def test_the_newest_rows_wait_for_the_next_request_so_writes_arrive_in_time_order() -> None:
    store = Recorder()
    hold_ns = 1_000
    writer = BatchingWriter(store, min_rows=101, max_delay_s=10.0, hold_back_s=hold_ns / 1e9)
    writer.write(_candles(0, 5_000))
    _wait_for(lambda: store.calls)
    assert store.rows == list(range(4_000))  # ts 4000..4999 are within 1 us of the newest
    # the next batch brings a row older than the held ones (another partition, behind)
    late = _candles(3_990, 1)
    writer.write(late)  # 1 row pending: below min_rows, it waits
    writer.write(_candles(5_000, 100))  # 101: due
    _wait_for(lambda: len(store.calls) >= 2)
    second = store.rows[4_000:]
    assert sorted(second) == [3_990, *range(4_000, 4_100)]  # held rows, then the late one
    writer.flush(timeout=10)  # a flush writes everything held
    assert sorted(store.rows) == sorted([*range(5_100), 3_990])
    assert len(store.rows) == 5_101
    writer.close()


def test_held_rows_go_out_after_max_delay_when_the_stream_goes_quiet() -> None:
    store = Recorder()
    writer = BatchingWriter(store, min_rows=1, max_delay_s=0.05, hold_back_s=1e-6)
    writer.write(_candles(0, 5_000))
    _wait_for(lambda: len(store.rows) == 5_000)  # no flush, no new rows: the timer did it
    assert store.rows == list(range(5_000))
    writer.flush(timeout=1)
    assert len(store.calls) == 2
    writer.close()


def test_close_writes_the_held_rows() -> None:
    store = Recorder()
    writer = BatchingWriter(store, min_rows=1, max_delay_s=60.0, hold_back_s=10.0)
    writer.write(_candles(0, 10))
    writer.close()
    assert store.rows == list(range(10))


def test_flush_waits_for_held_rows_too() -> None:
    store = Recorder()
    writer = BatchingWriter(store, min_rows=1, max_delay_s=60.0, hold_back_s=10.0)
    writer.write(_candles(0, 10))
    _wait_for(lambda: writer.pending_rows == 0)  # taken and held, nothing written yet
    assert store.rows == []
    writer.flush(timeout=10)
    assert store.rows == list(range(10))
    writer.close()


def test_abandon_drops_what_is_not_written_and_waits_for_the_write_in_flight() -> None:
    store = Recorder()
    store.gate.clear()  # the first request blocks in the store
    writer = BatchingWriter(store, min_rows=1, max_delay_s=10.0, hold_back_s=0)
    writer.write(_candles(0, 5))
    while writer.pending_rows:  # the writer took the first batch and is stuck writing it
        threading.Event().wait(0.005)
    writer.write(_candles(5, 7))  # queued behind it
    done = threading.Event()
    dropped: list[int] = []
    t = threading.Thread(target=lambda: (dropped.append(writer.abandon(timeout=10)), done.set()))
    t.start()
    assert not done.wait(0.1)  # abandon waits for the write in flight
    store.gate.set()
    t.join(10)
    assert dropped == [7]
    assert store.rows == list(range(5))  # the queued batch never went out
    with pytest.raises(StoreError, match="abandoned"):
        writer.write(_candles(12, 1))
    with pytest.raises(StoreError, match="abandoned"):
        writer.flush(timeout=1)


def test_a_writer_left_running_is_stopped_at_interpreter_exit(tmp_path: Any) -> None:
    script = tmp_path / "leave_it.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, threading, numpy as np
            from quant.store.batching import BatchingWriter
            from quant.store.tables import OHLC_COLUMNS, CandleBatch

            logging.basicConfig(level=logging.WARNING)
            class Slow:
                def write(self, batch):
                    threading.Event().wait(0.2)
                    print("wrote", len(batch), flush=True)
            writer = BatchingWriter(Slow(), min_rows=1, max_delay_s=10.0, hold_back_s=0)
            cols = {c: np.arange(3, dtype=np.int64) for c in OHLC_COLUMNS}
            cols["instrument_key"] = ["NSE_EQ|A"] * 3
            writer.write(CandleBatch(**cols))
            while writer.pending_rows:
                threading.Event().wait(0.005)
            writer.write(CandleBatch(**cols))  # still queued when the script ends
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["wrote 3"]  # the write in flight finished; no more
    assert "was not closed; stopped at exit, 3 rows dropped" in done.stderr


def test_ticks_with_and_without_features_go_out_as_separate_requests() -> None:
    from quant.store.tables import (
        FEATURE_COLUMNS,
        FLOAT_COLUMNS,
        RAW_TICK_COLUMNS,
        TICK_COLUMNS,
        TickBatch,
        TickFeatures,
    )

    def cols(names: tuple[str, ...], start: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            c: np.arange(start, start + 4, dtype=np.float64 if c in FLOAT_COLUMNS else np.int64)
            for c in names
        }
        out["instrument_key"] = ["NSE_EQ|K"] * 4
        return out

    def ticks(start: int, features: bool = True) -> TickBatch:
        group = None
        if features:
            values = cols(FEATURE_COLUMNS, start)
            del values["instrument_key"]
            group = TickFeatures(**values)
        return TickBatch(**cols(RAW_TICK_COLUMNS, start), features=group)

    seen: list[tuple[str, tuple[str, ...], list[int]]] = []

    class Columns:
        def write(self, batch: ColumnBatch) -> None:
            seen.append((batch.TABLE, tuple(batch.columns()), batch.ts.tolist()))

    writer = BatchingWriter(Columns(), min_rows=100, max_delay_s=10.0, hold_back_s=0)
    writer.write(ticks(0))
    writer.write(ticks(10, features=False))
    writer.write(ticks(20))
    writer.flush(timeout=10)
    writer.close()
    assert sorted(seen) == [
        ("ticks", RAW_TICK_COLUMNS, [10, 11, 12, 13]),
        ("ticks", TICK_COLUMNS, [0, 1, 2, 3, 20, 21, 22, 23]),
    ]


class Outage:
    """A store that refuses writes while ``down`` is set, remembering what it took."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.refused = 0
        self.rows: list[int] = []

    def write(self, batch: ColumnBatch) -> None:
        if self.down.is_set():
            self.refused += 1
            raise StoreError("connection refused")
        self.rows.extend(batch.ts.tolist())


class Heard:
    def __init__(self) -> None:
        self.failed: list[tuple[str, int]] = []
        self.recovered: list[int] = []

    def write_failed(self, error: BaseException, attempt: int, delay_s: float) -> None:
        self.failed.append((str(error), attempt))

    def write_recovered(self, attempts: int, outage_s: float) -> None:
        assert outage_s >= 0
        self.recovered.append(attempts)


def _wait(condition: Any, what: str) -> None:
    pause = threading.Event()
    for _ in range(500):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_with_retries_a_refused_write_is_retried_until_taken_and_flush_waits() -> None:
    store, heard = Outage(), Heard()
    store.down.set()
    writer = BatchingWriter(
        store, min_rows=1, max_delay_s=0.01, retry_delay=lambda n: 0.01, listener=heard
    )
    writer.write(_candles(0, 3))
    _wait(lambda: store.refused >= 3, "three refused attempts")
    assert writer.failing == "connection refused"
    writer.write(_candles(3, 3))  # accepted while the store is down (queued)
    flushed = threading.Event()
    flusher = threading.Thread(target=lambda: (writer.flush(timeout=10), flushed.set()))
    flusher.start()
    assert not flushed.wait(0.1)  # a checkpoint waits: no commit past unwritten rows
    store.down.clear()
    flusher.join(10)
    assert flushed.is_set()
    assert sorted(store.rows) == list(range(6))  # every row, once
    assert writer.failing is None
    assert [a for _, a in heard.failed[:3]] == [1, 2, 3]
    assert heard.recovered == [len(heard.failed)]
    writer.close()


def test_give_up_stops_the_retries_and_the_error_reaches_the_caller() -> None:
    store = Outage()
    store.down.set()
    writer = BatchingWriter(store, min_rows=1, max_delay_s=0.01, retry_delay=lambda n: 60.0)
    writer.write(_candles(0, 2))
    _wait(lambda: store.refused >= 1, "a refused attempt")
    writer.give_up()  # cuts the 60 s wait short
    with pytest.raises(StoreError, match="connection refused"):
        writer.flush(timeout=10)
    with pytest.raises(StoreError):
        writer.close()
