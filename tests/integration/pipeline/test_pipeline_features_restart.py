"""The feature engine crashes mid-stream and resumes with the VWAP of an uninterrupted run.

Simulator -> ingestor -> private Kafka broker, live. Feature service A (file snapshots,
QuestDB sink) processes part of the stream and then dies without warning (its consumer
leaves the group, nothing is committed or saved after its last checkpoint). Service B,
a fresh process in the same group with the same snapshot file, restores and finishes
the stream. A reference service in another group processes the whole stream without
interruption. B's last session VWAP (and candles) per instrument equal the reference's,
and the VWAPs B wrote to QuestDB equal them too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pipeline_harness import RecordingBus, open_market, run_ingestor_for, sim_config, wait_until
from prometheus_client import CollectorRegistry

from quant.analytics.columns import TickColumns, to_enriched
from quant.analytics.engine import FeatureEngine
from quant.bus.kafka import KafkaBus
from quant.bus.port import Consumer, Publisher
from quant.core.clock import IST, SystemClock
from quant.core.events import Candle, EnrichedTick, OptionGreeks
from quant.core.instruments import Instrument
from quant.features.adapters import AnalyticsEngine, StoreSink, option_specs
from quant.features.metrics import FeatureMetrics
from quant.features.ports import EngineOutput
from quant.features.service import INPUT_TOPICS, FeatureService, FeatureServiceConfig
from quant.features.snapshots import FileSnapshotStore, MemorySnapshotStore
from quant.sim.server import SimServer
from quant.store.questdb_ticks import QuestDBTickStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = datetime(2026, 12, 4, 9, 14, 0, tzinfo=IST)  # a day no other test writes


class Tee:
    """A sink that remembers the last enriched tick per key and all candles."""

    def __init__(self, inner: StoreSink | None = None) -> None:
        self.inner = inner
        self.last: dict[str, EnrichedTick] = {}
        self.candles: dict[tuple[str, int], Candle] = {}

    def write_ticks(self, ticks: TickColumns, out: EngineOutput) -> None:
        for e in to_enriched(ticks, out.features, out.ts_enriched):
            old = self.last.get(e.instrument_key)
            if old is None or old.ts_event <= e.ts_event:
                self.last[e.instrument_key] = e
        if self.inner:
            self.inner.write_ticks(ticks, out)

    def write_greeks(self, greeks: Sequence[OptionGreeks]) -> None:
        if self.inner:
            self.inner.write_greeks(greeks)

    def write_candles(self, candles: Sequence[Candle]) -> None:
        for c in candles:
            self.candles[(c.instrument_key, c.ts_start)] = c
        if self.inner:
            self.inner.write_candles(candles)

    def flush(self) -> None:
        if self.inner:
            self.inner.flush()


def _service(
    bus: KafkaBus,
    group: str,
    sink: Tee,
    snapshots: Any,
    options: list[Instrument],
    checkpoint_interval_s: float = 0.3,
) -> tuple[FeatureService, tuple[Consumer, Publisher]]:
    """A feature service and its Kafka clients (``close()`` does not run after a crash)."""
    clock = SystemClock()
    consumer = bus.consumer(group, INPUT_TOPICS)
    publisher = bus.publisher()
    service = FeatureService(
        consumer=consumer,
        publisher=publisher,
        engine=AnalyticsEngine(FeatureEngine(clock, options=option_specs(options))),
        sink=sink,
        snapshots=snapshots,
        metrics=FeatureMetrics(CollectorRegistry()),
        clock=clock,
        config=FeatureServiceConfig(
            batch_size=100, poll_timeout_s=0.2, checkpoint_interval_s=checkpoint_interval_s
        ),
    )
    return service, (consumer, publisher)


async def _drain(service: FeatureService, done: asyncio.Event) -> None:
    """Step until ``done`` is set and then five polls in a row come back empty."""
    quiet = 0
    while quiet < 5:
        got = await asyncio.to_thread(service.step)
        quiet = quiet + 1 if done.is_set() and not got else 0
    await asyncio.to_thread(service.close)


async def test_restart_mid_stream_resumes_with_the_same_vwap(
    kafka_server_factory: Callable[[], Any], questdb: Any, tmp_path: Path
) -> None:
    broker = kafka_server_factory()
    kafka = KafkaBus(broker.bootstrap, client_id="pipeline-features-restart")
    bus = RecordingBus(kafka)
    store = QuestDBTickStore(ilp_conf=questdb.ilp_conf, pg_dsn=questdb.pg_dsn).open()
    group = f"features-{uuid.uuid4().hex[:8]}"
    snapshot_file = FileSnapshotStore(tmp_path / "features.snap")
    first_sink, second_sink = StoreSink.batched(store), StoreSink.batched(store)
    try:
        async with SimServer(sim_config(seed=13, start=START)) as sim:
            market = await open_market(sim)
            options = market.options
            stop_ingest = asyncio.Event()
            async with asyncio.TaskGroup() as tg:
                ingest = tg.create_task(
                    run_ingestor_for(market, bus, broker.bootstrap, stop_ingest)
                )
                await wait_until(lambda: len(bus.sent) > 200, 60, "ticks on Kafka")
                # A: processes part of the stream, checkpointing, then crashes
                first, first_clients = _service(
                    kafka, group, Tee(first_sink), snapshot_file, options, 1e9
                )
                first.restore()
                while first.processed < 300:
                    await asyncio.to_thread(first.step)
                await asyncio.to_thread(first.checkpoint)
                for _ in range(3):  # processed after the last checkpoint: must be redone
                    await asyncio.to_thread(first.step)
                crashed_at = first.processed
                for client in first_clients:  # the process dies: no commit, no snapshot,
                    client.close()  # its connections go away
                first_sink.abandon()  # and its unwritten rows are gone
                # B: a new process in the same group resumes from the snapshot
                b_sink = Tee(second_sink)
                second, _ = _service(kafka, group, b_sink, snapshot_file, options)
                assert second.restore()
                ingest_done = asyncio.Event()
                resumed_run = tg.create_task(_drain(second, ingest_done))
                await asyncio.sleep(8.0)  # B runs on the live stream
                stop_ingest.set()
                await ingest
                ingest_done.set()
                await resumed_run
            # the reference: one uninterrupted run over the whole stream
            ref_sink = Tee()
            reference, _ = _service(
                kafka, f"reference-{uuid.uuid4().hex[:8]}", ref_sink, MemorySnapshotStore(), options
            )
            finished = asyncio.Event()
            finished.set()
            await _drain(reference, finished)
        assert crashed_at >= 300
        assert reference.processed >= len(bus.sent)
        keys = [i.instrument_key for i in market.equities]
        for key in keys:
            ours, ref = b_sink.last[key], ref_sink.last[key]
            assert ours.ts_event == ref.ts_event
            assert ours.session_vwap == ref.session_vwap, key
            assert ours.buy_volume == ref.buy_volume
            assert ours.sell_volume == ref.sell_volume
        resumed = {k: c for k, c in b_sink.candles.items() if k[0] in keys}
        assert resumed
        assert all(ref_sink.candles[k] == c for k, c in resumed.items())
        await asyncio.to_thread(store.wait_visible, 60)
        with psycopg.connect(questdb.pg_dsn, autocommit=True) as conn:
            for key in keys:
                row = conn.execute(
                    b"SELECT session_vwap FROM ticks WHERE instrument_key = %s "
                    b"AND ts = %s::timestamp_ns",
                    (key, ref_sink.last[key].ts_event),
                ).fetchone()
                assert row is not None
                assert row[0] == ref_sink.last[key].session_vwap
    finally:
        first_sink.abandon()  # done already, unless the test failed before the crash
        second_sink.close()
        store.close()
