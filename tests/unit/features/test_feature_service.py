"""The feature service loop on the in-process bus with a fake engine and sink.

Checks publish/write/commit ordering and that a restart (including a crash between
the snapshot and the commit) resumes with exactly the state of an uninterrupted run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from quant.analytics.columns import EnrichedColumns, TickColumns, from_ticks, to_enriched
from quant.bus import codecs, topics
from quant.bus.errors import CommitError
from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock
from quant.core.events import Candle, DepthLevel, FeedMode, OptionGreeks, Tick
from quant.features.metrics import FeatureMetrics
from quant.features.ports import EngineOutput
from quant.features.service import (
    FeatureService,
    FeatureServiceConfig,
    pack_checkpoint,
    unpack_checkpoint,
)
from quant.features.snapshots import MemorySnapshotStore
from quant.store.ports import StoreError

T0 = 1_795_000_000_000_000_000


class VwapEngine:
    """Cumulative VWAP per key; a candle whenever a key's 10th trade arrives."""

    def __init__(self) -> None:
        self.state: dict[str, list[int]] = {}

    def process(self, ticks: TickColumns) -> EngineOutput:
        n = len(ticks.keys)
        vwap = np.zeros(n)
        candles = []
        for i, key in enumerate(ticks.keys):
            ltp, ltq = int(ticks.ltp[i]), int(ticks.ltq[i])
            pv, vol, count = self.state.setdefault(key, [0, 0, 0])
            pv, vol, count = pv + ltp * ltq, vol + ltq, count + 1
            self.state[key] = [pv, vol, count]
            vwap[i] = pv / vol
            if count % 10 == 0:
                candles.append(Candle(key, 60, int(ticks.ts_event[i]), 1, 1, 1, 1, vol))
        f = np.zeros(n)
        i64 = np.zeros(n, dtype=np.int64)
        iv = np.where([k.startswith("NSE_FO") for k in ticks.keys], 0.2, np.nan)
        features = EnrichedColumns(
            vwap, f, f, f, f, i64, f, f, i64, ticks.ltq, i64, i64, f, iv, f, f, f, f
        )
        return EngineOutput(features, candles, T0)

    def snapshot(self) -> bytes:
        return json.dumps(self.state).encode()

    def snapshot_later(self) -> Callable[[], list[bytes]]:
        blob = self.snapshot()
        return lambda: [blob]

    def restore(self, blob: bytes) -> None:
        self.state = json.loads(blob)


class ListSink:
    def __init__(self) -> None:
        self.pending: list[object] = []
        self.flushed: list[object] = []

    def write_ticks(self, ticks: TickColumns, out: EngineOutput) -> None:
        self.pending.extend(("tick", k) for k in ticks.keys)
        self.pending.extend(to_enriched(ticks, out.features, out.ts_enriched))

    def write_greeks(self, greeks: Sequence[OptionGreeks]) -> None:
        self.pending.extend(greeks)

    def write_candles(self, candles: Sequence[Candle]) -> None:
        self.pending.extend(candles)

    def flush(self) -> None:
        self.flushed.extend(self.pending)
        self.pending.clear()


def _ticks(n: int) -> list[Tick]:
    return [
        Tick(f"NSE_EQ|K{i % 3}", FeedMode.FULL, T0 + i, T0 + i, 10_000 + i % 7, ltq=1 + i % 5)
        for i in range(n)
    ]


def _publish(bus: InProcessBus, ticks: Sequence[Tick]) -> None:
    pub = bus.publisher()
    for t in ticks:
        pub.publish(topics.TICKS.name, t.instrument_key, codecs.encode_tick(t))


