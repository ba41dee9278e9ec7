"""``quant scanner --once``: one cycle now (the latest close outside market hours), with the
history fill first, printed as a ranked table."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import date

from scanner_kit import DAY, VOLUME_DAYS, FakeQuotes, at, flat_market, instruments, seeded_store

from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import FakeClock
from quant.scanner.once import cycle_time, run_once
from quant.scanner.service import ScannerIO
from quant.scanner.settings import ScannerSettings
from quant.scanner.table import format_picks


class RecordingFill:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def fill(
        self,
        instrument_keys: Sequence[str],
        interval: str,
        start: date,
        end: date,
        stop: asyncio.Event,
    ) -> str:
        self.calls.append(interval)
        return "nothing missing"


def test_outside_market_hours_the_cycle_is_the_latest_close() -> None:
    assert cycle_time(at(11, 0), NSE_CALENDAR) == at(11, 0)
    assert cycle_time(at(18, 0), NSE_CALENDAR) == at(15, 30)
    assert cycle_time(at(8, 0, date(2026, 12, 14)), NSE_CALENDAR) == at(15, 30, date(2026, 12, 11))


def test_once_fills_history_runs_a_cycle_and_prints_the_ranked_table() -> None:
    quotes, fill = FakeQuotes(), RecordingFill()
    flat_market(quotes, breakout=3.0, index_up=0.5)

    @contextlib.asynccontextmanager
    async def open_io() -> AsyncIterator[ScannerIO]:
        yield ScannerIO(quotes, fill)

    settings = ScannerSettings(top_n=3, volume_days=VOLUME_DAYS, min_turnover=1_000_000)
    result = asyncio.run(
        run_once(
            settings,
            instruments=instruments(),
            store=seeded_store(),
            open_io=open_io,
            calendar=NSE_CALENDAR,
            clock=FakeClock(at(10, 25, DAY)),
        )
    )
    assert fill.calls == ["day", "1minute"]
    text = format_picks(result.picks, universe=result.universe, quoted=result.quoted)
    lines = text.splitlines()
    assert lines[0] == "scanner picks at 2026-12-08 10:25 IST: 3 of 9 names (9 quoted)"
    assert lines[1].split()[:8] == ["#", "SYMBOL", "SCORE", "LAST", "ORB%", "HIGH%", "RVOL", "RS"]
    first = lines[2].split()
    assert first[:2] == ["1", "BRK"] and first[3] == "185.40"
    assert "+2.50" in lines[2] and "vs NIFTY" in lines[2]
    assert len(lines) == 5
    assert format_picks([], universe=9, quoted=0) == "no picks (9 names scanned, 0 quoted)\n"
