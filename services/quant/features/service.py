"""The feature service loop: consume ticks, enrich, publish, store, checkpoint, commit.

Built by ``quant features`` and ``quant up`` with a bus consumer (group ``features``) on
``market.equity.ticks`` and ``market.option.greeks``, a publisher, the pure engine, a
tick sink and a snapshot store. One :meth:`FeatureService.step` (run off the event loop
by :meth:`run`) polls a batch, decodes its ticks in one call (``decode_ticks``: the native
``quant_wire`` decoder when installed), runs the engine, publishes ``EnrichedTick``s
to ``market.enriched.ticks`` and ``Candle``s to ``market.candles.1m`` (keyed by
instrument_key) and writes ticks, greeks, enriched ticks and candles to the sink.

Checkpoints make restarts exact. At most every ``checkpoint_interval_s``: flush the sink,
flush the publisher, save the engine snapshot together with the last processed offset of
every partition, and only then commit the consumer's offsets. Any redelivered message
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
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from quant.blocking import run_blocking
from quant.bus import codecs, topics
from quant.bus.codec_marketdata import decode_ticks
from quant.bus.errors import CommitError
from quant.bus.port import Consumer, Publisher, Received
from quant.core.clock import NS_PER_SECOND, Clock
from quant.core.events import EnrichedTick, OptionGreeks, Tick
from quant.features.metrics import FeatureMetrics
from quant.features.ports import FeatureEngine, SnapshotStore, TickSink

log = logging.getLogger(__name__)

INPUT_TOPICS = (topics.TICKS.name, topics.GREEKS.name)
_HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class FeatureServiceConfig:
    batch_size: int = 2000
    poll_timeout_s: float = 0.2
    checkpoint_interval_s: float = 5.0
    drain_s: float = 0.0  # on close, keep processing what is already on the bus this long
    max_hold_s: float = 0.5  # longest a derivative tick waits for its underlying's instant


def pack_checkpoint(offsets: dict[str, int], engine_blob: bytes) -> bytes:
    header = json.dumps({"v": 1, "offsets": offsets}).encode()
    return _HEADER.pack(len(header)) + header + engine_blob


def unpack_checkpoint(blob: bytes) -> tuple[dict[str, int], bytes]:
    (size,) = _HEADER.unpack_from(blob)
    header = json.loads(blob[_HEADER.size : _HEADER.size + size])
    if header.get("v") != 1:
        raise ValueError(f"unknown checkpoint version {header.get('v')!r}")
    offsets = {str(k): int(v) for k, v in header["offsets"].items()}
    return offsets, blob[_HEADER.size + size :]


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


def _is_derivative(tick: Tick) -> bool:
    return tick.instrument_key[3:6] == "_FO"


def _time_order(tick: Tick) -> tuple[int, bool]:
    return tick.ts_event, _is_derivative(tick)


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
    ) -> None:
        self._consumer = consumer
        self._publisher = publisher
        self._engine = engine
        self._sink = sink
        self._snapshots = snapshots
        self._metrics = metrics
        self._clock = clock
        self._config = config or FeatureServiceConfig()
        self._offsets: dict[str, int] = {}
        self._upstox_iv: dict[str, float] = {}
        self._held: list[tuple[Tick, int]] = []  # (tick, held since)
        self._watermark = 0
        self._dirty = False
        self._last_checkpoint = clock.now_ns()
        self.processed = 0

    def restore(self) -> bool:
        """Load the latest snapshot, if any; returns whether one was restored."""
        blob = self._snapshots.load()
        if blob is None:
            return False
        self._offsets, engine_blob = unpack_checkpoint(blob)
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
        messages = self._consumer.poll(cfg.batch_size, cfg.poll_timeout_s)
        if messages or self._held:  # held ticks may be due even when nothing arrived
            with _gc_paused():
                self._process(messages)
        if self._dirty:
            elapsed = self._clock.now_ns() - self._last_checkpoint
            if elapsed >= cfg.checkpoint_interval_s * NS_PER_SECOND:
                self.checkpoint()
        return len(messages)

    def close(self) -> None:
        """Drain for up to ``drain_s`` (if configured), then checkpoint what was processed."""
        if self._config.drain_s > 0:
            deadline = self._clock.now_ns() + int(self._config.drain_s * NS_PER_SECOND)
            while self._clock.now_ns() < deadline:
                messages = self._consumer.poll(self._config.batch_size, 0.05)
                if not messages:
                    break
                self._process(messages)
        if self._dirty:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Flush writes and publishes, persist the snapshot, then commit offsets."""
        started = self._clock.now_ns()
        if self._held:  # their offsets are in the snapshot: their effect must be too
            self._enrich(self._release([], force=True), [])
        self._sink.flush()
        self._publisher.flush()
        self._snapshots.save(pack_checkpoint(self._offsets, self._engine.snapshot()))
        try:
            self._consumer.commit()
        except CommitError as e:
            # e.g. the broker restarted and the group rebalanced: the snapshot holds the
            # offsets, redeliveries are skipped, and the commit is retried next time
            self._metrics.commit_failures.inc()
            log.warning("offset commit failed (retried at the next checkpoint): %s", e)
            return
        self._dirty = False
        self._last_checkpoint = self._clock.now_ns()
        self._metrics.checkpoint_seconds.observe((self._last_checkpoint - started) / NS_PER_SECOND)

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
        ticks: list[Tick] = []
        for i, decoded in enumerate(decode_ticks(tick_values)):
            if isinstance(decoded, codecs.CodecError):
                self._metrics.decode_errors.inc()
                slot, offset = tick_at[i]
                log.error("undecodable message at %s offset %d; skipped: %s", slot, offset, decoded)
            else:
                ticks.append(decoded)
        self._dirty = True
        self.processed += len(messages)
        self._enrich(self._release(ticks), greeks)

    def _release(self, ticks: list[Tick], *, force: bool = False) -> list[Tick]:
        """The ticks to enrich now, in exchange-time order; holds early derivative ticks.

        Partitions are keyed by instrument, so a batch interleaves instruments arbitrarily
        and an option's tick can arrive a poll or two before its underlying's tick of the
        same instant. A derivative tick newer than every underlying-side tick seen so far
        is held until one at least as new arrives, for at most ``max_hold_s``, and never
        across a checkpoint. Sorting by (ts_event, derivative last) is stable, so each
        instrument keeps its own order.
        """
        for t in ticks:
            if not _is_derivative(t) and t.ts_event > self._watermark:
                self._watermark = t.ts_event
        now = self._clock.now_ns()
        expired = now - int(self._config.max_hold_s * NS_PER_SECOND)
        ready: list[Tick] = []
        held: list[tuple[Tick, int]] = []
        for t, since in self._held:
            if force or t.ts_event <= self._watermark or since <= expired:
                ready.append(t)
            else:
                held.append((t, since))
        for t in ticks:
            if _is_derivative(t) and t.ts_event > self._watermark and not force:
                held.append((t, now))
            else:
                ready.append(t)
        self._held = held
        ready.sort(key=_time_order)
        return ready

    def _enrich(self, ticks: list[Tick], greeks: list[OptionGreeks]) -> None:
        for g in greeks:
            self._upstox_iv[g.instrument_key] = g.iv
        enriched, candles = self._engine.process(ticks) if ticks else ((), ())
        publish = self._publisher.publish
        for e in enriched:
            publish(topics.ENRICHED.name, e.instrument_key, codecs.encode_enriched(e))
        for c in candles:
            publish(topics.CANDLES.name, c.instrument_key, codecs.encode_candle(c))
        now = self._clock.now_ns()
        if enriched:
            self._metrics.latency.observe((now - enriched[-1].ts_init) / NS_PER_SECOND)
        self._metrics.ticks.inc(len(ticks))
        self._metrics.enriched.inc(len(enriched))
        self._metrics.candles.inc(len(candles))
        self._compare_iv(enriched)
        if ticks:
            self._sink.write_ticks(ticks)
        if greeks:
            self._sink.write_greeks(greeks)
        if enriched:
            self._sink.write_enriched(enriched)
        if candles:
            self._sink.write_candles(candles)

    def _compare_iv(self, enriched: Sequence[EnrichedTick]) -> None:
        for e in enriched:
            theirs = self._upstox_iv.get(e.instrument_key)
            if theirs is not None and math.isfinite(e.iv) and math.isfinite(theirs):
                self._metrics.iv_diff.observe(abs(e.iv - theirs))
