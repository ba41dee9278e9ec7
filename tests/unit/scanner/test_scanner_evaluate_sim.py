"""``quant scanner evaluate`` on the simulator's history: backfilled through the real
client from an in-process ``quant sim``, then replayed; the forward returns it reports
are re-read from the store candle by candle."""

from __future__ import annotations

import math
from datetime import date, datetime, time

import numpy as np
import pytest

from quant.backfill import HistoryRequest, backfill
from quant.core.clock import IST, NS_PER_SECOND, FakeClock, datetime_to_ns
from quant.scanner.evaluate import EvaluateConfig, UniverseName, run_evaluate
from quant.scanner.settings import ScannerSettings
from quant.sim.calendar import SIM_CALENDAR
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.store.sqlite_ticks import SqliteTickStore
from quant.upstox.config import RestConfig
from quant.upstox.rest import UpstoxRestClient

TODAY = date(2026, 12, 8)
FIRST, LAST = date(2026, 12, 1), date(2026, 12, 3)
NIFTY = "NSE_INDEX|Nifty 50"
NAMES = 40
SETTINGS = ScannerSettings(
    top_n=3, volume_days=5, interval_seconds=1800, min_price=0.0, min_turnover=0.0
)


async def _backfilled_sim_store() -> tuple[SqliteTickStore, list[UniverseName]]:
    start = datetime.combine(TODAY, time(9, 15), tzinfo=IST)
    cfg = SimConfig(start=start, speed=1.0, ping_interval=None, rate_limits=False)
    store = SqliteTickStore().open()
    async with SimServer(cfg) as sim:
        rows = [
            r
            for r in sim.market.u.rows
            if r["segment"] == "NSE_EQ" and r["instrument_type"] == "EQ"
        ][:NAMES]
        universe = [UniverseName(str(r["instrument_key"]), str(r["trading_symbol"])) for r in rows]
        keys = [u.instrument_key for u in universe] + [NIFTY]
        clock = FakeClock(datetime_to_ns(datetime.combine(TODAY, time(8), tzinfo=IST)))
        async with UpstoxRestClient(lambda: "", RestConfig(api_base=sim.base_url)) as client:
            for interval, since in (("day", date(2026, 10, 1)), ("1minute", date(2026, 11, 20))):
                report = await backfill(
                    HistoryRequest(keys, interval, since, LAST),  # type: ignore[arg-type]
                    client=client,
                    store=store,
                    calendar=SIM_CALENDAR,
                    clock=clock,
                )
                assert report.errors == () and report.candles_written > 0
    return store, universe


def _close_before(store: SqliteTickStore, key: str, t_ns: int) -> float:
    """The close of the last one-minute bar completed by ``t_ns`` (rupees)."""
    bars = store.candles(key, t_ns - 3600 * NS_PER_SECOND, t_ns - 60 * NS_PER_SECOND + 1)
    return bars[-1].close / 100


async def test_a_replay_of_the_simulators_history_reports_what_the_store_says() -> None:
    store, universe = await _backfilled_sim_store()
    config = EvaluateConfig(scanner=SETTINGS)
    report = run_evaluate(store, universe, FIRST, LAST, config=config, calendar=SIM_CALENDAR)
    assert report.days == (FIRST, date(2026, 12, 2), LAST)
    # 09:20, 09:50, ..., 15:20 less those whose 15 minutes end after 15:30: 12 a day
    assert report.cycles == 3 * 12
    assert len(report.picks) == report.cycles * 3
    assert [p.rank for p in report.picks[:3]] == [1, 2, 3]
    for pick in report.picks[::7]:
        entry = _close_before(store, pick.instrument_key, pick.ts_event)
        assert pick.last == pytest.approx(entry)
        for h, r in zip(config.horizons, pick.returns, strict=True):
            end = pick.ts_event + h * 60 * NS_PER_SECOND
            close = datetime_to_ns(
                datetime.combine(
                    datetime.fromtimestamp(pick.ts_event / 1e9, IST).date(),
                    time(15, 30),
                    tzinfo=IST,
                )
            )
            if end > close:
                assert math.isnan(r)
            else:
                later = _close_before(store, pick.instrument_key, end)
                assert r == pytest.approx((later / entry - 1) * 100)
    s15 = report.horizons[0]
    assert s15.picks == len(report.picks) and s15.universe_count == report.cycles * NAMES
    # the state carried from day to day equals a replay that starts on the day itself
    middle = date(2026, 12, 2)
    alone = run_evaluate(store, universe, middle, middle, config=config, calendar=SIM_CALENDAR)
    carried = [
        p for p in report.picks if datetime.fromtimestamp(p.ts_event / 1e9, IST).date() == middle
    ]
    assert [p[:7] for p in alone.picks] == [p[:7] for p in carried]  # up to the reasons
    np.testing.assert_array_equal(  # NaN past the close on both sides
        [p.returns + p.universe for p in alone.picks], [p.returns + p.universe for p in carried]
    )
