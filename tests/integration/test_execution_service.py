"""The execution service on real Kafka and PostgreSQL (paper broker), run in-process.

Intents published on ``orders.intents`` become orders: their ``OrderEvent``s appear on
``orders.events`` (keyed by client order id) and as rows of ``executed_orders``, and they
fill against the depth of the ticks on ``market.equity.ticks``. A kill switch for a
strategy on ``control.commands`` halts it (its next intent is refused ``HALTED``). A
redelivered intent (the same strategy and sequence again) makes no second order. After a
restart on a fresh intents group (so every intent on the topic is delivered again) the
engine rebuilds the same orders, positions and states from the journal and the control
topic, places nothing new, and replaying ``executed_orders`` gives the same positions.

``quant execution`` itself (a subprocess on PostgreSQL) turns ready, serves its API to a
trader's key, exports its metrics and stops on SIGTERM with exit code 0.

The topics are shared by the test session: everything here is keyed by names of this run
(strategies, consumer groups), and the clock runs from 10:00 IST on a trading day.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from execution_kit import running
from quant.bus import codecs, topics
from quant.bus.control import publish_control
from quant.bus.kafka import KafkaBus
from quant.bus.settings import KafkaSettings
from quant.core.clock import IST, datetime_to_ns
from quant.core.control import KillSwitch
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.execution.main import build
from quant.execution.service import ExecutionService
from quant.execution.settings import ExecutionSettings
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.postgres import PostgresStore
from quant.trading.client_ids import client_order_id
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.replay import replay_positions
from quant.trading.state import TradingState

pytestmark = pytest.mark.integration

DAY = date(2026, 12, 9)  # a normal NSE session
INST = Instrument(
    "NSE_EQ|INE998Z01019",
    "EXECTESTCO",
    "EXECUTION TEST COMPANY LTD",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    tick_size_paise=5,
)
BID, ASK = 99_950, 100_050  # 999.50 / 1000.50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TradingDayClock:
    """Real time, shifted to start at 10:00 IST on ``DAY``."""

    def __init__(self) -> None:
        self._start = datetime_to_ns(datetime(DAY.year, DAY.month, DAY.day, 10, 0, tzinfo=IST))
        self._t0 = time.monotonic_ns()

    def now_ns(self) -> int:
        return self._start + time.monotonic_ns() - self._t0


def _tick(now: int) -> Tick:
    depth = tuple(DepthLevel(BID - 5 * i, 1_000, ASK + 5 * i, 1_000) for i in range(5))
    return Tick(INST.instrument_key, FeedMode.FULL, now, now, 100_000, now, 10, depth=depth)


async def _eventually(
    what: str,
    probe: Callable[[], Any],
    timeout_s: float = 60.0,
    detail: Callable[[], object] = lambda: "",
) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {detail()}"
        await asyncio.sleep(0.2)


class Run:
    """One start of the service over the shared bus, store and clock."""

    def __init__(self, service: ExecutionService, registry: CollectorRegistry) -> None:
        self.service, self.registry = service, registry

    @property
    def engine(self) -> Any:
        assert self.service.engine is not None
        return self.service.engine


@contextlib.asynccontextmanager
async def _running(
    bus: KafkaBus, store: PostgresStore, clock: TradingDayClock, settings: ExecutionSettings
) -> AsyncIterator[Run]:
    registry = CollectorRegistry()
    deps = Deps(
        clock=clock,
        registry=registry,
        board=StatusBoard(registry),
        bus=bus,
        instruments=FixedCatalog([INST], "the test"),
        relational=store,
    )
    async with running(build(settings, deps), ready_timeout_s=60, stop_timeout_s=30) as service:
        yield Run(service, registry)


async def _feed_ticks(bus: KafkaBus, clock: TradingDayClock) -> None:
    publisher = bus.publisher()
    try:
        while True:
            tick = _tick(clock.now_ns())
            publisher.publish(topics.TICKS.name, INST.instrument_key, codecs.encode_tick(tick))
            await asyncio.to_thread(publisher.flush, 10)
            await asyncio.sleep(0.2)
    finally:
        publisher.close()


def _intent(strategy: str, side: Side, quantity: int, sequence: int, now: int) -> bytes:
    intent = OrderIntent(
        strategy, INST.instrument_key, side, quantity, OrderType.MARKET, Product.INTRADAY
    )
    return codecs.encode_intent(IntentMessage(intent, sequence, now))


class Events:
    """The ``orders.events`` of this run's strategies, read on a group of its own."""

    def __init__(self, bus: KafkaBus, strategies: set[str]) -> None:
        self._consumer = bus.consumer(
            f"exec-test-events-{uuid.uuid4().hex[:8]}", [topics.ORDERS.name]
        )
        self._strategies = strategies
        self.seen: list[tuple[str, OrderEvent]] = []

    def poll(self) -> list[tuple[str, OrderEvent]]:
        for msg in self._consumer.poll(1000, 0.1):
            event = codecs.decode_order(msg.value())
            if event.strategy in self._strategies:
                key = msg.key()
                self.seen.append((key.decode() if key else "", event))
        return self.seen

    def close(self) -> None:
        self._consumer.close()


