"""The feature service lives through a QuestDB crash: every tick stored once, no restart.

``quant features`` as its composition root builds it (``build(settings, deps)`` under
``run_services``, with its health server), on real Kafka and a private QuestDB. Ticks
are produced before, during and after an outage: QuestDB is SIGKILLed while the service
consumes and started again (same ports and data) later. Checked: the service never
stopped or restarted; ``/readyz`` turned 503 naming QuestDB while it was down and 200
after; every tick is in ``ticks`` exactly once; the retries were counted. The detection
and recovery times are printed (``-s``) for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from conftest import require
from quant.bus import codecs, topics
from quant.bus import kafka as kafka_clients
from quant.bus.kafka import KafkaBus
from quant.bus.settings import KafkaSettings
from quant.core.clock import SystemClock
from quant.core.events import FeedMode, Tick
from quant.devinfra.errors import InfraError
from quant.devinfra.process import free_port
from quant.devinfra.questdb import QuestDBServer
from quant.features.main import build
from quant.features.settings import FeaturesSettings, StoreRetrySettings
from quant.runtime.deps import (
    Deps,
    FixedCatalog,
    new_registry_and_board,
    open_store,
    watch_store,
)
from quant.runtime.service import Service
from quant.runtime.status import State, StatusBoard
from quant.runtime.supervisor import run_services
from quant.store.questdb_ticks import QuestDBTickStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _readyz(port: int) -> tuple[int, list[str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return r.status, json.loads(r.read())["reasons"]
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())["reasons"]
    except OSError as e:  # the health server is not listening yet
        return 0, [str(e)]


class Producer:
    """Publishes ticks of ``keys`` (new to each test) with strictly increasing times."""

    def __init__(self, bus: KafkaBus) -> None:
        self.keys = [f"NSE_EQ|QDBOUT{uuid.uuid4().hex[:6].upper()}{i}" for i in range(4)]
        self.publisher = bus.publisher()
        self.t0 = time.time_ns()
        self.sent = 0

    def send(self, n: int) -> None:
        for _ in range(n):
            key = self.keys[self.sent % len(self.keys)]
            ts = self.t0 + self.sent * 1_000  # 1 µs apart: distinct (ts, key) everywhere
            tick = Tick(key, FeedMode.LTPC, ts, ts, 100_000 + self.sent % 500)
            self.publisher.publish(topics.TICKS.name, key, codecs.encode_tick(tick))
            self.sent += 1
        self.publisher.flush(10)


async def _until(predicate: object, timeout_s: float, what: str) -> float:
    """Seconds until ``predicate()`` held (polled every 0.1 s)."""
    started = time.monotonic()
    while True:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.1)


def _stored(store: QuestDBTickStore, of: Producer) -> tuple[int, int]:
    """(rows, distinct (ts, key) pairs) of the producer's keys in ``ticks``."""
    keys = ", ".join(f"'{k}'" for k in of.keys)
    rows = store._fetch(
        f"SELECT count(), count_distinct(concat(instrument_key, cast(ts AS long))) "  # noqa: S608
        f"FROM ticks WHERE instrument_key IN ({keys})",
        (),
    )
    return int(rows[0][0]), int(rows[0][1])


@dataclass
class Running:
    """A feature service on real Kafka and the given QuestDB store, under the supervisor."""

    service: Service
    settings: FeaturesSettings
    registry: CollectorRegistry
    board: StatusBoard
    bus: KafkaBus
    stop: asyncio.Event
    runner: asyncio.Task[None]


