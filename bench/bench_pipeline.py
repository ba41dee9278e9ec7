"""Benchmark: the market-data pipeline through real Kafka and QuestDB on this machine.

What runs is the production code: a separate producer process runs the ingestor's path
(Upstox V3 feed frames, built before the clock starts as the exchange's side, are decoded
by ``decode_frame`` when due, which stamps ``ts_init``, and each tick is encoded and
published to ``market.equity.ticks`` through ``KafkaBus``); the feature service
(``quant.features.service.FeatureService`` with the analytics engine, publishing
``EnrichedTick``s/``Candle``s to Kafka and writing ticks, enriched ticks and candles to
QuestDB, checkpointing and committing every 5 s) consumes them in this process.
Synthetic FULL-mode ticks, 100 per frame: 500 instruments, 5-level depth, rising
cumulative volume, one tick per 100 us of exchange time.

1. Latency at fixed rates (default 10k and 1k ticks/s, 15 s each): p50/p99/max of
   ``ts_init`` (the frame's arrival at the producer) -> the enriched publish.
2. Sustained throughput: the service drains the whole topic (the backlog of phase 1 plus
   a preload); ticks/s, side by side with the reference in the same run:
   raw confluent-kafka consumption of the same messages (no decode, no engine, no store),
   i.e. the transport ceiling. The producer's publish rate is printed too.

Starts a private Kafka broker (its JVM as in production: optimising JIT, G1) and QuestDB
through ``quant.devinfra.servers``; the consumer fetch window and the snapshot file are
``quant features``' own.
Run: ``python bench/bench_pipeline.py [--preload 300000] [--rate 10000] [--seconds 20]
[--append]``; ``--append`` adds a dated section to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer
from prometheus_client import CollectorRegistry

from quant.analytics.columns import TickColumns
from quant.analytics.engine import FeatureEngine
from quant.bus import topics
from quant.bus.codec_marketdata import TICK_BATCH_DECODER
from quant.bus.codecs import encode_ticks
from quant.bus.kafka import KafkaBus, consumer_settings
from quant.core.clock import NS_PER_MS, SystemClock
from quant.core.events import DepthLevel, FeedMode, FeedOhlc, Tick
from quant.features.adapters import AnalyticsEngine, StoreSink
from quant.features.main import kafka_consumer_config
from quant.features.metrics import FeatureMetrics
from quant.features.ports import EngineOutput
from quant.features.service import INPUT_TOPICS, FeatureService, FeatureServiceConfig
from quant.features.settings import FeaturesSettings
from quant.features.snapshots import FileSnapshotStore
from quant.pb.upstox.v3 import market_data_feed_pb2 as upstox_pb
from quant.runtime.heap import freeze_startup_heap
from quant.store.questdb_ticks import QuestDBTickStore
from quant.upstox.wire import decode_frame

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
T0 = 1_796_700_000_000_000_000  # 2026-12-08 (IST), a day no test writes
INSTRUMENTS = 500


def make_tick(i: int, ts_init: int) -> Tick:
    """Tick ``i`` of the synthetic stream: instrument ``i % 500``, one tick per 100 us of
    exchange time, rising cumulative volume, 5-level depth."""
    k = i % INSTRUMENTS
    px = 100_000 + (i * 7919) % 5_000
    depth = tuple(DepthLevel(px - 5 * (j + 1), 100 + j, px + 5 * (j + 1), 90 + j) for j in range(5))
    ts = T0 + i * 100_000
    day = (FeedOhlc("1d", px - 900, px + 1200, px - 1500, px, 1_000 + i, T0),)
    return Tick(
        f"NSE_EQ|INE{k:06d}01018", FeedMode.FULL, ts, ts_init, px, ts, 1 + i % 50, px - 300,
        1_000 + i, px - 10, 0, 50_000, 60_000, depth, day,
    )  # fmt: skip


def feed_frame(ticks: list[Tick]) -> bytes:
    """The Upstox V3 ``live_feed`` frame (full_d5) carrying ``ticks``, as the exchange
    side sends it: prices in rupees, times in ms; the frame's time is its first tick's."""
    msg = upstox_pb.FeedResponse(type=upstox_pb.live_feed, currentTs=ticks[0].ts_event // NS_PER_MS)
    for t in ticks:
        feed = msg.feeds[t.instrument_key]
        feed.requestMode = upstox_pb.full_d5
        mff = feed.fullFeed.marketFF
        mff.ltpc.ltp = t.ltp / 100
        mff.ltpc.ltt = t.ltt_ns // NS_PER_MS
        mff.ltpc.ltq = t.ltq
        mff.ltpc.cp = t.close_price / 100
        for level in t.depth:
            mff.marketLevel.bidAskQuote.add(
                bidQ=level.bid_quantity, bidP=level.bid_price / 100,
                askQ=level.ask_quantity, askP=level.ask_price / 100,
            )  # fmt: skip
        for bar in t.ohlc:
            mff.marketOHLC.ohlc.add(
                interval=bar.interval, open=bar.open / 100, high=bar.high / 100,
                low=bar.low / 100, close=bar.close / 100, vol=bar.volume, ts=bar.ts_ns // NS_PER_MS,
            )  # fmt: skip
        mff.atp = t.atp / 100
        mff.vtt = t.volume
        mff.tbq = float(t.total_buy_quantity)
        mff.tsq = float(t.total_sell_quantity)
    return msg.SerializeToString()


def produce(bootstrap: str, start: int, count: int, rate: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Producer process: publish ``count`` ticks at ``rate``/s (0 = as fast as possible).

    Stands in for the ingestor and runs its path: the exchange's frames (100 instruments
    each, built before the clock starts: on the exchange's machines, not this one) arrive
    when due, are decoded by ``decode_frame`` (``ts_init`` = arrival), and every tick is
    encoded and published through ``KafkaBus``, as ``quant ingestor`` does.
    """
    publisher = KafkaBus(bootstrap, client_id="bench-producer").publisher()
    name = topics.TICKS.name
    chunk = 100
    frames = [
        feed_frame([make_tick(i, 0) for i in range(base, min(base + chunk, start + count))])
        for base in range(start, start + count, chunk)
    ]
    freeze_startup_heap()  # as run_ingestor does once subscribed
    began = time.perf_counter()
    for n, data in enumerate(frames):
        if rate:
            delay = began + n * chunk / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        ticks = decode_frame(data, time.time_ns()).ticks
        for t, value in zip(ticks, encode_ticks(ticks), strict=True):  # as the ingestor does
            publisher.publish(name, t.instrument_key, value)
    publisher.flush(120)
    publisher.close()
    out.put(count / (time.perf_counter() - began))