def _journal(store: PostgresStore, strategies: set[str]) -> list[OrderEvent]:
    return [e for e in store.order_events_since(0) if e.strategy in strategies]


def _positions(engine: Any, strategy: str) -> list[tuple[object, ...]]:
    return sorted(
        (p.key.strategy, p.key.instrument_key, p.key.product, p.net_quantity, p.cost, p.realised)
        for p in engine.positions()
        if p.key.strategy == strategy
    )


def _orders(engine: Any, strategies: set[str]) -> list[tuple[str, OrderStatus, int]]:
    return sorted(
        (o.client_order_id, o.status, o.filled_quantity)
        for o in engine.orders(1000)
        if o.intent.strategy in strategies
    )


async def test_intents_orders_kill_switch_redelivery_and_restart(
    kafka_bootstrap: str, fresh_postgres_dsn: str
) -> None:
    run = uuid.uuid4().hex[:8]
    trader, halted = f"it{run}", f"ht{run}"
    ours = {trader, halted}
    bus = KafkaBus(kafka_bootstrap, client_id=f"exec-test-{run}")
    bus.ensure_topics(topics.ALL_TOPICS)
    store = PostgresStore(fresh_postgres_dsn).open()
    clock = TradingDayClock()
    settings = ExecutionSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        api_host="127.0.0.1",
        api_port=0,
        intents_group=f"execution-{run}",
        control_catchup_s=8.0,
        metrics_port=0,
    )
    events = Events(bus, ours)
    feeder = asyncio.create_task(_feed_ticks(bus, clock))
    publisher = bus.publisher()

    def send(value: bytes, topic: str = topics.INTENTS.name) -> None:
        publisher.publish(topic, f"intent-{run}", value)
        publisher.flush(10)

    buy = client_order_id(trader, DAY, 1)
    sell = client_order_id(trader, DAY, 2)
    try:
        async with _running(bus, store, clock, settings) as first:
            # the ticks are read from the end of the log: wait for the first one to arrive
            await _eventually("a quote", lambda: INST.instrument_key in first.engine.marks())
            send(_intent(trader, Side.BUY, 10, 1, clock.now_ns()))
            send(b"\x08not an intent")  # logged, counted, skipped
            send(_intent(trader, Side.SELL, 4, 2, clock.now_ns()))

            def filled() -> bool:
                done = {
                    e.client_order_id for _, e in events.poll() if e.status is OrderStatus.FILLED
                }
                return {buy, sell} <= done

            await _eventually(
                "both orders FILLED on orders.events",
                filled,
                detail=lambda: (first.engine.orders(10), events.seen, first.engine.marks()),
            )
            for key, event in events.seen:
                assert key == event.client_order_id  # keyed by client order id
                assert event.mode == "paper"
            journal = _journal(store, ours)
            statuses = {(e.client_order_id, e.status) for e in journal}
            assert (buy, OrderStatus.PENDING_NEW) in statuses
            assert (buy, OrderStatus.FILLED) in statuses and (sell, OrderStatus.FILLED) in statuses
            assert _positions(first.engine, trader)[0][3] == 6  # +10 - 4
            bad = first.registry.get_sample_value(
                "quant_execution_bad_messages_total", {"topic": topics.INTENTS.name}
            )
            assert bad == 1

            # a redelivered intent: the engine finds the order it already made
            rows_before = len(_journal(store, ours))
            send(_intent(trader, Side.BUY, 10, 1, clock.now_ns()))
            marker = client_order_id(trader, DAY, 3)
            send(_intent(trader, Side.BUY, 1, 3, clock.now_ns()))
            await _eventually(
                "the marker order FILLED",
                lambda: any(
                    e.client_order_id == marker and e.status is OrderStatus.FILLED
                    for _, e in events.poll()
                ),
            )
            again = [e for e in _journal(store, ours) if e.client_order_id == buy]
            assert sum(e.status is OrderStatus.PENDING_NEW for e in again) == 1, again
            assert len(_journal(store, ours)) > rows_before  # the marker's rows only
            assert _positions(first.engine, trader)[0][3] == 7

            # the kill switch for one strategy halts it; the other keeps trading
            control = bus.publisher()
            publish_control(
                control, KillSwitch(True, False, "test halt", str(DAY), clock.now_ns(), halted)
            )
            control.flush(10)
            control.close()
            await _eventually(
                "the strategy HALTED",
                lambda: first.engine.states().effective(halted) is TradingState.HALTED,
            )
            assert first.engine.states().effective(trader) is TradingState.ACTIVE
            refused = client_order_id(halted, DAY, 1)
            send(_intent(halted, Side.BUY, 1, 1, clock.now_ns()))

            def rejected() -> OrderEvent | None:
                for _, e in events.poll():
                    if e.client_order_id == refused and e.status is OrderStatus.REJECTED:
                        return e
                return None

            event = await _eventually("the halted strategy's intent REJECTED", rejected)
            assert event.reason == "HALTED", event
            positions = _positions(first.engine, trader)
            orders = _orders(first.engine, ours)

        # restart on a fresh intents group: every intent on the topic is delivered again
        restarted = settings.model_copy(update={"intents_group": f"execution-{run}-again"})
        rows = len(_journal(store, ours))
        async with _running(bus, store, clock, restarted) as second:
            assert _positions(second.engine, trader) == positions
            assert second.engine.states().effective(halted) is TradingState.HALTED
            assert _orders(second.engine, ours) == orders
            # the redelivered backlog is consumed, and makes no order: a marker after it
            await _eventually("a quote", lambda: INST.instrument_key in second.engine.marks())
            marker = client_order_id(trader, DAY, 4)
            send(_intent(trader, Side.SELL, 7, 4, clock.now_ns()))
            await _eventually(
                "the closing order FILLED",
                lambda: any(
                    e.client_order_id == marker and e.status is OrderStatus.FILLED
                    for _, e in events.poll()
                ),
                detail=lambda: second.engine.orders(3),
            )
            journal = _journal(store, ours)
            new = {e.client_order_id for e in journal[rows:]}
            assert new == {marker}, new
            assert _positions(second.engine, trader)[0][3] == 0
            final = _positions(second.engine, trader)

        # replaying executed_orders rebuilds the same positions
        book = replay_positions(store.order_events_since(0))
        replayed = sorted(
            (
                p.key.strategy,
                p.key.instrument_key,
                p.key.product,
                p.net_quantity,
                p.cost,
                p.realised,
            )
            for p in book
            if p.key.strategy == trader
        )
        assert replayed == final
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
        publisher.close()
        events.close()
        store.close()