async def _start_features(
    store: QuestDBTickStore,
    kafka_bootstrap: str,
    name: str,
    *,
    metrics_port: int = 0,
    checkpoint_interval_s: float = 0.5,
    opened: bool = True,
) -> Running:
    """``opened``: the store was opened by the test; else it is opened as ``open_deps``
    opens it (a QuestDB that does not answer yet is waited for, not an error)."""
    bus = KafkaBus(kafka_bootstrap, client_id=f"test-{name}")
    bus.ensure_topics(topics.ALL_TOPICS)
    registry, board = new_registry_and_board()
    if opened:
        watch_store(board, store)  # as open_deps does for the tick store it opened
    else:
        await open_store(board, store)
    deps = Deps(
        clock=SystemClock(),
        registry=registry,
        board=board,
        bus=bus,
        instruments=FixedCatalog([], "the test"),
        tick_store=store,
    )
    settings = FeaturesSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        group_id=f"features-{name}-{uuid.uuid4().hex[:8]}",
        checkpoint_interval_s=checkpoint_interval_s,
        snapshot_store="memory",
        metrics_port=metrics_port,
        dependency_check_interval_s=0.5,
        store_retry=StoreRetrySettings(initial_s=0.2, max_s=2.0),
    )
    service = build(settings, deps)
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_services([service], settings, registry=registry, board=board, stop=stop)
    )
    return Running(service, settings, registry, board, bus, stop, runner)


async def test_questdb_crash_is_retried_and_every_tick_stored_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    qdb = QuestDBServer(tmp_path / "questdb", die_with_parent=True)
    try:
        await asyncio.to_thread(qdb.start)
    except InfraError as e:
        require(False, f"private QuestDB: {e}")
    store = QuestDBTickStore(ilp_conf=qdb.ilp_conf, pg_dsn=qdb.pg_dsn).open()
    port = free_port()
    run = await _start_features(store, kafka_bootstrap, "qdb-outage", metrics_port=port)
    service, registry, board, bus = run.service, run.registry, run.board, run.bus
    stop, runner = run.stop, run.runner
    producer = Producer(bus)
    try:
        await _until(lambda: _readyz(port)[0] == 200, 60, "the service to turn ready")
        producer.send(2_000)
        await _until(
            lambda: _stored_visible(store, producer)[0] == 2_000, 60, "the first ticks stored"
        )

        killed = time.monotonic()
        await asyncio.to_thread(qdb.kill)
        producer.send(3_000)  # produced while QuestDB is down
        await _until(lambda: _not_ready_naming(port, "QuestDB"), 60, "/readyz naming QuestDB")
        detect_s = time.monotonic() - killed
        await _until(
            lambda: (registry.get_sample_value("features_store_write_retries_total") or 0) > 0,
            60,
            "a failed write to be retried",
        )
        await asyncio.sleep(2)  # an outage of a few retries
        producer.send(1_000)

        await asyncio.to_thread(qdb.start)
        back = time.monotonic()
        ready_s = await _until(lambda: _readyz(port)[0] == 200, 120, "/readyz 200 again")
        caught_up_s = await _until(
            lambda: _stored_visible(store, producer)[0] >= producer.sent, 120, "every tick stored"
        )
        caught_up_s += ready_s
        rows, distinct = _stored_visible(store, producer)
        assert rows == producer.sent == 6_000, (rows, producer.sent)
        assert distinct == rows  # no tick twice
        assert board.state(service.name) is State.RUNNING  # never stopped nor restarted
        failures = registry.get_sample_value(
            "quant_service_failures_total", {"service": "features", "kind": "retryable"}
        )
        assert not failures
        assert registry.get_sample_value("features_store_down") == 0
        print(
            f"\nQuestDB outage: /readyz 503 naming QuestDB {detect_s:.1f} s after the kill; "
            f"after QuestDB was healthy again: /readyz 200 in {ready_s:.1f} s, every tick "
            f"stored in {caught_up_s:.1f} s (outage {back - killed:.1f} s, "
            f"{registry.get_sample_value('features_store_write_retries_total'):.0f} retries)"
        )
    finally:
        stop.set()
        await asyncio.wait_for(runner, 60)
        producer.publisher.close()
        store.close()
        await asyncio.to_thread(qdb.stop)


def _stored_visible(store: QuestDBTickStore, of: Producer) -> tuple[int, int]:
    try:
        store.wait_visible(timeout=5)
        return _stored(store, of)
    except Exception:  # QuestDB down or still starting: nothing to count yet
        return -1, -1


def _not_ready_naming(port: int, name: str) -> bool:
    status, reasons = _readyz(port)
    return status == 503 and any(name in r for r in reasons)