def _service(
    bus: InProcessBus,
    snaps: MemorySnapshotStore,
    sink: ListSink,
    batch: int = 7,
    registry: CollectorRegistry | None = None,
) -> tuple[FeatureService, VwapEngine, FakeClock]:
    engine, clock = VwapEngine(), FakeClock(T0)
    svc = FeatureService(
        consumer=bus.consumer("features", [topics.TICKS.name, topics.GREEKS.name]),
        publisher=bus.publisher(),
        engine=engine,
        sink=sink,
        snapshots=snaps,
        metrics=FeatureMetrics(registry or CollectorRegistry()),
        clock=clock,
        config=FeatureServiceConfig(batch_size=batch, poll_timeout_s=0.0, checkpoint_interval_s=0),
    )
    svc.restore()
    return svc, engine, clock


def _drain(svc: FeatureService) -> None:
    while svc.step():
        pass


def test_publishes_enriched_and_candles_and_writes_before_commit() -> None:
    bus = InProcessBus()
    _publish(bus, _ticks(30))
    sink = ListSink()
    svc, _, _ = _service(bus, MemorySnapshotStore(), sink)
    _drain(svc)
    out = bus.consumer("check", [topics.ENRICHED.name, topics.CANDLES.name]).poll(1000, 0.1)
    assert sum(m.topic() == topics.ENRICHED.name for m in out) == 30
    assert sum(m.topic() == topics.CANDLES.name for m in out) == 3
    enriched = [
        codecs.decode_enriched(m.value()) for m in out if m.topic() == "market.enriched.ticks"
    ]
    last_k0 = [e for e in enriched if e.instrument_key == "NSE_EQ|K0"][-1]
    k0 = [t for t in _ticks(30) if t.instrument_key == "NSE_EQ|K0"]
    expected = sum(t.ltp * t.ltq for t in k0) / sum(t.ltq for t in k0)
    assert last_k0.session_vwap == expected
    assert sink.pending == []
    assert len(sink.flushed) == 30 + 30 + 3
    # everything committed: a new member of the group gets nothing
    svc.close()
    assert bus.consumer("features", [topics.TICKS.name]).poll(10, 0.0) == []


def test_restart_resumes_with_the_same_state_as_an_uninterrupted_run() -> None:
    ticks = _ticks(200)
    reference_bus = InProcessBus()
    _publish(reference_bus, ticks)
    ref, ref_engine, _ = _service(reference_bus, MemorySnapshotStore(), ListSink())
    _drain(ref)

    bus = InProcessBus()
    _publish(bus, ticks[:120])
    snaps = MemorySnapshotStore()
    first, _, _ = _service(bus, snaps, ListSink())
    for _ in range(5):
        first.step()
    first._consumer.close()  # the process dies mid-stream (every step checkpointed)
    _publish(bus, ticks[120:])
    second, engine, _ = _service(bus, snaps, ListSink())
    _drain(second)
    assert engine.state == ref_engine.state


def test_snapshot_without_commit_is_not_double_counted() -> None:
    ticks = _ticks(50)
    bus = InProcessBus()
    _publish(bus, ticks)
    snaps = MemorySnapshotStore()
    svc, engine, _ = _service(bus, snaps, ListSink(), batch=50)
    svc._consumer.commit = lambda offsets=None: None  # type: ignore[method-assign]  # lost
    svc.step()
    assert snaps.saves == 1
    svc._consumer.close()
    again, engine2, _ = _service(bus, snaps, ListSink(), batch=50)
    assert again.step() == 50  # all redelivered...
    assert engine2.state == engine.state  # ...but skipped: already in the snapshot


def test_checkpoint_round_trip() -> None:
    blob = b"".join(pack_checkpoint({"market.equity.ticks:3": 41}, [b"\x00eng", b"ine"]))
    offsets, engine, held = unpack_checkpoint(blob)
    assert (offsets, engine, held.keys) == ({"market.equity.ticks:3": 41}, b"\x00engine", [])
    ticks = [Tick("NSE_FO|1", FeedMode.FULL, T0, T0, 5, depth=(DepthLevel(4, 1, 6, 2),))]
    _, _, held = unpack_checkpoint(b"".join(pack_checkpoint({}, [], from_ticks(ticks))))
    assert held.keys == ["NSE_FO|1"]
    assert held.ts_event.tolist() == [T0]
    assert held.ask_qty.tolist() == [[2]]
    assert held.has_volume is not None and held.has_volume.tolist() == [True]


