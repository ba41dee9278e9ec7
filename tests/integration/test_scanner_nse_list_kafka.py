"""A scanner cycle over the whole NSE equity list of the simulator's master (~2,200 names)
end to end through a real Kafka broker (``integration``).

The simulator lists 2,150 synthetic equities besides its real ones; the tick store holds
20 sessions of daily candles for every one of them (flat at the previous close, so that
all pass the liquidity filter); the service built by ``quant.scanner.main.build`` (the
rate-limited REST client, the simulator's calendar and clock, moved to 10:24:57 once the
store is seeded) runs its 10:25 cycle: every
name is quoted in at most 5 requests of 500, the top 20 land on ``scanner.suggestions``
keyed by instrument and decode to the cycle's picks, and the table holds them.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from conftest import require
from quant.analytics.scanner_signals import SIGNAL_NAMES
from quant.bus import codecs, topics
from quant.bus.kafka import KafkaBus
from quant.core.clock import IST, datetime_to_ns
from quant.core.events import Candle
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.scanner import main as scanner
from quant.scanner.cycle import CycleResult
from quant.scanner.history import midnight_ns
from quant.scanner.schedule import previous_trading_days
from quant.scanner.settings import ScannerServiceSettings, ScannerSettings
from quant.scanner.universe import is_nse_equity
from quant.sim.calendar import SIM_CALENDAR
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.store.columns import candle_batch
from quant.store.sqlite_ticks import SqliteTickStore
from quant.upstox.config import RestConfig
from quant.upstox.instruments import UpstoxInstrumentSource
from quant.upstox.rest import UpstoxRestClient
from quant.upstox.settings import UpstoxSettings

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 26, 10, 15, tzinfo=IST)  # a Thursday
CYCLE = datetime_to_ns(START.replace(minute=25))  # the clock is moved to just before it


def _quiet(phase: str, done: int, total: int) -> None:
    del phase, done, total


def test_a_cycle_over_the_whole_nse_list_publishes_its_picks_on_kafka(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    require(bool(kafka_bootstrap), "Kafka")
    asyncio.run(_scenario(kafka_bootstrap, tmp_path))


async def _scenario(bootstrap: str, tmp_path: Path) -> None:
    config = SimConfig(seed=21, speed=1.0, start=START, extra_equities=2150, port=0)
    async with SimServer(config) as sim:
        url = sim.base_url
        upstox = UpstoxSettings(api_base=url, hft_base=url, assets_base=url)
        master = await UpstoxInstrumentSource(url).fetch(_quiet)
        equities = [i for i in master if is_nse_equity(i)]
        assert len(equities) >= 2_150
        keys = [i.instrument_key for i in equities]
        # 20 sessions of daily candles at each name's previous close, 1 lakh shares a day
        async with UpstoxRestClient(sim.token_source(), RestConfig(api_base=url)) as rest:
            quotes = await rest.full_quotes(keys)
        store = SqliteTickStore(tmp_path / "ticks.sqlite").open()
        days = previous_trading_days(START.date(), SIM_CALENDAR, 20)
        candles = []
        for key, q in quotes.items():
            prev = q.last_price - q.net_change
            for d in days:
                candles.append(
                    Candle(key, 86_400, midnight_ns(d), prev, prev * 101 // 100, prev * 99 // 100,
                           prev, 100_000)
                )  # fmt: skip
        store.write(candle_batch(candles))

        bus = KafkaBus(bootstrap, client_id="scanner-test")
        registry, board = new_registry_and_board()
        deps = Deps(
            clock=sim.clock,
            registry=registry,
            board=board,
            bus=bus,
            instruments=FixedCatalog(master, "the simulator"),
            tick_store=store,
            token=sim.token_source(),
        )
        settings = ScannerServiceSettings(
            upstox=upstox,
            scanner=ScannerSettings(backfill=False, min_price=0, min_turnover=0),
        )
        results: list[CycleResult] = []
        stop = asyncio.Event()

        def done(result: CycleResult) -> None:
            results.append(result)
            stop.set()

        bus.ensure_topics([topics.SUGGESTIONS])
        consumer = bus.consumer(f"scanner-test-{uuid.uuid4().hex[:8]}", [topics.SUGGESTIONS.name])
        service = scanner.build(settings, deps, calendar=SIM_CALENDAR, on_cycle=done)
        sim.clock.jump_to(CYCLE - 3_000_000_000)  # the setup took a while: 3 s to the cycle
        try:
            await asyncio.wait_for(service.run(stop), 120)
            (result,) = results
            assert result.universe == len(quotes) >= 2_150
            assert result.quoted == result.universe
            assert result.scored > 2_000
            assert len(result.picks) == 20
            assert {p.ts_event for p in result.picks} == {CYCLE}
            got = []
            deadline = asyncio.get_running_loop().time() + 30
            while len(got) < 20 and asyncio.get_running_loop().time() < deadline:
                for m in await asyncio.to_thread(consumer.poll, 100, 0.5):
                    pick = codecs.decode_suggestion(m.value())
                    if pick.ts_event == CYCLE:
                        assert m.key() == pick.instrument_key.encode()
                        got.append(pick)
            assert [p.instrument_key for p in got] == [p.instrument_key for p in result.picks]
            assert [p.rank for p in got] == list(range(1, 21))
            assert all([n for n, _ in p.signals] == list(SIGNAL_NAMES) for p in got)
            assert all(p.reasons for p in got[:5])
            stored = store.suggestions_between(CYCLE, CYCLE + 1)
            assert [p.instrument_key for p in stored] == [p.instrument_key for p in got]
            assert registry.get_sample_value("quant_scanner_universe_size") == result.universe
        finally:
            consumer.close()
            store.close()