def test_quant_execution_command_serves_its_api_health_and_metrics(
    kafka_bootstrap: str, fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    """``quant execution`` as the cluster runs it: PostgreSQL for the master, the journal
    and the users; ready on ``/readyz`` once recovered; its metrics exported; its API
    answering a trader's key; SIGTERM stops it with exit code 0."""
    store = PostgresStore(fresh_postgres_dsn).open()
    try:
        store.upsert_instruments([INST])
    finally:
        store.close()
    api_port, health_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUANT_")},
        "QUANT_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "QUANT_POSTGRES__DSN": fresh_postgres_dsn,
        "QUANT_INTENTS_GROUP": f"execution-cmd-{uuid.uuid4().hex[:8]}",
        "QUANT_RISK__MAX_ORDER_VALUE": "100000",
    }
    added = subprocess.run(
        [sys.executable, "-m", "quant.cli", "users", "add", "ravi", "--role", "trader"],
        env={**env, "QUANT_ARGON2__MEMORY_KIB": "1024", "QUANT_ARGON2__TIME_COST": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    key = added.stdout.splitlines()[-1]
    log = tmp_path / "execution.log"
    command = [sys.executable, "-m", "quant.cli", "execution", "--api-host", "127.0.0.1"]
    command += ["--api-port", str(api_port), "--metrics-port", str(health_port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(timeout=5) as http:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                try:
                    if http.get(f"http://127.0.0.1:{health_port}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            api = f"http://127.0.0.1:{api_port}"
            auth = {"Authorization": f"Bearer {key}"}
            # (its new group reads orders.intents from the start: other tests' intents too)
            orders = http.get(f"{api}/v1/orders", headers=auth)
            assert orders.status_code == 200 and isinstance(orders.json(), list), orders.text
            assert http.get(f"{api}/v1/orders").status_code == 401
            pnl = http.get(f"{api}/v1/pnl", headers=auth).json()
            assert pnl["state"]["account"] == "ACTIVE", pnl
            metrics = http.get(f"http://127.0.0.1:{health_port}/metrics").text
            assert "quant_execution_recoveries_total 1.0" in metrics, metrics
            for name in ("intents_total", "limiter_queue_depth", "reconcile_mismatches_total"):
                assert f"quant_execution_{name}" in metrics, name
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "execution API on http://127.0.0.1:" in text and "(paper mode)" in text, text
    assert "Traceback" not in text, text
    assert "was not closed" not in text, text  # its Kafka clients closed on stop