class FlakyConsumer:
    """Redelivers its first batch once and fails its first commit (a broker restart)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.first: Sequence[Any] = ()
        self.redelivered = False
        self.commits_failed = 0
        self.commits = 0

    def poll(self, max_messages: int = 1000, timeout: float = 1.0) -> Sequence[Any]:
        got = self.inner.poll(max_messages, timeout)
        if not self.first:
            self.first = got
        elif not self.redelivered:
            self.redelivered = True
            return [*self.first, *got]
        return got

    def commit(self, offsets: Any = None) -> None:
        if not self.commits_failed:
            self.commits_failed += 1
            raise CommitError("commit failed: group partition assignment lost")
        self.commits += 1
        self.inner.commit(offsets)

    def close(self) -> None:
        self.inner.close()


def test_redeliveries_are_skipped_and_a_failed_commit_is_retried() -> None:
    ticks = _ticks(40)
    bus = InProcessBus()
    _publish(bus, ticks)
    ref_engine = VwapEngine()
    ref_engine.process(from_ticks(ticks))
    registry = CollectorRegistry()
    engine = VwapEngine()
    consumer = FlakyConsumer(bus.consumer("features", [topics.TICKS.name]))
    svc = FeatureService(
        consumer=consumer,
        publisher=bus.publisher(),
        engine=engine,
        sink=ListSink(),
        snapshots=MemorySnapshotStore(),
        metrics=FeatureMetrics(registry),
        clock=FakeClock(T0),
        config=FeatureServiceConfig(batch_size=10, poll_timeout_s=0.0, checkpoint_interval_s=0),
    )
    _drain(svc)
    assert consumer.redelivered
    assert engine.state == ref_engine.state  # the redelivered batch was not counted twice
    assert registry.get_sample_value("features_skipped_after_restore_total") == 10
    assert registry.get_sample_value("features_commit_failures_total") == 1
    assert consumer.commits >= 1


class OrderEngine(VwapEngine):
    """Records the order in which the engine saw ticks."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def process(self, ticks: TickColumns) -> EngineOutput:
        self.seen.extend(zip(ticks.keys, ticks.ts_event.tolist(), strict=True))
        return super().process(ticks)


def _order_service(
    bus: InProcessBus,
    engine: OrderEngine,
    clock: FakeClock,
    snaps: MemorySnapshotStore | None = None,
    underlyings: dict[str, str] | None = None,
) -> FeatureService:
    return FeatureService(
        consumer=bus.consumer("features", [topics.TICKS.name]),
        publisher=bus.publisher(),
        engine=engine,
        sink=ListSink(),
        snapshots=snaps or MemorySnapshotStore(),
        metrics=FeatureMetrics(CollectorRegistry()),
        clock=clock,
        config=FeatureServiceConfig(batch_size=10, poll_timeout_s=0.0, checkpoint_interval_s=60),
        underlyings=underlyings,
    )


