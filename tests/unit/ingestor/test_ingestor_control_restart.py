"""The ``ingestor`` service on the real simulator rebuilds its run-time subscriptions
from ``control.commands`` on every start (the wiring in ``quant.ingestor.main``).

Before: the control consumer used one fixed group and committed, so a restarted
ingestor resumed after the last commit and dropped every instrument added at run time
(and re-subscribed universe instruments a REMOVE had taken out).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from quant.bus.control import publish_control
from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, SystemClock
from quant.core.control import SubscriptionAction, SubscriptionRequest
from quant.core.events import FeedMode
from quant.core.instruments import InstrumentType
from quant.ingestor.main import IngestorService, build
from quant.ingestor.service import Ingestor
from quant.ingestor.settings import IngestorSettings
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.sim.config import SimConfig
from quant.sim.server import SimServer

START = datetime(2026, 11, 24, 10, 0, tzinfo=IST)  # a Tuesday, market open


async def until(predicate: Callable[[], bool], wait: float = 15.0) -> None:
    async with asyncio.timeout(wait):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.02)


async def test_a_restarted_ingestor_rebuilds_the_subscriptions_from_the_control_topic() -> None:
    cfg = SimConfig(start=START, step_interval=0.2, ping_interval=1.0, extra_equities=5)
    async with SimServer(cfg) as sim:
        from quant.upstox.instruments import UpstoxInstrumentSource

        instruments = await UpstoxInstrumentSource(sim.base_url).fetch(lambda *_: None)
        equities = {
            i.trading_symbol: i.instrument_key
            for i in instruments
            if i.instrument_type is InstrumentType.EQUITY and i.segment == "NSE_EQ"
        }
        infy = equities["INFY"]
        extra = next(k for s, k in sorted(equities.items()) if s not in ("INFY", "RELIANCE"))
        bus = InProcessBus()
        registry, board = new_registry_and_board()
        deps = Deps(
            clock=SystemClock(),
            registry=registry,
            board=board,
            bus=bus,
            instruments=FixedCatalog(instruments, "the simulator"),
            token=sim.token_source(),
        )
        settings = IngestorSettings.model_validate(
            {
                "universe": ["RELIANCE", "INFY"],
                "upstox": {"api_base": sim.base_url},
                "metrics_port": 0,
                "tick_limits": {"session_window": False},
            }
        )
        pub = bus.publisher()
        for action, key in ((SubscriptionAction.ADD, extra), (SubscriptionAction.REMOVE, infy)):
            publish_control(pub, SubscriptionRequest(action, (key,), FeedMode.LTPC, "ops", 1))

        async def one_run(service: IngestorService) -> dict[str, FeedMode | None]:
            stop = asyncio.Event()
            task = asyncio.create_task(service.run(stop))
            try:

                def rebuilt() -> bool:
                    ing: Ingestor | None = service._ingestor
                    return ing is not None and ing.book.mode_of(extra) is not None

                await until(rebuilt)
                ing = service._ingestor
                assert ing is not None
                return {k: ing.book.mode_of(k) for k in (extra, infy, equities["RELIANCE"])}
            finally:
                stop.set()
                async with asyncio.timeout(10):
                    await task

        service = build(settings, deps)
        expected = {extra: FeedMode.LTPC, infy: None, equities["RELIANCE"]: FeedMode.FULL}
        assert await one_run(service) == expected
        assert await one_run(service) == expected  # a restart, same bus: rebuilt again
