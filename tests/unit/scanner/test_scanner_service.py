"""The scanner service on a fake clock: the start of the day fills daily history before
the first cycle and one-minute history in the background, cycles run at 09:20 and 09:25
exactly, picks go to ``scanner.suggestions`` keyed by instrument and to the table, the
metrics count them, and a failing quote source is counted and reported, not fatal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date

from scanner_kit import (
    DAY,
    KEYS,
    NAMES,
    VOLUME_DAYS,
    FakeQuotes,
    at,
    flat_market,
    instruments,
    seeded_store,
)

from quant.bus import codecs, topics
from quant.bus.inprocess import InProcessBus
from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import FakeClock
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.scanner.cycle import CycleResult
from quant.scanner.ports import ScanQuote
from quant.scanner.schedule import previous_trading_days
from quant.scanner.service import ScannerIO, ScannerService
from quant.scanner.settings import ScannerSettings
from quant.upstox.errors import UpstoxTransportError

SETTINGS = ScannerSettings(
    top_n=3, volume_days=VOLUME_DAYS, min_turnover=1_000_000, clock_speed=10_000
)


class FakeFill:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, date, date]] = []

    async def fill(
        self,
        instrument_keys: Sequence[str],
        interval: str,
        start: date,
        end: date,
        stop: asyncio.Event,
    ) -> str:
        self.calls.append((interval, len(instrument_keys), start, end))
        return "nothing missing"


class FlakyQuotes(FakeQuotes):
    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    async def quotes(self, instrument_keys: Sequence[str]) -> dict[str, ScanQuote]:
        if self.fail:
            raise UpstoxTransportError("market quote: timed out")
        return await super().quotes(instrument_keys)


async def _until(check: Callable[[], bool]) -> None:
    """Poll a condition the service's task changes (10 s at most)."""
    async with asyncio.timeout(10.0):
        while not check():  # noqa: ASYNC110 - a plain condition, no event to wait on
            await asyncio.sleep(0.005)


def test_cycles_run_on_the_clock_and_picks_reach_the_bus_and_the_table() -> None:
    async def scenario() -> None:
        clock = FakeClock(at(9, 19))
        store = seeded_store()
        bus = InProcessBus()
        registry, board = new_registry_and_board()
        deps = Deps(
            clock=clock,
            registry=registry,
            board=board,
            bus=bus,
            instruments=FixedCatalog(instruments(), "test"),
            tick_store=store,
        )
        quotes, fill = FlakyQuotes(), FakeFill()
        flat_market(quotes, breakout=3.0, index_up=0.5)

        @contextlib.asynccontextmanager
        async def open_io() -> AsyncIterator[ScannerIO]:
            yield ScannerIO(quotes, fill)

        results: list[CycleResult] = []
        service = ScannerService(
            SETTINGS, deps, open_io=open_io, calendar=NSE_CALENDAR, on_cycle=results.append
        )
        consumer = bus.consumer("test", [topics.SUGGESTIONS.name])
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await _until(lambda: service.stage == "scanning")
        assert service.ready() == (True, ())
        assert results == []  # 09:19: not yet
        # the daily history of every candidate, then the minutes of the scanned names
        await _until(lambda: len(fill.calls) == 2)
        daily = previous_trading_days(DAY, NSE_CALENDAR, 20)
        assert fill.calls[0] == ("day", len(NAMES), daily[0], date(2026, 12, 7))
        assert fill.calls[1] == ("1minute", len(NAMES) - 1, date(2026, 12, 3), DAY)

        clock.set_ns(at(9, 20))
        await _until(lambda: len(results) == 1)
        messages = consumer.poll(100, 0.1)
        picks = [codecs.decode_suggestion(m.value()) for m in messages]
        assert [p.rank for p in picks] == [1, 2, 3]
        assert picks[0].instrument_key == KEYS["BRK"]
        assert [m.key() for m in messages] == [p.instrument_key.encode() for p in picks]
        assert {p.ts_event for p in picks} == {at(9, 20)}
        stored = store.latest_suggestions()
        assert [p._replace(signals=()) for p in stored] == [p._replace(signals=()) for p in picks]
        assert [n for n, _ in stored[0].signals] == [n for n, _ in picks[0].signals]

        quotes.fail = True
        clock.set_ns(at(9, 25))
        await _until(lambda: not service.ready()[0])
        assert "timed out" in service.ready()[1][0]
        assert registry.get_sample_value("quant_scanner_errors_total", {"stage": "cycle"}) == 1

        quotes.fail = False
        clock.set_ns(at(9, 30))
        await _until(lambda: len(results) == 2)
        assert service.ready() == (True, ())
        assert {p.ts_event for p in store.latest_suggestions()} == {at(9, 30)}
        assert registry.get_sample_value("quant_scanner_picks") == 3
        assert registry.get_sample_value("quant_scanner_universe_size") == len(NAMES) - 1
        assert registry.get_sample_value("quant_scanner_cycles_total") == 2
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())


def test_a_universe_with_no_equity_of_the_master_is_a_configuration_error() -> None:
    from quant.runtime.service import ConfigurationError

    async def scenario() -> None:
        registry, board = new_registry_and_board()
        deps = Deps(
            clock=FakeClock(at(9, 19)),
            registry=registry,
            board=board,
            bus=InProcessBus(),
            instruments=FixedCatalog(instruments(), "test"),
            tick_store=seeded_store(),
        )

        @contextlib.asynccontextmanager
        async def open_io() -> AsyncIterator[ScannerIO]:
            yield ScannerIO(FakeQuotes(), None)

        settings = SETTINGS.model_copy(update={"universe": ("NOPE",)})
        service = ScannerService(settings, deps, open_io=open_io, calendar=NSE_CALENDAR)
        try:
            await service.run(asyncio.Event())
        except ConfigurationError as e:
            assert "NOPE" in str(e)
        else:
            raise AssertionError("expected a ConfigurationError")

    asyncio.run(scenario())