async def test_questdb_down_at_start_up_is_waited_for(kafka_bootstrap: str, tmp_path: Path) -> None:
    """Started while QuestDB is down: the service runs, not ready naming QuestDB, holds
    what it consumed, and stores every tick once QuestDB starts (no exit, no restart)."""
    qdb = QuestDBServer(tmp_path / "questdb", die_with_parent=True)  # not started yet
    store = QuestDBTickStore(ilp_conf=qdb.ilp_conf, pg_dsn=qdb.pg_dsn)
    port = free_port()
    run = await _start_features(store, kafka_bootstrap, "qdb-late", metrics_port=port, opened=False)
    service, board, bus = run.service, run.board, run.bus
    stop, runner = run.stop, run.runner
    producer = Producer(bus)
    try:
        await _until(lambda: _not_ready_naming(port, "QuestDB"), 60, "/readyz naming QuestDB")
        producer.send(1_000)
        await asyncio.sleep(2)
        try:
            await asyncio.to_thread(qdb.start)
        except InfraError as e:
            require(False, f"private QuestDB: {e}")
        ready_s = await _until(lambda: _readyz(port)[0] == 200, 120, "/readyz 200")
        await _until(
            lambda: _stored_visible(store, producer)[0] >= producer.sent, 120, "every tick stored"
        )
        rows, distinct = _stored_visible(store, producer)
        assert rows == distinct == producer.sent == 1_000
        assert board.state(service.name) is State.RUNNING
        print(f"\nQuestDB down at start-up: /readyz 200 {ready_s:.1f} s after it was healthy")
    finally:
        stop.set()
        await asyncio.wait_for(runner, 60)
        producer.publisher.close()
        store.close()
        await asyncio.to_thread(qdb.stop)


async def test_stopping_during_a_questdb_outage_does_not_hang(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """SIGTERM while QuestDB is down: the retries give up, nothing more is committed, the
    service stops in seconds (a new start redoes the uncommitted ticks)."""
    qdb = QuestDBServer(tmp_path / "questdb", die_with_parent=True)
    try:
        await asyncio.to_thread(qdb.start)
    except InfraError as e:
        require(False, f"private QuestDB: {e}")
    store = QuestDBTickStore(ilp_conf=qdb.ilp_conf, pg_dsn=qdb.pg_dsn).open()
    run = await _start_features(store, kafka_bootstrap, "qdb-stop", checkpoint_interval_s=0.2)
    service, settings, registry, board, bus = (
        run.service,
        run.settings,
        run.registry,
        run.board,
        run.bus,
    )
    stop, runner = run.stop, run.runner
    producer = Producer(bus)
    try:
        await _until(lambda: service.ready()[0], 60, "the service to turn ready")
        sent_before_kill = producer.sent
        await asyncio.to_thread(qdb.kill)
        for _ in range(10):  # several checkpoints queue up behind the failing writes
            producer.send(500)
            await asyncio.sleep(0.3)
        await _until(
            lambda: (registry.get_sample_value("features_store_write_retries_total") or 0) > 2,
            60,
            "failed writes being retried",
        )
        stop.set()
        started = time.monotonic()
        await asyncio.wait_for(runner, 25)  # the supervisor's own limit is 30 s
        print(f"\nstopped during a QuestDB outage in {time.monotonic() - started:.1f} s")
        assert board.state(service.name) is State.STOPPED
        producer.publisher.close()
        assert not list(kafka_clients._open_clients), "the service left Kafka clients open"
        # nothing QuestDB did not take was committed: the group gets every tick again
        again = _redelivered(bus, settings.group_id, set(producer.keys))
        assert again >= producer.sent - sent_before_kill, (again, producer.sent)
    finally:
        stop.set()
        if not runner.done():
            runner.cancel()
        producer.publisher.close()
        store.close()
        await asyncio.to_thread(qdb.stop)


def _redelivered(bus: KafkaBus, group: str, keys: set[str]) -> int:
    """How many ticks of ``keys`` a new member of ``group`` is given (from its commits)."""
    consumer = bus.consumer(group, [topics.TICKS.name])
    count, idle = 0, 0
    try:
        while idle < 3:
            batch = consumer.poll(5_000, 1.0)
            idle = 0 if batch else idle + 1
            count += sum(1 for m in batch if (m.key() or b"").decode() in keys)
    finally:
        consumer.close()
    return count