def test_an_option_tick_ahead_of_its_underlyings_waits_one_poll() -> None:
    bus = InProcessBus()
    pub = bus.publisher()
    opt = Tick("NSE_FO|1", FeedMode.FULL, T0 + 10, T0, 500, ltq=1)
    idx = Tick("NSE_INDEX|Nifty 50", FeedMode.FULL, T0 + 10, T0, 2_600_000, ltq=1)
    later = Tick("NSE_FO|1", FeedMode.FULL, T0 + 20, T0, 510, ltq=1)
    engine = OrderEngine()
    clock = FakeClock(T0)
    snaps = MemorySnapshotStore()
    svc = _order_service(bus, engine, clock, snaps)
    pub.publish(topics.TICKS.name, opt.instrument_key, codecs.encode_tick(opt))
    svc.step()
    assert engine.seen == []  # held: no underlying tick of that instant yet
    pub.publish(topics.TICKS.name, idx.instrument_key, codecs.encode_tick(idx))
    pub.publish(topics.TICKS.name, later.instrument_key, codecs.encode_tick(later))
    svc.step()
    assert engine.seen == [("NSE_INDEX|Nifty 50", T0 + 10), ("NSE_FO|1", T0 + 10)]
    svc.step()
    assert engine.seen[-1] == ("NSE_FO|1", T0 + 10)  # T0 + 20 waits for its underlying
    clock.advance(1.1)
    svc.step()  # ... but not longer than max_hold_s, even if nothing arrives
    assert engine.seen[-1] == ("NSE_FO|1", T0 + 20)
    pub.publish(topics.TICKS.name, "NSE_FO|1", codecs.encode_tick(later._replace(ts_event=T0 + 30)))
    svc.step()
    svc.checkpoint()  # a held tick stays held: it goes into the snapshot with its offset
    assert engine.seen[-1] == ("NSE_FO|1", T0 + 20)
    svc._consumer.close()  # the process stops; the next one restores the held tick...
    again = _order_service(bus, engine, clock, snaps)
    assert again.restore()
    assert again.step() == 0  # ...nothing is redelivered...
    pub.publish(
        topics.TICKS.name, idx.instrument_key, codecs.encode_tick(idx._replace(ts_event=T0 + 30))
    )
    again.step()  # ...and releases it once its underlying catches up
    assert engine.seen[-2:] == [("NSE_INDEX|Nifty 50", T0 + 30), ("NSE_FO|1", T0 + 30)]


def test_an_option_waits_for_its_own_underlying_not_any_instrument() -> None:
    bus = InProcessBus()
    pub = bus.publisher()
    opt = Tick("NSE_FO|1", FeedMode.FULL, T0 + 10, T0, 500, ltq=1)
    other = Tick("NSE_EQ|K9", FeedMode.FULL, T0 + 10, T0, 900, ltq=1)
    idx = Tick("NSE_INDEX|Nifty 50", FeedMode.FULL, T0 + 10, T0, 2_600_000, ltq=1)
    engine = OrderEngine()
    svc = _order_service(bus, engine, FakeClock(T0), underlyings={"NSE_FO|1": "NSE_INDEX|Nifty 50"})
    for t in (opt, other):
        pub.publish(topics.TICKS.name, t.instrument_key, codecs.encode_tick(t))
    svc.step()
    assert engine.seen == [("NSE_EQ|K9", T0 + 10)]  # an equity of that instant is not enough
    pub.publish(topics.TICKS.name, idx.instrument_key, codecs.encode_tick(idx))
    svc.step()
    assert engine.seen[1:] == [("NSE_INDEX|Nifty 50", T0 + 10), ("NSE_FO|1", T0 + 10)]


