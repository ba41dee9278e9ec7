"""The feature service loop: consume ticks, enrich, publish, store, checkpoint, commit.

Built by ``quant features`` and ``quant up`` with a bus consumer (group ``features``) on
``market.equity.ticks`` and ``market.option.greeks``, a publisher, the pure engine, a
tick sink and a snapshot store. One :meth:`FeatureService.step` (run off the event loop
by :meth:`run`) polls a batch, decodes its ticks straight into columns in one call
(``decode_tick_columns``: the native ``quant_wire`` decoder when installed), runs the
engine on the columns, encodes the ``EnrichedTick``s from them in one call and publishes
them to ``market.enriched.ticks`` and ``Candle``s to ``market.candles.1m`` (keyed by
instrument_key), then hands the ticks with their features (one row each), greeks and
candles to the sink (over QuestDB a background writer that joins batches into large
requests). No tuple is built per tick on this path.

Checkpoints make restarts exact. At most every ``checkpoint_interval_s``: flush the
publisher, capture the engine state with the last processed offset of every partition,
then flush the sink, save that snapshot and only then commit exactly those offsets; with
``background_checkpoints`` (``quant features``) the last three run on a checkpoint thread
while processing goes on, and a failure there stops the service. Any redelivered message
(after a crash, a broker restart or a rebalance) at or below the last processed offset
of its partition is skipped, since its effect is already in the (restored) state; the
rest are processed again and the store's DEDUP keys absorb repeated writes:
at-least-once delivery, effectively-once results, and the same VWAP as an uninterrupted
run. A failed commit (group rebalancing while a broker restarts) is logged, counted and
retried at the next checkpoint. One replica per consumer group: engine state is not
handed over between members when partitions move.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import queue
import struct
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from quant.analytics.column_ops import concat, empty_columns, take
from quant.analytics.columns import MAX_LEVELS, TickColumns
from quant.bus import codecs, topics
from quant.bus.errors import CommitError
from quant.bus.port import Consumer, Publisher, Received
from quant.core.clock import NS_PER_SECOND, Clock
from quant.core.events import OptionGreeks
from quant.features.codec_columns import decode_tick_columns, encode_enriched_columns
from quant.features.metrics import FeatureMetrics
from quant.features.plausible import plausible_rows
from quant.features.ports import (
    EngineOutput,
    FeatureEngine,
    Part,
    Parts,
    SnapshotStore,
    TickSink,
)
from quant.runtime.blocking import run_blocking
from quant.upstox.checks import RejectionLog

log = logging.getLogger(__name__)

INPUT_TOPICS = (topics.TICKS.name, topics.GREEKS.name)
_HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class FeatureServiceConfig:
    batch_size: int = 2000
    poll_timeout_s: float = 0.2
    checkpoint_interval_s: float = 5.0
    drain_s: float = 0.0  # on close, keep processing what is already on the bus this long
    max_hold_s: float = 1.0  # longest a derivative tick waits for its underlying's instant
    max_depth_levels: int = MAX_LEVELS  # depth levels kept per tick (30 = the D30 feed)
    # flush, save and commit checkpoints on a thread of their own (see ``checkpoint``)
    background_checkpoints: bool = False


def _held_to_json(held: TickColumns) -> dict[str, object]:
    columns = {
        name: column.tolist()
        for name, column in zip(TickColumns._fields[1:], held[1:], strict=True)
        if column is not None
    }
    return {"keys": held.keys, "columns": columns}


def _held_from_json(data: dict[str, object]) -> TickColumns:
    keys = [str(k) for k in data["keys"]]  # type: ignore[attr-defined]
    columns: dict[str, object] = data["columns"]  # type: ignore[assignment]
    n = len(keys)
    values: list[object] = [keys]
    for name in TickColumns._fields[1:]:
        raw = columns.get(name)
        if raw is None:
            values.append(None)
            continue
        dtype = np.bool_ if name == "has_volume" else np.int64
        array: np.ndarray = np.asarray(raw, dtype=dtype)
        if name in ("bid_price", "bid_qty", "ask_price", "ask_qty"):
            array = array.reshape(n, -1)
        values.append(array)
    return TickColumns(*values)  # type: ignore[arg-type]


def pack_checkpoint(
    offsets: dict[str, int], engine: Parts, held: TickColumns | None = None
) -> list[Part]:
    """Offsets, the ticks still held back (their offsets are in ``offsets``), the engine's
    snapshot: the parts of one checkpoint blob (the engine's are not copied)."""
    head: dict[str, object] = {"v": 1, "offsets": offsets}
    if held is not None and held.keys:
        head["held"] = _held_to_json(held)
    header = json.dumps(head).encode()
    return [_HEADER.pack(len(header)) + header, *engine]


def unpack_checkpoint(blob: bytes) -> tuple[dict[str, int], bytes, TickColumns]:
    (size,) = _HEADER.unpack_from(blob)
    header = json.loads(blob[_HEADER.size : _HEADER.size + size])
    if header.get("v") != 1:
        raise ValueError(f"unknown checkpoint version {header.get('v')!r}")
    offsets = {str(k): int(v) for k, v in header["offsets"].items()}
    held = _held_from_json(header["held"]) if "held" in header else empty_columns()
    return offsets, blob[_HEADER.size + size :], held


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Defer the cyclic GC to the end of one batch (then it runs as due).

    A batch allocates ~30 tuples/ints per tick; with the default thresholds that triggers
    a generation-2 pass over the whole heap (engine state, instrument master) every few
    thousand ticks, measured as ~3x the native decode's own cost. Re-enabled only if this
    call disabled it, so nested or concurrent services leave the GC as they found it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _partition(slot: str) -> tuple[str, int]:
    topic, _, partition = slot.rpartition(":")  # topic names have no ':'
    return topic, int(partition)


class Checkpointer:
    """One background thread that runs checkpoint jobs in order, one waiting at most.

    A failed job (the tick store or the snapshot store failed) stops it: later jobs are
    dropped, and the error is raised to the processing thread at its next step, which
    ends the service: nothing after the last good checkpoint was committed, so a restart
    redoes it. (While the tick store is down its writer retries, so a job waits, and
    the processing thread with it once a second job is queued: backpressure.)
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="feature-checkpoints", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; blocks while an earlier one is still waiting (backpressure)."""
        self.raise_error()
        self._jobs.put(job)

    def raise_error(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"a background checkpoint failed: {self._error}") from self._error

    def close(self) -> None:
        """Run what is queued, stop, and raise the error of a failed job, if any."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self.raise_error()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is not None:
                # after a failure the jobs are dropped, not run (nothing more is committed),
                # but still taken: a processing thread blocked in ``submit`` goes on and
                # meets the error at its next step
                continue
            try:
                job()
            except BaseException as e:  # handed to the processing thread
                log.error("background checkpoint failed; the service stops: %s", e)
                self._error = e


def derivative_mask(keys: Sequence[str]) -> np.ndarray:
    """Per key: is it a derivative (``NSE_FO|…``, ``BSE_FO|…``, ``MCX_FO|…``)?"""
    return np.fromiter((k[3:6] == "_FO" for k in keys), dtype=np.bool_, count=len(keys))


class FeatureService:
    """One consumer-group member of the feature engine."""

    def __init__(
        self,
        *,
        consumer: Consumer,
        publisher: Publisher,
        engine: FeatureEngine,
        sink: TickSink,
        snapshots: SnapshotStore,
        metrics: FeatureMetrics,
        clock: Clock,
        config: FeatureServiceConfig | None = None,
        underlyings: Mapping[str, str] | None = None,
    ) -> None:
        self._consumer = consumer
        self._publisher = publisher
        self._engine = engine
        self._sink = sink
        self._snapshots = snapshots
        self._metrics = metrics
        self._rejections = RejectionLog(name="features")
        self._clock = clock
        self._config = config or FeatureServiceConfig()
        self._offsets: dict[str, int] = {}
        self._upstox_iv: dict[str, float] = {}
        self._held = empty_columns()  # derivative ticks waiting for their underlying
        self._held_since = np.zeros(0, dtype=np.int64)
        self._watermark = 0  # latest ts_event of any non-derivative tick
        # option key -> its underlying's key, and the latest ts_event seen of each underlying
        self._underlyings: dict[str, str] = dict(underlyings or {})
        self._underlying_keys = frozenset(self._underlyings.values())
        self._underlying_ts: dict[str, int] = {}
        self._dirty = False
        self._last_checkpoint = clock.now_ns()
        self._checkpointer = Checkpointer() if self._config.background_checkpoints else None
        self.processed = 0

    def restore(self) -> bool:
        """Load the latest snapshot, if any; returns whether one was restored."""
        blob = self._snapshots.load()
        if blob is None:
            return False
        self._offsets, engine_blob, self._held = unpack_checkpoint(blob)
        self._held_since = np.full(len(self._held.keys), self._clock.now_ns(), np.int64)
        self._engine.restore(engine_blob)
        log.info("restored feature-engine snapshot at offsets %s", self._offsets)
        return True

    async def run(self) -> None:
        """Poll and process until cancelled, then checkpoint what was processed."""
        try:
            while True:
                await run_blocking(self.step)
        finally:
            await run_blocking(self.close)

    def step(self) -> int:
        """Process one polled batch; checkpoint if due. Returns messages processed."""
        cfg = self._config
        self._raise_background_error()
        messages = self._consumer.poll(cfg.batch_size, cfg.poll_timeout_s)
        if messages or self._held.keys:  # held ticks may be due even when nothing arrived
            with _gc_paused():
                self._process(messages)
        if self._dirty:
            elapsed = self._clock.now_ns() - self._last_checkpoint
            if elapsed >= cfg.checkpoint_interval_s * NS_PER_SECOND:
                self.checkpoint()
        return len(messages)

    def close(self) -> None:
        """Drain for up to ``drain_s`` (if configured), checkpoint what was processed, then
        close the consumer (it leaves the group at once) and the publisher."""
        try:
            try:
                self._drain()
                if self._held.keys:  # shutting down: enrich them with what is known now
                    self._enrich(self._release(empty_columns(), force=True), [])
                if self._dirty:
                    self.checkpoint()
            finally:
                if self._checkpointer is not None:
                    self._checkpointer.close()  # waits for the last checkpoint (raises its error)
        except BaseException:
            self._close_clients(quiet=True)  # the checkpoint's error is the one to report
            raise
        self._close_clients(quiet=False)

    def _drain(self) -> None:
        """Process what is already on the bus, for up to ``drain_s``."""
        if self._config.drain_s <= 0:
            return
        deadline = self._clock.now_ns() + int(self._config.drain_s * NS_PER_SECOND)
        while self._clock.now_ns() < deadline:
            messages = self._consumer.poll(self._config.batch_size, 0.05)
            if not messages:
                break
            self._process(messages)

    def _close_clients(self, *, quiet: bool) -> None:
        """Close the consumer and the publisher; raise the first error unless ``quiet``."""
        first: Exception | None = None
        for client in (self._consumer, self._publisher):
            try:
                client.close()
            except Exception as e:
                log.warning("closing the %s failed: %s", type(client).__name__, e)
                first = first or e
        if first is not None and not quiet:
            raise first

    def checkpoint(self) -> None:
        """Checkpoint what was processed: flush writes and publishes, save, commit.

        The state is captured here, on the processing thread; with
        ``background_checkpoints`` the slow part (waiting for the tick store's writes,
        serialising and saving the snapshot, committing the offsets it names) runs on the
        checkpoint thread, so the hot path does not wait for the store every few seconds.
        """
        self._raise_background_error()
        started = self._clock.now_ns()
        self._publisher.flush()  # every enriched tick of these offsets is on the bus
        offsets = dict(self._offsets)
        held = self._held  # held option ticks: their offsets are in ``offsets``, so they
        # go into the snapshot too (releasing them early would price them off a stale
        # underlying while a lagging partition catches up)
        serialise = self._engine.snapshot_later()
        self._dirty = False
        self._last_checkpoint = self._clock.now_ns()

        def persist() -> None:
            self._sink.flush()
            written = self._snapshots.save(pack_checkpoint(offsets, serialise(), held))
            self._metrics.snapshot_bytes.inc(written)
            try:
                self._consumer.commit({_partition(slot): last for slot, last in offsets.items()})
            except CommitError as e:
                # e.g. the broker restarted and the group rebalanced: the snapshot holds the
                # offsets, redeliveries are skipped, and the commit is retried next time
                self._metrics.commit_failures.inc()
                log.warning("offset commit failed (retried at the next checkpoint): %s", e)
                self._dirty = True
                self._last_checkpoint = 0
                return
            elapsed = self._clock.now_ns() - started
            self._metrics.checkpoint_seconds.observe(elapsed / NS_PER_SECOND)

        if self._checkpointer is None:
            persist()
        else:
            self._checkpointer.submit(persist)

    def _raise_background_error(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.raise_error()

    def _process(self, messages: Sequence[Received]) -> None:
        tick_values: list[bytes] = []
        tick_at: list[tuple[str, int]] = []  # (slot, offset) of each tick value
        greeks: list[OptionGreeks] = []
        done = self._offsets
        ticks_topic = topics.TICKS.name
        for msg in messages:
            topic = msg.topic()
            slot = f"{topic}:{msg.partition()}"
            offset = msg.offset() or 0
            if offset <= done.get(slot, -1):
                # redelivered (after a rebalance or a restart): already in the engine state
                self._metrics.skipped.inc()
                continue
            done[slot] = offset
            value = msg.value()
            if not isinstance(value, bytes):
                continue
            if topic == ticks_topic:
                tick_values.append(value)
                tick_at.append((slot, offset))
                continue
            try:
                greeks.append(codecs.decode_greeks(value))
            except codecs.CodecError:
                self._metrics.decode_errors.inc()
                log.exception("undecodable message at %s offset %d; skipped", slot, offset)
        ticks, errors = decode_tick_columns(tick_values, self._config.max_depth_levels)
        for i, error in errors:
            self._metrics.decode_errors.inc()
            slot, offset = tick_at[i]
            log.error("undecodable message at %s offset %d; skipped: %s", slot, offset, error)
        ticks = self._plausible(ticks)
        self._dirty = True
        self.processed += len(messages)
        self._enrich(self._release(ticks), greeks)

    def _plausible(self, ticks: TickColumns) -> TickColumns:
        """``ticks`` without those holding out-of-range values (counted, logged)."""
        ok = plausible_rows(ticks)
        if ok.all():
            return ticks
        bad = np.flatnonzero(~ok).tolist()
        self._metrics.rejected.inc(len(bad))
        self._rejections.add([(ticks.keys[i], "out_of_range") for i in bad], self._clock.now_ns())
        return take(ticks, ok)

    def _release(self, ticks: TickColumns, *, force: bool = False) -> TickColumns:
        """The ticks to enrich now, in exchange-time order; holds early derivative ticks.

        Partitions are keyed by instrument, so a batch interleaves instruments arbitrarily
        and an option's tick can arrive a poll or two before its underlying's tick of the
        same instant. An option tick newer than the latest tick seen of its own underlying
        (other derivatives: of any non-derivative) is held until one at least as new
        arrives, for at most ``max_hold_s`` (across checkpoints: held ticks are part of the
        snapshot). Sorting by
        (ts_event, derivative last) is stable, so each instrument keeps its own order.
        """
        derivative = derivative_mask(ticks.keys)
        spot_rows = np.flatnonzero(~derivative)
        if spot_rows.size:
            spot_ts = ticks.ts_event[spot_rows]
            self._watermark = max(self._watermark, int(spot_ts.max()))
            if self._underlying_keys:
                seen, wanted, keys = self._underlying_ts, self._underlying_keys, ticks.keys
                for i, ts in zip(spot_rows.tolist(), spot_ts.tolist(), strict=True):
                    key = keys[i]
                    if key in wanted and ts > seen.get(key, -1):
                        seen[key] = ts
        if not self._held.keys and not derivative.any():
            return _in_time_order(ticks, derivative)
        now = self._clock.now_ns()
        expired = now - int(self._config.max_hold_s * NS_PER_SECOND)
        merged = concat(self._held, ticks)
        since = np.concatenate([self._held_since, np.full(len(ticks.keys), now, np.int64)])
        derivative = np.concatenate([np.ones(len(self._held.keys), np.bool_), derivative])
        if force:
            hold = np.zeros(len(merged.keys), dtype=np.bool_)
        else:
            hold = derivative & (merged.ts_event > self._awaited(merged, derivative))
            hold &= since > expired
        self._held = take(merged, hold)
        self._held_since = since[hold]
        release = ~hold
        return _in_time_order(take(merged, release), derivative[release])

    def _awaited(self, ticks: TickColumns, derivative: np.ndarray) -> np.ndarray:
        """Per row: the underlying-side time a derivative row must wait for."""
        awaited = np.full(len(ticks.keys), self._watermark, dtype=np.int64)
        if self._underlyings:
            keys, under, seen = ticks.keys, self._underlyings, self._underlying_ts
            for i in np.flatnonzero(derivative).tolist():
                u = under.get(keys[i])
                if u is not None:
                    awaited[i] = seen.get(u, -1)
        return awaited

    def _enrich(self, ticks: TickColumns, greeks: list[OptionGreeks]) -> None:
        for g in greeks:
            self._upstox_iv[g.instrument_key] = g.iv
        n = len(ticks.keys)
        if n:
            out = self._engine.process(ticks)
            publish = self._publisher.publish
            enriched_topic = topics.ENRICHED.name
            values = encode_enriched_columns(ticks, out.features, out.ts_enriched)
            for key, value in zip(ticks.keys, values, strict=True):
                publish(enriched_topic, key, value)
            for c in out.candles:
                publish(topics.CANDLES.name, c.instrument_key, codecs.encode_candle(c))
            now = self._clock.now_ns()
            self._metrics.latency.observe((now - int(ticks.ts_init[-1])) / NS_PER_SECOND)
            self._metrics.ticks.inc(n)
            self._metrics.enriched.inc(n)
            self._metrics.candles.inc(len(out.candles))
            self._compare_iv(ticks, out)
            self._sink.write_ticks(ticks, out)
            if out.candles:
                self._sink.write_candles(out.candles)
        if greeks:
            self._sink.write_greeks(greeks)

    def _compare_iv(self, ticks: TickColumns, out: EngineOutput) -> None:
        if not self._upstox_iv:
            return
        iv = out.features.iv
        keys = ticks.keys
        for i in np.flatnonzero(np.isfinite(iv)).tolist():
            theirs = self._upstox_iv.get(keys[i])
            if theirs is not None and math.isfinite(theirs):
                self._metrics.iv_diff.observe(abs(float(iv[i]) - theirs))


def _in_time_order(ticks: TickColumns, derivative: np.ndarray) -> TickColumns:
    """``ticks`` stably sorted by (ts_event, derivatives after underlyings)."""
    ts = ticks.ts_event
    if ts.size < 2:
        return ticks
    if not derivative.any() and bool(np.all(ts[1:] >= ts[:-1])):
        return ticks
    order = np.lexsort((derivative, ts))
    return take(ticks, order)
