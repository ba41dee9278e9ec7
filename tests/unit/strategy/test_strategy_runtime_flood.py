"""A strategy that floods intents, end to end on the in-process bus with the real execution
service (paper broker): every intent goes out on ``orders.intents``; the execution
service's order-rate limit (10/s, reject mode) and risk limits hold, and the strategy
hears of each refusal as a ``REJECTED`` order update with its reason, while the orders
within the limits fill and come back as fills."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry
from strategy_kit import KEY, clock_at, enriched

from execution_kit import running as running_execution
from execution_kit import until
from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus
from quant.core.events import DepthLevel, EnrichedTick, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, OrderStatus, Side
from quant.execution.main import build
from quant.execution.settings import ExecutionSettings, RateSettings
from quant.runtime.deps import Deps, FixedCatalog
from quant.runtime.status import StatusBoard
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.trading.order import Fill
from quant.trading.strategy import Strategy, StrategyContext
from strategy_runtime_kit import Commands, configured, running, settings

EQUITY = Instrument(
    KEY, "RELIANCE", "RELIANCE INDUSTRIES", "NSE", "NSE_EQ", InstrumentType.EQUITY,
    lot_size=1, tick_size_paise=10, freeze_quantity=100_000,
)  # fmt: skip
FLOOD = 30
STATUSES: Counter[tuple[OrderStatus, str]] = Counter()
FILLS: list[int] = []


class Flood(Strategy):
    """30 market orders of 1 share on the first enriched tick."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe(KEY)
        self.sent = False

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        if not self.sent:
            self.sent = True
            for _ in range(FLOOD):
                ctx.market(KEY, Side.BUY, 1)

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        if event.status.is_terminal:
            STATUSES[event.status, event.reason] += 1

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        FILLS.append(fill.quantity)


async def test_a_flood_of_intents_goes_out_and_the_execution_limits_hold(tmp_path: Path) -> None:
    STATUSES.clear()
    FILLS.clear()
    clock = clock_at(10, 0)
    bus = InProcessBus()
    store = SqliteRelationalStore().open()
    registry = CollectorRegistry()
    execution = ExecutionSettings(
        api_host="127.0.0.1",
        api_port=0,
        control_catchup_s=0.2,
        rest_quotes=False,
        rate=RateSettings(orders_per_second=10, mode="reject"),
    )
    deps = Deps(
        clock=clock,
        registry=registry,
        board=StatusBoard(registry),
        bus=bus,
        instruments=FixedCatalog([EQUITY], "the test"),
        relational=store,
    )
    commands = Commands(bus, "test-commands")
    async with (
        running_execution(build(execution, deps)) as service,
        running(bus, clock, [configured(Flood, "flood")], settings(tmp_path)) as (runtime, _),
    ):
        engine = service.engine
        assert engine is not None
        pub = bus.publisher()
        now = clock.now_ns()
        depth = (DepthLevel(249_900, 1_000, 250_100, 1_000),)
        tick = Tick(KEY, FeedMode.FULL, now, now, 250_000, now, 10, depth=depth)
        pub.publish(topics.TICKS.name, KEY, codecs.encode_tick(tick))
        await until("the quote", lambda: KEY in engine.marks())
        pub.publish(topics.ENRICHED.name, KEY, codecs.encode_enriched(enriched(now, 250_000)))
        await until("every intent out", lambda: len(commands.poll()) == FLOOD)

        def settled() -> bool:
            pub.publish(topics.TICKS.name, KEY, codecs.encode_tick(tick))  # the paper book
            return sum(STATUSES.values()) == FLOOD

        await until("every order final at the strategy", settled, 15)
        assert STATUSES == {
            (OrderStatus.FILLED, ""): 10,
            (OrderStatus.REJECTED, "RATE_LIMIT"): FLOOD - 10,
        }
        assert sum(FILLS) == 10
        assert runtime.host is not None
        assert runtime.host.context("flood").position(KEY).net_quantity == 10
        assert runtime.ready() == (True, ())
    commands.close()
    store.close()