class TimedEngine(AnalyticsEngine):
    """Remembers each batch's ts_init so the publisher can time every enriched publish."""

    def __init__(self, engine: FeatureEngine) -> None:
        super().__init__(engine)
        self.pending: list[int] = []
        self.next = 0

    def process(self, ticks: TickColumns) -> EngineOutput:
        out = super().process(ticks)
        self.pending = ticks.ts_init.tolist()
        self.next = 0
        return out


class TimedPublisher:
    def __init__(self, inner: object, engine: TimedEngine, samples: list[int]) -> None:
        self.inner = inner
        self.engine = engine
        self.samples = samples
        self.record = False

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.inner.publish(topic, key, value)  # type: ignore[attr-defined]
        if topic == topics.ENRICHED.name:
            if self.record:
                self.samples.append(time.time_ns() - self.engine.pending[self.engine.next])
            self.engine.next += 1

    def flush(self, timeout: float = 30.0) -> None:
        self.inner.flush(timeout)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def build_service(
    bus: KafkaBus, sink: StoreSink, group: str, samples: list[int], root: Path
) -> tuple[FeatureService, TimedPublisher]:
    clock = SystemClock()
    engine = TimedEngine(FeatureEngine(clock))
    publisher = TimedPublisher(bus.publisher(), engine, samples)
    freeze_startup_heap()  # as run_features does after start-up
    service = FeatureService(
        consumer=bus.consumer(group, INPUT_TOPICS),
        publisher=publisher,  # type: ignore[arg-type]
        engine=engine,
        sink=sink,
        snapshots=FileSnapshotStore(root / f"{group}.snap"),  # as quant features does
        metrics=FeatureMetrics(CollectorRegistry()),
        clock=clock,
        config=FeatureServiceConfig(
            batch_size=5000,
            poll_timeout_s=0.05,
            checkpoint_interval_s=5.0,
            background_checkpoints=True,  # as build_feature_service (quant features) sets it
        ),
    )
    return service, publisher


def pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] / 1e6


def raw_consume(bootstrap: str, total: int) -> float:
    consumer = Consumer(consumer_settings(bootstrap, "bench-raw", f"raw-{uuid.uuid4().hex}"))
    consumer.subscribe([topics.TICKS.name])
    got, began = 0, None
    while got < total:
        msgs = consumer.consume(5000, 1.0)
        if msgs and began is None:
            began = time.perf_counter()
        for m in msgs:
            if m.error() is None:
                got += 1
    elapsed = time.perf_counter() - (began or time.perf_counter())
    consumer.close()
    return total / elapsed


