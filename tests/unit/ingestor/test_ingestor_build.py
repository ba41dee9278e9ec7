"""The ``ingestor`` service as ``build()`` makes it: a universe that resolves to nothing
is said on ``/readyz`` and never turns ready (no feed is opened for it)."""

from __future__ import annotations

import asyncio

from quant.bus.inprocess import InProcessBus
from quant.core.clock import FakeClock
from quant.core.instruments import Instrument, InstrumentType
from quant.ingestor.main import build
from quant.ingestor.settings import IngestorSettings
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board

REL = Instrument(
    "NSE_EQ|INE002A01018", "RELIANCE", "RELIANCE INDUSTRIES LTD", "NSE", "NSE_EQ",
    InstrumentType.EQUITY,
)  # fmt: skip


def _deps() -> Deps:
    registry, board = new_registry_and_board()
    return Deps(
        clock=FakeClock(0),
        registry=registry,
        board=board,
        bus=InProcessBus(),
        instruments=FixedCatalog([REL], "a test"),
        token=lambda: "token",
    )


async def test_a_universe_that_resolves_to_nothing_never_turns_ready() -> None:
    settings = IngestorSettings.model_validate(
        # the feed would be refused: the test fails if a connection is attempted
        {"universe": ["NOSUCH", "ALSO MISSING"], "upstox": {"api_base": "http://127.0.0.1:9"}}
    )
    service = build(settings, _deps())
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    async with asyncio.timeout(5):
        while True:
            if service.ready() != (False, ("connecting and subscribing",)):
                break
            await asyncio.sleep(0.01)
    ok, reasons = service.ready()
    assert not ok
    assert reasons == ("the universe resolves to no instrument (NOSUCH, ALSO MISSING)",)
    assert not task.done()  # it waits for stop rather than failing in a restart loop
    stop.set()
    async with asyncio.timeout(5):
        await task
