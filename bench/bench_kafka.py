"""Benchmark: the Kafka bus adapter vs raw confluent-kafka, produce and consume, one run.

Publishes N encoded ticks (~200 bytes: full mode, 5 depth levels, the 1d bar) keyed by
instrument to a fresh 6-partition topic and consumes them back in a consumer group
with a synchronous commit after every batch, two ways with identical librdkafka configs
(``quant.bus.kafka.producer_settings``/``consumer_settings``):

* adapter: ``KafkaBus.publisher().publish`` + ``flush``, ``KafkaBus.consumer().poll`` + ``commit``;
* raw: ``confluent_kafka.Producer.produce`` (+ ``poll(0)`` every 1024, BufferError retry)
  + ``flush``, ``Consumer.consume`` + per-message ``error()`` check + ``commit``.

Rounds alternate raw/adapter; reported are the median rate of each (msgs/s) and the median
of the per-round adapter/raw ratios (each round pairs the two paths close in time, which
cancels most of the drift of a shared machine's load).
The codec cost (encode/decode of the same ticks) is printed alongside.
Uses ``QUANT_KAFKA__BOOTSTRAP_SERVERS`` if set, else starts a private broker through
``quant.devinfra.servers``. ``--append`` adds a dated section to docs/benchmarks.md.
Run: ``python bench/bench_kafka.py [--messages 200000] [--rounds 3] [--append]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer

from quant.bus.codecs import decode_tick, encode_tick
from quant.bus.kafka import KafkaBus, consumer_settings, producer_settings
from quant.bus.topics import Topic
from quant.core.events import DepthLevel, FeedMode, FeedOhlc, Tick

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
T0 = 1_795_500_000_000_000_000
BATCH = 1000


def make_ticks(n: int, instruments: int = 500) -> list[Tick]:
    out = []
    for i in range(n):
        px = 100_000 + (i * 7919) % 50_000
        ts = T0 + i * 1000
        depth = tuple(
            DepthLevel(px - 5 * (k + 1), 100 + k, px + 5 * (k + 1), 90 + k) for k in range(5)
        )
        key = f"NSE_EQ|INE{i % instruments:06d}01018"
        day = (FeedOhlc("1d", px - 900, px + 1200, px - 1500, px, 1_000_000 + i, T0),)
        out.append(
            Tick(key, FeedMode.FULL, ts, ts + 350, px, ts - 20, 1 + i % 50, px - 300,
                 1_000_000 + i, px - 10, 0, 50_000 + i % 999, 60_000 + i % 777, depth, day)
        )  # fmt: skip
    return out


def raw_produce(bootstrap: str, topic: str, items: list[tuple[str, bytes]]) -> float:
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            failures.append(err)

    p = Producer({**producer_settings(bootstrap, "bench-raw"), "on_delivery": on_delivery})
    produce = p.produce
    t = time.perf_counter()
    for n, (key, value) in enumerate(items, 1):
        try:
            produce(topic, value, key)
        except BufferError:
            while True:
                p.poll(0.05)
                try:
                    produce(topic, value, key)
                    break
                except BufferError:
                    continue
        if not n % 1024:
            p.poll(0)
        if failures:
            raise RuntimeError(failures[0])
    if p.flush(60):
        raise RuntimeError("raw flush timed out")
    if failures:
        raise RuntimeError(failures[0])
    return time.perf_counter() - t


def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    c = Consumer(consumer_settings(bootstrap, "bench-raw", f"raw-{uuid.uuid4().hex}"))
    c.subscribe([topic])
    first = c.consume(num_messages=1, timeout=30)  # join the group before timing
    got = len(first)
    if first:
        c.commit(asynchronous=False)
    t = time.perf_counter()
    while got < n:
        batch = c.consume(num_messages=BATCH, timeout=1.0)
        for m in batch:
            if m.error() is not None:
                raise RuntimeError(m.error())
        if batch:
            got += len(batch)
            c.commit(asynchronous=False)
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed * n / max(n - len(first), 1)


def adapter_produce(bus: KafkaBus, topic: str, items: list[tuple[str, bytes]]) -> float:
    pub = bus.publisher()
    publish = pub.publish
    t = time.perf_counter()
    for key, value in items:
        publish(topic, key, value)
    pub.flush(60)
    return time.perf_counter() - t


def adapter_consume(bus: KafkaBus, topic: str, n: int) -> float:
    c = bus.consumer(f"adapter-{uuid.uuid4().hex}", [topic])
    first = c.poll(max_messages=1, timeout=30)
    got = len(first)
    c.commit()
    t = time.perf_counter()
    while got < n:
        batch = c.poll(max_messages=BATCH, timeout=1.0)
        if batch:
            got += len(batch)
            c.commit()
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed * n / max(n - len(first), 1)


def run(bootstrap: str, n: int, rounds: int) -> dict[str, float]:
    ticks = make_ticks(n)
    t = time.process_time()  # CPU time: less sensitive to other processes than wall time
    items = [(tk.instrument_key, encode_tick(tk)) for tk in ticks]
    enc_us = (time.process_time() - t) / n * 1e6
    t = time.process_time()
    for _, v in items:
        decode_tick(v)
    dec_us = (time.process_time() - t) / n * 1e6
    size = sum(len(v) for _, v in items) / n
    bus = KafkaBus(bootstrap, client_id="bench-adapter")
    res: dict[str, list[float]] = {k: [] for k in ("raw_p", "raw_c", "ad_p", "ad_c")}
    for r in range(rounds):
        for kind in ("raw", "adapter") if r % 2 == 0 else ("adapter", "raw"):
            topic = Topic(f"bench.{kind}.{uuid.uuid4().hex[:8]}", 6, 3_600_000)
            bus.ensure_topics([topic])
            if kind == "raw":
                res["raw_p"].append(n / raw_produce(bootstrap, topic.name, items))
                res["raw_c"].append(n / raw_consume(bootstrap, topic.name, n))
            else:
                res["ad_p"].append(n / adapter_produce(bus, topic.name, items))
                res["ad_c"].append(n / adapter_consume(bus, topic.name, n))
        print(
            f"round {r + 1} (load {os.getloadavg()[0]:.1f}): produce raw {res['raw_p'][-1]:,.0f}"
            f" adapter {res['ad_p'][-1]:,.0f} | "
            f"consume raw {res['raw_c'][-1]:,.0f} adapter {res['ad_c'][-1]:,.0f} msgs/s",
            flush=True,
        )
    out = {k: statistics.median(v) for k, v in res.items()}
    out["ratio_p"] = statistics.median(
        a / r for a, r in zip(res["ad_p"], res["raw_p"], strict=True)
    )
    out["ratio_c"] = statistics.median(
        a / r for a, r in zip(res["ad_c"], res["raw_c"], strict=True)
    )
    out.update(size=size, enc_us=enc_us, dec_us=dec_us)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append results to docs/benchmarks.md")
    args = ap.parse_args()

    bootstrap = os.environ.get("QUANT_KAFKA__BOOTSTRAP_SERVERS")
    server = None
    tmp = None
    if not bootstrap:
        from quant.devinfra.servers import KafkaServer, start_all, stop_all

        tmp = tempfile.TemporaryDirectory(prefix="bench-kafka-")
        server = KafkaServer(Path(tmp.name) / "kafka", die_with_parent=True)
        errors = start_all([server])
        if errors:
            raise SystemExit(f"cannot start Kafka: {errors}")
        bootstrap = server.bootstrap
    try:
        r = run(bootstrap, args.messages, args.rounds)
    finally:
        if server is not None:
            stop_all([server])
        if tmp is not None:
            tmp.cleanup()

    lines = [
        f"Messages: {args.messages:,} ticks of {r['size']:.0f} bytes (protobuf, 5 depth levels "
        f"+ 1d OHLC), 6 partitions, 500 keys; medians of {args.rounds} alternating rounds; "
        f"commit per {BATCH}-message batch.",
        "",
        "| path | raw confluent-kafka (msgs/s) | quant.bus KafkaBus (msgs/s) | ratio |",
        "|---|---:|---:|---:|",
        f"| produce + flush (idempotent, acks=all, lz4) | {r['raw_p']:,.0f} | {r['ad_p']:,.0f} "
        f"| {r['ratio_p']:.2f}x |",
        f"| consume + commit | {r['raw_c']:,.0f} | {r['ad_c']:,.0f} | {r['ratio_c']:.2f}x |",
        "",
        f"Codec on the same ticks (CPU time): encode {r['enc_us']:.2f} µs, decode "
        f"{r['dec_us']:.2f} µs per tick.",
        f"Load average at the end of the run: {os.getloadavg()[0]:.1f} (2 cores, shared).",
    ]
    print("\n".join(lines))
    if args.append:
        head = (
            "\n## Kafka bus adapter vs raw confluent-kafka (2026-11-24)\n\n"
            "`python bench/bench_kafka.py` (Kafka 4.3.1 single KRaft node on loopback, "
            f"confluent-kafka/librdkafka, Python {platform.python_version()}).\n\n"
        )
        with DOCS.open("a", encoding="utf-8") as f:
            f.write(head + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