def drain(service: FeatureService, total: int) -> float:
    """Ticks/s from the first message to the last checkpoint (everything written)."""
    began = None
    while service.processed < total:
        n = service.step()
        if n and began is None:
            began = time.perf_counter()
            first = n
    service.close()  # the last checkpoint: every write flushed, offsets committed
    return (total - first) / (time.perf_counter() - (began or time.perf_counter()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preload", type=int, default=300_000)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--low-rate", type=float, default=1_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--warmup-s", type=float, default=30.0,
        help="seconds at the start of each rate not recorded (JVM JIT warm-up of the servers)",
    )  # fmt: skip
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()

    from quant.devinfra.servers import KafkaServer, QuestDBServer

    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    # the broker's JVM as production runs it (optimising JIT, G1; the dev default is C1 and
    # the serial collector)
    kafka = KafkaServer(root / "kafka", die_with_parent=True, production_jvm=True)
    questdb = QuestDBServer(root / "questdb", die_with_parent=True)
    kafka.start()
    questdb.start()
    ctx = mp.get_context("spawn")
    results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    try:
        # the tick consumer's fetch window as quant features sets it
        window = kafka_consumer_config(FeaturesSettings())
        bus = KafkaBus(kafka.bootstrap, client_id="bench", consumer_config=window)
        bus.ensure_topics(topics.ALL_TOPICS)
        store = QuestDBTickStore(ilp_conf=questdb.ilp_conf, pg_dsn=questdb.pg_dsn).open()

        # 1. latency at a fixed rate, producer and service running together; a warm-up
        # batch first, so the group has joined and the engine knows every instrument
        samples: list[int] = []
        sink = StoreSink.batched(store)
        service, publisher = build_service(bus, sink, "bench-latency", samples, root)
        warmup = 2 * INSTRUMENTS
        proc = ctx.Process(target=produce, args=(kafka.bootstrap, 0, warmup, 0, results))
        proc.start()
        while service.processed < warmup:
            service.step()
        proc.join()
        results.get()
        start = warmup
        latency: list[tuple[float, float, list[int]]] = []
        for rate in (args.rate, args.low_rate):
            samples.clear()
            publisher.record = False
            n_rate = int(rate * (args.seconds + args.warmup_s))
            proc = ctx.Process(target=produce, args=(kafka.bootstrap, start, n_rate, rate, results))
            proc.start()
            print(f"phase 1: {n_rate:,} ticks at {rate:,.0f}/s", flush=True)
            while service.processed < start + n_rate:
                if not proc.is_alive() and proc.exitcode:
                    raise SystemExit(f"producer failed with exit code {proc.exitcode}")
                if service.processed >= start + int(rate * args.warmup_s):  # warm-up
                    publisher.record = True
                service.step()
            proc.join()
            latency.append((rate, results.get(), list(samples)))
            start += n_rate
        service.close()
        sink.close()

        print(f"phase 2: preload {args.preload:,} ticks", flush=True)
        # 2. sustained throughput: preload, then drain everything; raw consumer as reference
        proc = ctx.Process(target=produce, args=(kafka.bootstrap, start, args.preload, 0, results))
        proc.start()
        proc.join()
        produce_rate = results.get()
        total = start + args.preload
        raw_rate = raw_consume(kafka.bootstrap, total)
        sink = StoreSink.batched(store)
        tput_service, _ = build_service(bus, sink, "bench-throughput", [], root)
        pipeline_rate = drain(tput_service, total)
        sink.close()
        store.wait_visible(120)
        stored = store.count("ticks")
        store.close()
    finally:
        questdb.stop()
        kafka.stop()

    load = os.getloadavg()[0]
    lines = [
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load average at the end {load:.1f}",
        *(
            f"- latency ts_init -> enriched publish at {rate:,.0f} ticks/s for "
            f"{args.seconds:.0f} s (producer achieved {achieved:,.0f}/s; "
            f"after {args.warmup_s:.0f} s of warm-up; "
            f"{len(lat):,} enriched publishes): p50 {pct(lat, 0.5):.1f} ms, "
            f"p99 {pct(lat, 0.99):.1f} ms, max {max(lat) / 1e6:.1f} ms"
            for rate, achieved, lat in latency
        ),
        f"- sustained throughput, feature service draining {total:,} ticks (decode, engine, "
        f"publish enriched + candles, QuestDB writes, checkpoint + commit): "
        f"{pipeline_rate:,.0f} ticks/s (batch tick decoder: {TICK_BATCH_DECODER})",
        f"- reference, raw confluent-kafka consume of the same messages (no decode/engine/store): "
        f"{raw_rate:,.0f} msgs/s; ratio pipeline/raw {pipeline_rate / raw_rate:.2f}",
        f"- producer (decode_frame + encode + KafkaBus.publish, one process): "
        f"{produce_rate:,.0f} ticks/s",
        f"- QuestDB rows in ticks after the run: {stored:,} (distinct (ts, key): dedup upserts)",
    ]
    print("\n".join(lines))
    if args.append:
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write(
                "\n## 2026-11-24 — market-data pipeline through Kafka and QuestDB "
                "(`bench/bench_pipeline.py`)\n\n"
            )
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