class OrderedSink(ListSink):
    """Records when the sink was flushed and when offsets were committed, in order."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def flush(self) -> None:
        threading.Event().wait(0.01)  # a slow store: the commit must still come after it
        super().flush()
        self.events.append(f"flush:{len(self.flushed)}")


def test_background_checkpoints_commit_only_what_was_written() -> None:
    bus = InProcessBus()
    _publish(bus, _ticks(60))
    events: list[str] = []
    sink = OrderedSink(events)
    consumer = bus.consumer("features", [topics.TICKS.name])
    real_commit = consumer.commit

    def commit(offsets: Any = None) -> None:
        assert offsets is not None  # explicit: the state of the snapshot, not the position
        events.append(f"commit:{sum(last + 1 for last in offsets.values())}")
        real_commit(offsets)

    consumer.commit = commit  # type: ignore[method-assign]
    svc = FeatureService(
        consumer=consumer,
        publisher=bus.publisher(),
        engine=VwapEngine(),
        sink=sink,
        snapshots=MemorySnapshotStore(),
        metrics=FeatureMetrics(CollectorRegistry()),
        clock=FakeClock(T0),
        config=FeatureServiceConfig(
            batch_size=7, poll_timeout_s=0.0, checkpoint_interval_s=0, background_checkpoints=True
        ),
    )
    _drain(svc)
    svc.close()
    assert events and events[-1] == "commit:60"
    for flush, commit in zip(events[::2], events[1::2], strict=True):
        assert flush.startswith("flush:") and commit.startswith("commit:")
    assert len(sink.flushed) == 60 + 60 + 6
    assert bus.consumer("features", [topics.TICKS.name]).poll(10, 0.0) == []


class FailingSink(ListSink):
    def flush(self) -> None:
        raise StoreError("questdb is gone")


def test_a_failed_background_checkpoint_stops_the_service_without_committing() -> None:
    bus = InProcessBus()
    _publish(bus, _ticks(20))
    svc = FeatureService(
        consumer=bus.consumer("features", [topics.TICKS.name]),
        publisher=bus.publisher(),
        engine=VwapEngine(),
        sink=FailingSink(),
        snapshots=MemorySnapshotStore(),
        metrics=FeatureMetrics(CollectorRegistry()),
        clock=FakeClock(T0),
        config=FeatureServiceConfig(
            batch_size=7, poll_timeout_s=0.0, checkpoint_interval_s=0, background_checkpoints=True
        ),
    )
    with pytest.raises(RuntimeError, match="questdb is gone"):
        for _ in range(100):
            svc.step()
            threading.Event().wait(0.005)
    svc._consumer.close()  # the process ends
    # nothing was committed: the next member of the group gets every tick again
    assert len(bus.consumer("features", [topics.TICKS.name]).poll(100, 0.0)) == 20


def test_snapshot_bytes_written_are_counted() -> None:
    class Recording(MemorySnapshotStore):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def save(self, parts: Sequence[bytes | memoryview]) -> int:  # type: ignore[override]
            self.sizes.append(super().save(parts))
            return self.sizes[-1]

    bus = InProcessBus()
    _publish(bus, _ticks(20))
    snaps, registry = Recording(), CollectorRegistry()
    svc, _, _ = _service(bus, snaps, ListSink(), registry=registry)
    _drain(svc)
    svc.close()
    assert len(snaps.sizes) >= 2 and all(snaps.sizes)
    written = registry.get_sample_value("features_snapshot_written_bytes_total")
    assert written == sum(snaps.sizes)


class StalledSink(ListSink):
    """A store that is down: ``flush`` waits until ``release`` is set, then fails (the
    writer gave up its retries because the service is stopping)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.flushing = threading.Event()

    def flush(self) -> None:
        self.flushing.set()
        self.release.wait()
        raise StoreError("questdb is down; gave up")


def test_a_checkpoint_waiting_behind_a_stalled_store_is_released_when_it_fails() -> None:
    bus = InProcessBus()
    _publish(bus, _ticks(60))
    sink = StalledSink()
    svc = FeatureService(
        consumer=bus.consumer("features", [topics.TICKS.name]),
        publisher=bus.publisher(),
        engine=VwapEngine(),
        sink=sink,
        snapshots=MemorySnapshotStore(),
        metrics=FeatureMetrics(CollectorRegistry()),
        clock=FakeClock(T0),
        config=FeatureServiceConfig(
            batch_size=7, poll_timeout_s=0.0, checkpoint_interval_s=0, background_checkpoints=True
        ),
    )
    errors: list[BaseException] = []

    def process() -> None:  # the processing thread: soon blocked behind the checkpoints
        try:
            for _ in range(20):
                svc.step()
        except RuntimeError as e:
            errors.append(e)

    worker = threading.Thread(target=process, daemon=True)
    worker.start()
    assert sink.flushing.wait(5)
    worker.join(0.2)
    assert worker.is_alive()  # held back while the store is down (no commit either)
    sink.release.set()  # the store's writer gives up: the checkpoint fails
    worker.join(5)
    assert not worker.is_alive(), "the processing thread stayed blocked behind a failed checkpoint"
    assert errors and "gave up" in str(errors[0])
    with pytest.raises(RuntimeError, match="gave up"):
        svc.close()
    assert len(bus.consumer("features", [topics.TICKS.name]).poll(100, 0.0)) == 60
