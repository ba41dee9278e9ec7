"""Benchmark: how fast the local servers of ``quant.devinfra`` start, cold and warm.

Measures, one run, side by side:

* cold start: empty jar cache *and* empty Maven repository (``QUANT_CACHE_DIR`` and
  ``-Dmaven.repo.local`` in temporary folders), so the time includes the downloads;
* warm start (cache filled, fresh data folder): Kafka format+start, QuestDB, PostgreSQL
  initdb+start, each alone; best of ``--rounds``;
* warm restart of an existing Kafka data folder, after a clean stop and after SIGKILL;
* the three together through ``start_all`` against the sum of the three alone;
* the reference: Kafka started with the stock ``kafka-server-start.sh`` JVM flags
  (``-Xmx1G -Xms1G -XX:+UseG1GC``, full tiered JIT) against ours (``-Xmx512m``, C1 JIT,
  serial GC): start time and a produce throughput probe (``--messages`` 200-byte records,
  acks=all, one partition) so the cost of the quicker JIT is visible.

``--append`` adds a dated section to docs/benchmarks.md.
Run: ``python bench/bench_devinfra.py [--rounds 3] [--messages 200000] [--skip-cold] [--append]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from quant.devinfra import fetch
from quant.devinfra.servers import (
    KAFKA_VERSION,
    QUESTDB_VERSION,
    KafkaServer,
    PostgresServer,
    QuestDBServer,
    Server,
    start_all,
    stop_all,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
STOCK_FLAGS = ["-Xmx1G", "-Xms1G", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]


class StockKafka(KafkaServer):
    """Kafka with the JVM flags of the distribution's ``kafka-server-start.sh``."""

    def command(self) -> list[str]:
        ours = super().command()
        keep = [a for a in ours if not a.startswith(("-Xm", "-XX:TieredStop", "-XX:+UseSerial"))]
        return [keep[0], *STOCK_FLAGS, *keep[1:]]


def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-devinfra-"))
    root.chmod(0o755)
    return root


def _timed(start: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    start()
    return time.perf_counter() - t0


def _fresh(kind: type[Server], root: Path) -> tuple[Server, float]:
    server = kind(root / f"{kind.name}-{uuid.uuid4().hex[:6]}", die_with_parent=True)
    return server, _timed(server.start)


def cold(results: dict[str, float]) -> None:
    cache = _root()
    old = {k: os.environ.get(k) for k in ("QUANT_CACHE_DIR", "MAVEN_OPTS")}
    os.environ["QUANT_CACHE_DIR"] = str(cache / "cache")
    os.environ["MAVEN_OPTS"] = f"-Dmaven.repo.local={cache / 'm2'}"
    try:
        results["cold fetch kafka jars"] = _timed(lambda: fetch.kafka_libs() and None)
        results["cold fetch questdb jar"] = _timed(lambda: fetch.questdb_jar() and None)
        for kind in (KafkaServer, QuestDBServer, PostgresServer):
            server, took = _fresh(kind, cache)
            results[f"cold {kind.name} (after fetch)"] = took
            server.stop()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(cache, ignore_errors=True)


def warm(results: dict[str, float], rounds: int) -> None:
    root = _root()
    try:
        for kind in (KafkaServer, QuestDBServer, PostgresServer):
            best = float("inf")
            for _ in range(rounds):
                server, took = _fresh(kind, root)
                server.stop()
                best = min(best, took)
            results[f"warm {kind.name} (new data folder)"] = best
        kafka, _ = _fresh(KafkaServer, root)
        stop_restart, kill_restart = float("inf"), float("inf")
        for _ in range(rounds):
            kafka.stop()
            stop_restart = min(stop_restart, _timed(kafka.start))
            kafka.kill()
            kill_restart = min(kill_restart, _timed(kafka.start))
        kafka.stop()
        results["warm kafka restart after stop"] = stop_restart
        results["warm kafka restart after SIGKILL"] = kill_restart
        together = [
            KafkaServer(root / "all-k", die_with_parent=True),
            QuestDBServer(root / "all-q", die_with_parent=True),
            PostgresServer(root / "all-p", die_with_parent=True),
        ]
        t0 = time.perf_counter()
        errors = start_all(together)
        results["warm start_all (three in parallel)"] = time.perf_counter() - t0
        stop_all(together)
        if errors:
            raise SystemExit(f"start_all failed: {errors}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _produce_rate(bootstrap: str, messages: int) -> float:
    topic = f"bench-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 262144}
    )
    payload = b"x" * 200
    t0 = time.perf_counter()
    for i in range(messages):
        while True:
            try:
                producer.produce(topic, payload, key=str(i % 64).encode())
                break
            except BufferError:
                producer.poll(0.01)
        if i % 1024 == 0:
            producer.poll(0)
    producer.flush(120)
    return messages / (time.perf_counter() - t0)


def reference(results: dict[str, float], rounds: int, messages: int) -> None:
    root = _root()
    try:
        for label, kind in (("stock flags", StockKafka), ("ours", KafkaServer)):
            best_start, best_rate = float("inf"), 0.0
            for _ in range(rounds):
                server, took = _fresh(kind, root)
                assert isinstance(server, KafkaServer)
                best_start = min(best_start, took)
                _produce_rate(server.bootstrap, messages // 10)  # warm up the JIT a little
                best_rate = max(best_rate, _produce_rate(server.bootstrap, messages))
                server.stop()
            results[f"kafka start, {label}"] = best_start
            results[f"kafka produce msgs/s, {label}"] = best_rate
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()

    results: dict[str, float] = {}
    if not args.skip_cold:
        cold(results)
    warm(results, args.rounds)
    reference(results, args.rounds, args.messages)

    ours, stock = (
        results["kafka produce msgs/s, ours"],
        results["kafka produce msgs/s, stock flags"],
    )
    alone = sum(results[f"warm {n} (new data folder)"] for n in ("kafka", "questdb", "postgres"))
    lines = [f"| {name} | {value:,.2f} |" for name, value in results.items()]
    ratios = [
        f"- start_all vs the three started one after another: "
        f"{results['warm start_all (three in parallel)']:.1f}s vs {alone:.1f}s "
        f"({alone / results['warm start_all (three in parallel)']:.2f}x faster)",
        f"- Kafka start, ours vs stock flags: {results['kafka start, ours']:.1f}s vs "
        f"{results['kafka start, stock flags']:.1f}s "
        f"({results['kafka start, stock flags'] / results['kafka start, ours']:.2f}x)",
        f"- Kafka produce throughput, ours vs stock flags: "
        f"{ours:,.0f} vs {stock:,.0f} msgs/s ({ours / stock:.2f}x)",
    ]
    load = os.getloadavg()
    section = "\n".join(
        [
            "",
            f"## Local servers start-up (quant.devinfra), {time.strftime('%Y-%m-%d')}",
            "",
            f"`python bench/bench_devinfra.py --rounds {args.rounds} --messages {args.messages}`"
            f" — Kafka {KAFKA_VERSION}, QuestDB {QUESTDB_VERSION}, Python "
            f"{platform.python_version()}, load average {load[0]:.1f} at the end (shared "
            "machine). Seconds unless stated; warm figures are the best of the rounds.",
            "",
            "| measurement | value |",
            "|---|---|",
            *lines,
            "",
            *ratios,
            "",
        ]
    )
    print(section)
    if args.append:
        with DOCS.open("a") as docs:
            docs.write(section)


if __name__ == "__main__":
    main()
