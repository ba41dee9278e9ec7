"""Cancel requests on ``orders.intents`` (a strategy's ``ctx.cancel``): the execution
service cancels the named working order of that strategy; a cancel of an unknown order,
of another strategy's order or of a final one is logged and skipped, and the service goes
on with the next message (in-process bus, SQLite journal, paper broker)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from engine_kit import DAY, EQ_KEY, EQUITY, at
from prometheus_client import CollectorRegistry

from execution_kit import running, until
from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.orders import OrderStatus, OrderType, Side
from quant.execution.main import build
from quant.execution.service import ExecutionService
from quant.execution.settings import ExecutionSettings
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.trading.client_ids import client_order_id
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.strategy import CancelRequest

SETTINGS = ExecutionSettings(
    api_host="127.0.0.1", api_port=0, control_catchup_s=0.2, rest_quotes=False
)


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


def _limit_buy(strategy: str, sequence: int, price: int) -> bytes:
    intent = OrderIntent(
        strategy, EQ_KEY, Side.BUY, 1, OrderType.LIMIT, Product.INTRADAY, price=price
    )
    return codecs.encode_intent(IntentMessage(intent, sequence, 0))


async def test_a_cancel_request_cancels_only_the_strategys_working_order() -> None:
    clock = FakeClock(at(10, 0))
    bus = InProcessBus()
    store = SqliteRelationalStore().open()
    async with _service(bus, store, clock) as (service, registry):
        engine = service.engine
        assert engine is not None
        pub = bus.publisher()
        now = clock.now_ns()
        depth = (DepthLevel(249_900, 100, 250_100, 100),)
        tick = Tick(EQ_KEY, FeedMode.FULL, now, now, 250_000, now, 10, depth=depth)
        pub.publish(topics.TICKS.name, EQ_KEY, codecs.encode_tick(tick))
        await until("the quote", lambda: EQ_KEY in engine.marks())
        for sequence in (1, 2):  # far below the ask: both rest
            pub.publish(topics.INTENTS.name, "cx", _limit_buy("cx", sequence, 240_000))
        first, second = client_order_id("cx", DAY, 1), client_order_id("cx", DAY, 2)

        def status(cid: str) -> OrderStatus | None:
            order = engine.order(cid)
            return None if order is None else order.status

        await until("both orders open", lambda: status(first) is status(second) is OrderStatus.OPEN)
        for request in (
            CancelRequest("cx", "cx-261207-99", now),  # unknown
            CancelRequest("other", first, now),  # not other's
            CancelRequest("cx", first, now),
            CancelRequest("cx", first, now),  # again: a cancel pending or final
        ):
            pub.publish(topics.INTENTS.name, request.strategy, codecs.encode_cancel(request))
        await until("the first cancelled", lambda: status(first) is OrderStatus.CANCELLED)
        assert status(second) is OrderStatus.OPEN
        # the service goes on: a later intent is still taken
        pub.publish(topics.INTENTS.name, "cx", _limit_buy("cx", 3, 240_000))
        third = client_order_id("cx", DAY, 3)
        await until("the third open", lambda: status(third) is OrderStatus.OPEN)
        bad = registry.get_sample_value(
            "quant_execution_bad_messages_total", {"topic": topics.INTENTS.name}
        )
        assert bad in (None, 0.0)
        assert service.ready() == (True, ())
    store.close()
