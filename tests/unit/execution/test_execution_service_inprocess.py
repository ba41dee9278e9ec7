"""The execution service's loops on the in-process bus, SQLite and the paper broker.

What only the service decides (the engine has its own tests): at start, the backlog of
``control.commands`` is folded to the latest kill switch per scope before anything is
applied, so a FLATTEN that a later RESUME replaced is not replayed (it would close a
position the trader meant to keep); a halt stays in force over a restart; an undecodable
intent is counted and skipped while the next one is processed and committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from engine_kit import DAY, EQ_KEY, EQUITY, at
from prometheus_client import CollectorRegistry

from execution_kit import running, until
from quant.bus import codecs, topics
from quant.bus.control import publish_control
from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock
from quant.core.control import KillSwitch
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.execution.main import build
from quant.execution.service import ExecutionService
from quant.execution.settings import ExecutionSettings
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.trading.client_ids import client_order_id
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.state import TradingState

SETTINGS = ExecutionSettings(api_host="127.0.0.1", api_port=0, control_catchup_s=0.3)


@contextlib.asynccontextmanager
async def _service(
    bus: InProcessBus, store: SqliteRelationalStore, clock: FakeClock
) -> AsyncIterator[tuple[ExecutionService, CollectorRegistry]]:
    registry = CollectorRegistry()
    deps = Deps(
        clock=clock,
        registry=registry,
        board=StatusBoard(registry),
        bus=bus,
        instruments=FixedCatalog([EQUITY], "the test"),
        relational=store,
    )
    async with running(build(SETTINGS, deps)) as service:
        yield service, registry


def _filled_buy(strategy: str, qty: int, ts: int) -> list[OrderEvent]:
    cid = client_order_id(strategy, DAY, 1)
    new = OrderEvent(
        cid, EQ_KEY, Side.BUY, OrderType.MARKET, qty, OrderStatus.PENDING_NEW, ts, ts,
        strategy=strategy, product="I",
    )  # fmt: skip
    return [
        new,
        new._replace(status=OrderStatus.OPEN, broker_order_id="PAPER-9", ts_init=ts + 1),
        new._replace(
            status=OrderStatus.FILLED,
            broker_order_id="PAPER-9",
            filled_quantity=qty,
            filled_value=qty * 250_000,
            ts_init=ts + 2,
        ),
    ]


async def test_a_replaced_flatten_is_not_replayed_and_a_halt_survives_a_restart() -> None:
    clock = FakeClock(at(10, 0))
    bus = InProcessBus()
    store = SqliteRelationalStore().open()
    for event in _filled_buy("keep", 5, clock.now_ns()):
        store.append_order_event(event)
    publisher = bus.publisher()
    now = clock.now_ns()
    for command in (
        KillSwitch(True, True, "flatten by mistake", str(DAY), now, "keep"),
        KillSwitch(False, False, "undo", str(DAY), now + 1, "keep"),
        KillSwitch(True, False, "stop it", str(DAY), now + 2, "other"),
    ):
        publish_control(publisher, command)
    rows = len(store.order_events_since(0))

    async with _service(bus, store, clock) as (service, _):
        engine = service.engine
        assert engine is not None
        assert [p.net_quantity for p in engine.positions()] == [5]
        assert engine.states().effective("keep") is TradingState.ACTIVE
        assert engine.states().effective("other") is TradingState.HALTED
        await asyncio.sleep(0.3)  # timer rounds: nothing may act on the old FLATTEN
        assert len(store.order_events_since(0)) == rows  # no flatten order was made

    async with _service(bus, store, clock) as (service, _):
        assert service.engine is not None
        assert service.engine.states().effective("other") is TradingState.HALTED
    store.close()


async def test_a_bad_intent_is_counted_and_the_next_one_is_processed() -> None:
    clock = FakeClock(at(10, 0))
    bus = InProcessBus()
    store = SqliteRelationalStore().open()
    async with _service(bus, store, clock) as (service, registry):
        publisher = bus.publisher()
        publisher.publish(topics.INTENTS.name, "s", b"\xff\xff not protobuf")
        intent = OrderIntent("good", EQ_KEY, Side.BUY, 1, OrderType.MARKET, Product.INTRADAY)
        publisher.publish(
            topics.INTENTS.name, "s", codecs.encode_intent(IntentMessage(intent, 1, 0))
        )
        cid = client_order_id("good", DAY, 1)
        # no tick has come: the risk check refuses it, and the refusal is journalled
        await until("the intent journalled", lambda: store.list_order_events(10, cid))
        bad = registry.get_sample_value(
            "quant_execution_bad_messages_total", {"topic": topics.INTENTS.name}
        )
        assert bad == 1
        assert registry.get_sample_value("quant_execution_intents_total") == 1
        assert service.ready() == (True, ())
    # committed: a new run on the same group gets neither message again
    again = bus.consumer(SETTINGS.intents_group, [topics.INTENTS.name])
    assert again.poll(timeout=0) == []
    store.close()
