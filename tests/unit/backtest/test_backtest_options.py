"""A backtest gives its strategies the run's instruments and prices the run's options."""

from __future__ import annotations

import asyncio
import math
from datetime import date
from pathlib import Path

from backtest_kit import DAY, store_with_candles, ticks_from_prices, write_ticks

from quant.backtest.config import BacktestConfig
from quant.backtest.replay import Backtest
from quant.core.events import EnrichedTick
from quant.core.instruments import Instrument, InstrumentType
from quant.trading.strategy import NoParams, Strategy, StrategyContext

NIFTY = "NSE_INDEX|Nifty 50"
CALL = "NSE_FO|35060"
INSTRUMENTS = {
    NIFTY: Instrument(NIFTY, "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX),
    CALL: Instrument(CALL, "NIFTY 26000 CE 06 OCT 26", "NIFTY", "NSE", "NSE_FO",
                     InstrumentType.CALL, lot_size=65, expiry=date(2026, 10, 6),
                     strike_paise=2_600_000, underlying_key=NIFTY, underlying_symbol="NIFTY"),
}  # fmt: skip


class Probe(Strategy[NoParams]):
    """Records the call's lot size from the instrument master and its enriched deltas."""

    def on_start(self, ctx: StrategyContext) -> None:
        found = ctx.instrument_master.get(CALL)
        self.lot = found.lot_size if found is not None else 0
        self.deltas: list[float] = []

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        if tick.instrument_key == CALL:
            self.deltas.append(tick.delta)


def test_the_strategy_sees_the_runs_instruments_and_the_options_greeks(tmp_path: Path) -> None:
    store = store_with_candles(tmp_path, [])
    write_ticks(store, ticks_from_prices(NIFTY, DAY, [2_601_000] * 120))
    write_ticks(store, ticks_from_prices(CALL, DAY, [15_000] * 120))
    probe = Probe()
    bt = Backtest(probe, {}, INSTRUMENTS, BacktestConfig(data="ticks"))
    asyncio.run(bt.run(store, DAY, DAY))
    assert probe.lot == 65
    priced = [d for d in probe.deltas if not math.isnan(d)]
    assert priced, "no enriched tick of the option carried a delta"
    assert all(0.5 < d < 1.0 for d in priced)  # a call just in the money
