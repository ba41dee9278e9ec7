"""Benchmark: the Kafka hop alone, the floor under the pipeline's latency target.

The pipeline's latency (``ts_init`` -> enriched publish, ``bench_pipeline.py``) includes one
Kafka hop: the ingestor's publish, the broker, the feature consumer's fetch. This measures
that hop with nothing else on the machine: one process publishes 100-message frames
(``KafkaBus.publisher()``, the product's producer settings, 12-partition topic like
``market.equity.ticks``) at a fixed rate, stamping the wall time into each message, and the
same process polls them back (``KafkaBus.consumer()``) between frames. Reported per rate:
p50 / p90 / p99 / max of receive time - stamp, for two consumer settings side by side:

* ``service``: the feature service's (``kafka_consumer_config``: fetches wait up to
  ``batch_window_ms`` for more data, so a batch spans a few ms of ticks);
* ``no-window``: librdkafka's plain fetch (returns as soon as any data is there).

Rounds alternate the two; the broker is private (``production_jvm``: G1 and the
optimising JIT, as the pipeline benchmark runs it) and warmed up for ``--warmup-s`` first.
Run: ``python bench/bench_kafka_hop.py [--seconds 10] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from quant.bus.kafka import KafkaBus
from quant.bus.topics import Topic
from quant.devinfra.servers import KafkaServer
from quant.features.main import kafka_consumer_config
from quant.features.settings import FeaturesSettings

FRAME = 100  # messages per frame, as the bench feed sends 100 instruments per frame
PAD = b"x" * 192  # ~200-byte messages, like an encoded full-mode tick


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


def hop(bootstrap: str, consumer_config: dict[str, Any], rate: float, seconds: float) -> str:
    """Publish ``rate`` messages/s for ``seconds`` and poll them back; the latency line."""
    bus = KafkaBus(bootstrap, client_id="bench-hop", consumer_config=consumer_config)
    topic = Topic(f"bench.hop.{uuid.uuid4().hex[:8]}", 12, 3_600_000)
    bus.ensure_topics([topic])
    publisher = bus.publisher()
    consumer = bus.consumer(f"hop-{uuid.uuid4().hex[:8]}", [topic.name])
    try:
        while not consumer.poll(10, 0.5):  # joined and assigned once the first one arrives
            publisher.publish(topic.name, "join", b"\0" * 8)
            publisher.flush()
        total = int(rate * seconds)
        lat: list[float] = []

        def take(timeout: float) -> int:
            got = consumer.poll(5000, timeout)
            now = time.time_ns()
            for m in got:
                value = m.value()
                assert isinstance(value, bytes)
                stamp = int.from_bytes(value[:8], "little")
                if stamp:
                    lat.append((now - stamp) / 1e6)
            return len(got)

        began = time.perf_counter()
        sent = 0
        while sent < total:
            if time.perf_counter() < began + sent / rate:
                if not take(0):
                    time.sleep(0.0002)
                continue
            stamp = time.time_ns().to_bytes(8, "little") + PAD
            for i in range(FRAME):
                publisher.publish(topic.name, f"NSE_EQ|K{i}", stamp)
            sent += FRAME
        deadline = time.monotonic() + 10
        while len(lat) < total and time.monotonic() < deadline:
            take(0.05)
    finally:
        consumer.close()
        publisher.close()
    lat.sort()
    return (
        f"{rate:>7,.0f}/s  n {len(lat):>7,}  p50 {pct(lat, 0.5):5.1f}  p90 {pct(lat, 0.9):5.1f}  "
        f"p99 {pct(lat, 0.99):5.1f}  max {lat[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per rate and setting")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup-s", type=float, default=20.0)
    parser.add_argument("--rates", default="1000,10000")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    settings = {
        "service": kafka_consumer_config(FeaturesSettings()),
        "no-window": {},
    }
    root = Path(tempfile.mkdtemp(prefix="bench-hop-"))
    kafka = KafkaServer(root / "kafka", die_with_parent=True, production_jvm=True)
    kafka.start()
    try:
        print(f"warm-up {args.warmup_s:.0f} s", flush=True)
        hop(kafka.bootstrap, {}, 10_000, args.warmup_s)
        print(f"- machine: {platform.machine()}, Python {platform.python_version()}")
        for n in range(args.rounds):
            for name, config in settings.items():
                for rate in rates:
                    line = hop(kafka.bootstrap, config, rate, args.seconds)
                    print(f"- round {n + 1}, {name:9s} {line}", flush=True)
    finally:
        kafka.stop()


if __name__ == "__main__":
    main()
