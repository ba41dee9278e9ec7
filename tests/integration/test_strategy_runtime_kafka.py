"""The strategy runtime through real Kafka against the real execution service (paper
broker, PostgreSQL journal), both run in-process: a strategy's intents become orders and
their fills come back to it as ``on_fill`` callbacks, end to end.

The strategy buys 5 shares on the first enriched tick, and once that fill has come back
it closes the position; a third intent is a LIMIT far below the market that it cancels
when the close has filled. So every path is crossed: enriched ticks -> strategy ->
``orders.intents`` -> execution -> paper fills -> ``orders.events`` -> strategy callbacks,
and a cancel request back. Topics are shared by the session: names here are this run's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from execution_kit import running as running_execution
from quant.bus import codecs, topics
from quant.bus.kafka import KafkaBus
from quant.bus.settings import KafkaSettings
from quant.core.clock import IST, datetime_to_ns
from quant.core.events import AggressorSide, DepthLevel, EnrichedTick, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, Side
from quant.execution.main import build
from quant.execution.settings import ExecutionSettings
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.postgres import PostgresStore
from quant.trading.order import Fill
from quant.trading.strategy import Strategy, StrategyContext
from strategy_runtime_kit import configured, running, sample, settings

pytestmark = pytest.mark.integration

DAY = date(2026, 12, 9)
INST = Instrument(
    "NSE_EQ|INE997Z01011",
    "RUNTIMETESTCO",
    "STRATEGY RUNTIME TEST COMPANY LTD",
    "NSE",
    "NSE_EQ",
    InstrumentType.EQUITY,
    tick_size_paise=5,
)
KEY = INST.instrument_key
BID, ASK = 99_950, 100_050
CALLS: list[tuple[str, Any]] = []


class TradingDayClock:
    """Real time, shifted to start at 10:00 IST on ``DAY``."""

    def __init__(self) -> None:
        self._start = datetime_to_ns(datetime(DAY.year, DAY.month, DAY.day, 10, 0, tzinfo=IST))
        self._t0 = time.monotonic_ns()

    def now_ns(self) -> int:
        return self._start + time.monotonic_ns() - self._t0


class RoundTrip(Strategy):
    """Buy 5, then close on the fill; once flat a far LIMIT, cancelled once working."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe(KEY)
        self.step = 0

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        if self.step == 0:
            self.step = 1
            CALLS.append(("buy", ctx.market(KEY, Side.BUY, 5, tag="entry")))

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        CALLS.append(("order", (event.client_order_id, event.status)))
        if self.step == 3 and event.status is OrderStatus.OPEN and event.price == 90_000:
            self.step = 4
            CALLS.append(("cancel", ctx.cancel(event.client_order_id)))

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        CALLS.append(("fill", (fill.client_order_id, fill.side, fill.quantity)))
        position = ctx.position(KEY).net_quantity
        if self.step == 1 and position == 5:
            self.step = 2
            CALLS.append(("close", ctx.close_position(KEY, tag="exit")))
        elif self.step == 2 and position == 0:
            self.step = 3
            CALLS.append(("far", ctx.limit(KEY, Side.BUY, 1, 90_000, tag="far")))


def _tick(now: int) -> Tick:
    depth = tuple(DepthLevel(BID - 5 * i, 1_000, ASK + 5 * i, 1_000) for i in range(5))
    return Tick(KEY, FeedMode.FULL, now, now, 100_000, now, 10, depth=depth)


def _enriched(now: int) -> EnrichedTick:
    return EnrichedTick(
        KEY, now, now, 100_000, 10, 100_000.0, 100_000.0, 0.0, 0.0, 0.0, 100, 0.0,
        100_000.0, AggressorSide.NONE, 0, 0, 0, 0.0, now,
    )  # fmt: skip


async def _feed(bus: KafkaBus, clock: TradingDayClock) -> None:
    publisher = bus.publisher()
    try:
        while True:
            now = clock.now_ns()
            publisher.publish(topics.TICKS.name, KEY, codecs.encode_tick(_tick(now)))
            publisher.publish(topics.ENRICHED.name, KEY, codecs.encode_enriched(_enriched(now)))
            await asyncio.to_thread(publisher.flush, 10)
            await asyncio.sleep(0.2)
    finally:
        publisher.close()


async def _eventually(what: str, probe: Callable[[], Any], timeout_s: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {CALLS}"
        await asyncio.sleep(0.2)
    return found


async def test_intents_become_orders_and_fills_come_back_as_callbacks(
    kafka_bootstrap: str, fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    CALLS.clear()
    run = uuid.uuid4().hex[:8]
    sid = f"rt{run}"
    bus = KafkaBus(kafka_bootstrap, client_id=f"strategy-test-{run}")
    bus.ensure_topics(topics.ALL_TOPICS)
    store = PostgresStore(fresh_postgres_dsn).open()
    clock = TradingDayClock()
    execution = ExecutionSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        api_host="127.0.0.1",
        api_port=0,
        intents_group=f"execution-{run}",
        control_catchup_s=5.0,
        rest_quotes=False,
        metrics_port=0,
    )
    registry = CollectorRegistry()
    deps = Deps(
        clock=clock,
        registry=registry,
        board=StatusBoard(registry),
        bus=bus,
        instruments=FixedCatalog([INST], "the test"),
        relational=store,
    )
    config = settings(tmp_path, strategy_group=f"strategy-{run}", restore_quiet_s=3.0)
    feeder = asyncio.create_task(_feed(bus, clock))
    try:
        async with (
            running_execution(build(execution, deps), ready_timeout_s=60, stop_timeout_s=30) as svc,
            running(bus, clock, [configured(RoundTrip, sid)], config, ready_timeout_s=60) as (
                runtime,
                metrics,
            ),
        ):
            engine = svc.engine
            assert engine is not None
            await _eventually("the far order cancelled", lambda: ("cancel", True) in CALLS)

            def far_cancelled() -> bool:
                far = next(v for n, v in CALLS if n == "far")
                return ("order", (far, OrderStatus.CANCELLED)) in CALLS

            await _eventually("the cancel confirmed to the strategy", far_cancelled)
            buy = next(v for n, v in CALLS if n == "buy")
            close = next(v for n, v in CALLS if n == "close")
            far = next(v for n, v in CALLS if n == "far")
            fills = [v for n, v in CALLS if n == "fill"]
            assert [(c, s) for c, s, _ in fills] == [(buy, Side.BUY), (close, Side.SELL)]
            assert sum(q for _, _, q in fills) == 10
            # the execution service made exactly those orders, in those states
            for cid, status in (
                (buy, OrderStatus.FILLED),
                (close, OrderStatus.FILLED),
                (far, OrderStatus.CANCELLED),
            ):
                order = engine.order(cid)
                assert order is not None and order.status is status, (cid, order)
                assert order.intent.strategy == sid
            assert runtime.host is not None
            ctx = runtime.host.context(sid)
            assert ctx.position(KEY).net_quantity == 0
            assert ctx.pnl().realised == -5 * (ASK - BID)  # bought at the ask, sold at the bid
            assert runtime.ready() == (True, ())
            await _eventually(
                "the fills counted",
                lambda: sample(metrics, "quant_strategy_fills_total", strategy=sid) == 2,
            )
    finally:
        feeder.cancel()
        store.close()
