"""Background, coalescing writes to a tick store: small batches in, large requests out.

Each tick-store write is a transaction on the server; QuestDB spends a near-fixed cost on
every one (in bench runs, 5,000-row requests cost twice the server CPU per row of
50,000-row ones). The feature engine polls small batches to keep latency low, so
:class:`BatchingWriter` takes its ``write`` calls (typed column batches of
:mod:`quant.store.tables`), queues them per table (and column set) and writes them from
one background thread, joined into one request per table, as soon as ``min_rows`` rows
are queued or the oldest has waited ``max_delay_s`` (1 s: at 10k ticks/s that is 10k-row
requests; with 0.25 s QuestDB used 24% of a core instead of 15%, CPU the feature engine
shares on a small machine).

* ``flush()`` returns once everything queued before it is written (the feature service
  calls it before it saves a checkpoint and commits its Kafka offsets), and raises if a
  write failed;
* a failed write, with ``retry_delay`` given (the feature service gives it), is retried:
  the same rows again after ``retry_delay(attempt)`` seconds, until the store takes them
  (writes are idempotent upserts on the tables' DEDUP keys, so a request the store half
  took before it failed writes nothing twice). Meanwhile ``flush()`` waits (the feature
  service holds its Kafka commits), new batches queue up to ``max_pending_rows``, and the
  ``listener`` hears of each failure and of the recovery. After :meth:`give_up` (the
  service is stopping) or without ``retry_delay``, a failed write stops the writer:
  every later call raises :class:`StoreError` naming the cause, nothing more is written,
  and whatever was not written is redelivered from the last committed offsets after the
  restart;
* ``write`` blocks while ``max_pending_rows`` rows wait (backpressure);
* rows of the newest ``hold_back_s`` of a table's time (``ts``) wait for the next request
  (at most ``max_delay_s`` more; a flush writes them at once). Ticks come from several
  Kafka partitions, so one request's newest rows are a little ahead of rows the next will
  bring; a row older than what the table already holds makes QuestDB merge it out of
  order, rewriting the tail of the partition: measured at 10-250x write amplification and
  40-175 ms of a core per commit at 10k ticks/s, where in-order commits took 2-10 ms.

Callers hand over their batches' arrays and must not modify them afterwards. A
``TickWriter`` itself; built, and closed, by the feature composition roots over
``QuestDBTickStore`` (``quant.features.adapters.StoreSink.batched``).
``abandon()`` stops a writer as a crash would (nothing more is written); at interpreter
exit every writer still running is abandoned, with a warning, so no background write is
in flight while Python tears itself down.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol

from quant.store.batch import concat
from quant.store.ports import StoreError, TickWriter
from quant.store.tables import ColumnBatch

log = logging.getLogger(__name__)


Stream = tuple[str, tuple[str, ...]]  # (table, the batch's columns in table order)


def split_at(batch: ColumnBatch, cut: int) -> tuple[ColumnBatch | None, ColumnBatch | None]:
    """``batch`` split into the rows with ``ts <= cut`` and the rest (``None``: no rows)."""
    keep = batch.ts <= cut
    n_keep = int(keep.sum())
    if n_keep == len(batch):
        return batch, None
    if n_keep == 0:
        return None, batch
    return batch.take(keep), batch.take(~keep)


class RetryListener(Protocol):
    """Told of failed writes being retried and of the recovery (on the writer thread)."""

    def write_failed(self, error: BaseException, attempt: int, delay_s: float) -> None:
        """Write ``attempt`` (1, 2, ...) of the same rows failed; retried in ``delay_s``."""
        ...

    def write_recovered(self, attempts: int, outage_s: float) -> None:
        """The rows were written after ``attempts`` failures, ``outage_s`` after the first."""
        ...


class BatchingWriter:
    """``write`` + ``flush`` over a store, written from a background thread."""

    def __init__(
        self,
        store: TickWriter,
        *,
        min_rows: int = 50_000,
        max_delay_s: float = 1.0,
        max_pending_rows: int = 500_000,
        hold_back_s: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
        retry_delay: Callable[[int], float] | None = None,
        listener: RetryListener | None = None,
    ) -> None:
        if min_rows < 1 or max_pending_rows < min_rows or max_delay_s <= 0 or hold_back_s < 0:
            raise ValueError(
                "need 1 <= min_rows <= max_pending_rows, max_delay_s > 0 and hold_back_s >= 0"
            )
        self._store = store
        self._min_rows = min_rows
        self._max_delay = max_delay_s
        self._max_pending = max_pending_rows
        self._hold_back_ns = int(hold_back_s * 1e9)
        self._now = monotonic
        self._cond = threading.Condition()
        # batches by (table, their columns): a ``ticks`` batch without features is never
        # joined with one that has them
        self._pending: dict[Stream, list[ColumnBatch]] = {}
        self._pending_rows = 0
        self._oldest = 0.0
        self._queued = 0  # batches accepted so far
        self._written = 0  # batches written so far (held-back rows are not yet)
        self._held: dict[Stream, ColumnBatch] = {}  # rows held back (writer thread)
        self._held_since = 0.0
        self._flushing = 0  # callers waiting in flush()
        self._error: BaseException | None = None
        self._closed = False
        self._abandoned = False
        self._retry_delay = retry_delay
        self._listener = listener
        self._give_up = False
        self._failing: str | None = None  # the last error while a write is being retried
        self._thread = threading.Thread(target=self._run, name="tick-store-writer", daemon=True)
        _running.add(self)
        self._thread.start()

    # --- callers ------------------------------------------------------------------------

    def write(self, batch: ColumnBatch) -> None:
        """Queue ``batch`` (an empty one is dropped); blocks while too much is pending."""
        rows = len(batch)
        if not rows:
            return
        with self._cond:
            while (
                self._error is None
                and not self._closed
                and self._pending_rows > 0
                and self._pending_rows + rows > self._max_pending
            ):
                self._cond.wait()
            self._raise_if_failed()
            if self._closed:
                raise StoreError("tick-store writer is closed")
            if not self._pending_rows:
                self._oldest = self._now()
            self._pending.setdefault((batch.TABLE, batch.layout), []).append(batch)
            self._pending_rows += rows
            self._queued += 1
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every batch queued so far is written; raise if a write failed."""
        deadline = None if timeout is None else self._now() + timeout
        with self._cond:
            target = self._queued
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._written < target and self._error is None and not self._abandoned:
                    left = None if deadline is None else deadline - self._now()
                    if left is not None and left <= 0:
                        raise StoreError(f"tick-store writes not done within {timeout}s")
                    self._cond.wait(left)
                self._raise_if_failed()
            finally:
                self._flushing -= 1

    def close(self) -> None:
        """Write what is queued, then stop the thread (raises if a write failed)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        with self._cond:
            self._raise_if_failed()

    def abandon(self, timeout: float | None = None) -> int:
        """Stop without writing anything more, as a crash would; returns the rows dropped.

        A write already in progress is waited for (up to ``timeout``); queued and held
        rows are dropped (the feature service redoes them from its last checkpoint).
        """
        with self._cond:
            dropped = self._pending_rows + sum(map(len, self._held.values()))
            self._closed = self._abandoned = True
            self._pending, self._pending_rows, self._held = {}, 0, {}
            self._cond.notify_all()
        self._thread.join(timeout)
        return dropped

    def give_up(self) -> None:
        """Retry no more: a write failing from now on (or being retried) stops the writer
        as without ``retry_delay`` (the owner is shutting down; nothing is committed)."""
        with self._cond:
            self._give_up = True
            self._cond.notify_all()

    @property
    def failing(self) -> str | None:
        """The error of the write being retried, or ``None`` while writes succeed."""
        with self._cond:
            return self._failing

    @property
    def pending_rows(self) -> int:
        with self._cond:
            return self._pending_rows

    def _raise_if_failed(self) -> None:
        if self._abandoned:
            raise StoreError("tick-store writer was abandoned; its unwritten rows were dropped")
        if self._error is not None:
            raise StoreError(f"an earlier tick-store write failed: {self._error}") from self._error

    # --- the writer thread --------------------------------------------------------------

    def _due(self) -> bool:
        if not self._pending_rows:
            if not self._held:
                return False
            if self._closed or self._flushing:
                return True
            return self._now() - self._held_since >= self._max_delay
        if self._closed or self._flushing or self._pending_rows >= self._min_rows:
            return True
        return self._now() - self._oldest >= self._max_delay

    def _next_wait(self) -> float | None:
        if self._pending_rows:
            return max(0.0, self._oldest + self._max_delay - self._now())
        if self._held:
            return max(0.0, self._held_since + self._max_delay - self._now())
        return None

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            _running.discard(self)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._abandoned:
                    return
                while not self._due():
                    if self._closed and not self._pending_rows and not self._held:
                        return
                    self._cond.wait(self._next_wait())
                batches, self._pending = self._pending, {}
                self._pending_rows = 0
                taken = self._queued
                # everything goes out when asked for (flush, close) or when the held rows
                # have waited long enough (a quiet stream); otherwise the newest are held
                final = (
                    self._closed
                    or self._flushing > 0
                    or (not batches and self._now() - self._held_since >= self._max_delay)
                )
                held, self._held = self._held, {}
                self._cond.notify_all()  # writers blocked on max_pending_rows may go on
            try:
                keep = self._write_retrying(batches, held, final)
            except BaseException as e:
                log.error("tick-store write failed; the writer stops: %s", e)
                with self._cond:
                    self._error = e
                    self._failing = None
                    self._cond.notify_all()
                return
            with self._cond:
                if self._abandoned:
                    return
                self._held = keep
                if keep:
                    self._held_since = self._now()
                else:
                    self._written = taken
                self._cond.notify_all()

    def _write_retrying(
        self,
        batches: dict[Stream, list[ColumnBatch]],
        held: dict[Stream, ColumnBatch],
        final: bool,
    ) -> dict[Stream, ColumnBatch]:
        """:meth:`_write`, retried after each failure while retries are on (the same rows:
        the upserts make a repeat harmless); raises the error once they are off."""
        attempt = 0
        first_failure = 0.0
        while True:
            try:
                keep = self._write(batches, held, final)
            except Exception as e:
                retry_delay = self._retry_delay
                with self._cond:
                    stop = retry_delay is None or self._give_up or self._abandoned
                if stop or retry_delay is None:
                    raise
                attempt += 1
                if attempt == 1:
                    first_failure = self._now()
                delay = retry_delay(attempt)
                with self._cond:
                    self._failing = str(e) or type(e).__name__
                    self._cond.notify_all()
                if self._listener is not None:
                    self._listener.write_failed(e, attempt, delay)
                with self._cond:  # a give_up() or abandon() cuts the wait short
                    self._cond.wait_for(lambda: self._give_up or self._abandoned, delay)
                    if self._abandoned:
                        raise StoreError("abandoned while retrying a failed write") from e
                continue
            if attempt:
                with self._cond:
                    self._failing = None
                if self._listener is not None:
                    self._listener.write_recovered(attempt, self._now() - first_failure)
            return keep

    def _write(
        self,
        batches: dict[Stream, list[ColumnBatch]],
        held: dict[Stream, ColumnBatch],
        final: bool,
    ) -> dict[Stream, ColumnBatch]:
        """Write the held rows and the new batches, per table (and column set) in one
        request; returns the rows held back for the next round (none if ``final``)."""
        keep: dict[Stream, ColumnBatch] = {}
        for stream in [*held, *(s for s in batches if s not in held)]:
            parts = [held[stream]] if stream in held else []
            parts += batches.get(stream, [])
            batch: ColumnBatch | None = concat(parts)
            if not final and self._hold_back_ns and batch is not None:
                cut = int(batch.ts.max()) - self._hold_back_ns
                batch, later = split_at(batch, cut)
                if later is not None:
                    keep[stream] = later
            if batch is not None:
                self._store.write(batch)
        return keep


_running: weakref.WeakSet[BatchingWriter] = weakref.WeakSet()


def running_writers() -> list[BatchingWriter]:
    """The writers whose thread has not stopped (neither closed nor abandoned yet)."""
    return list(_running)


@atexit.register
def _abandon_at_exit() -> None:
    """Stop writers nobody closed before Python finalises (a daemon thread in the middle
    of a native write at that point can crash the interpreter)."""
    for writer in list(_running):
        dropped = writer.abandon(timeout=5.0)
        log.warning("a tick-store writer was not closed; stopped at exit, %d rows dropped", dropped)
