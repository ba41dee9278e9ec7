"""The backfill on real QuestDB: ``candle_days`` per IST day (both tick stores), and a
backfill from ``quant sim`` that a re-run skips and ``--force`` rewrites without one
duplicate (the ``ohlc`` DEDUP keys)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time
from typing import Any

import pytest

from conftest import require
from quant.backfill import HistoryRequest, backfill
from quant.backfill.plan import day_start_ns, trading_days
from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.events import Candle
from quant.sim.calendar import SIM_CALENDAR
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.store.columns import candle_batch
from quant.store.ports import TickStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.upstox.config import RestConfig
from quant.upstox.rest import UpstoxRestClient

TODAY = date(2026, 12, 8)


def _questdb(request: pytest.FixtureRequest) -> TickStore:
    try:
        server = request.getfixturevalue("questdb")
    except pytest.FixtureLookupError:
        require(False, "the questdb fixture is not available")
    from quant.store.questdb_ticks import QuestDBTickStore

    return QuestDBTickStore(
        ilp_conf=server.ilp_conf,
        pg_dsn=f"postgresql://admin:quest@{server.host}:{server.pg_port}/qdb",
    ).open()


@pytest.fixture(params=["sqlite", pytest.param("questdb", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[TickStore]:
    s: TickStore = (
        SqliteTickStore(":memory:").open() if request.param == "sqlite" else _questdb(request)
    )
    yield s
    s.close()


def _ist(day: date, hh: int, mm: int, ss: int = 0) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm, ss), tzinfo=IST))


def test_candle_days_counts_per_ist_day(store: TickStore) -> None:
    key = f"NSE_EQ|TEST{uuid.uuid4().hex[:8].upper()}"
    d1, d2 = date(2026, 11, 2), date(2026, 11, 3)
    times = [_ist(d1, 0, 0), _ist(d1, 9, 15), _ist(d1, 23, 59, 59), _ist(d2, 0, 0), _ist(d2, 5, 29)]
    store.write(candle_batch([Candle(key, 60, t, 10, 12, 9, 11, 1) for t in times]))
    store.write(candle_batch([Candle(key, 86_400, _ist(d1, 0, 0), 10, 12, 9, 11, 1)]))
    store.wait_visible()
    everything = store.candle_days(key, 60, 0, 2**62)
    assert everything == {d1: 3, d2: 2}
    assert store.candle_days(key, 60, _ist(d1, 9, 15), _ist(d2, 0, 0)) == {d1: 2}
    assert store.candle_days(key, 86_400, 0, 2**62) == {d1: 1}
    assert store.candle_days(key + "X", 60, 0, 2**62) == {}


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    start = datetime.combine(TODAY, time(9, 15), tzinfo=IST)
    async with SimServer(SimConfig(start=start, step_interval=0.2, ping_interval=None)) as s:
        yield s


@pytest.mark.integration
async def test_backfill_into_questdb_resumes_and_force_writes_no_duplicate(
    request: pytest.FixtureRequest, sim: SimServer
) -> None:
    store = _questdb(request)
    keys = sorted(k for k in sim.state.universe.index_of if k.startswith("NSE_EQ|"))[-5:]
    req = HistoryRequest(keys, "1minute", date(2026, 10, 26), date(2026, 11, 6))
    days = trading_days(SIM_CALENDAR, req.start, req.end, normal_only=True)
    span = (day_start_ns(req.start), day_start_ns(date(2026, 11, 7)))

    async def run(**kw: Any):  # type: ignore[no-untyped-def]
        async with UpstoxRestClient(lambda: "", RestConfig(api_base=sim.base_url)) as client:
            return await backfill(
                req,
                client=client,
                store=store,
                calendar=SIM_CALENDAR,
                clock=FakeClock(_ist(TODAY, 18, 0)),
                **kw,
            )

    try:
        await run(force=True)  # whatever an earlier session left, the same rows
        stored = {k: store.candle_days(k, 60, *span) for k in keys}
        assert all(stored[k] == dict.fromkeys(days, 375) for k in keys)
        again = await run()
        assert again.requests == 0 and again.skipped_chunks == 2 * len(keys)
        forced = await run(force=True)
        assert forced.requests == 2 * len(keys)
        assert forced.candles_written == len(keys) * len(days) * 375
        store.wait_visible()
        assert {k: store.candle_days(k, 60, *span) for k in keys} == stored  # no duplicate
        first = store.candles(keys[0], *span)
        assert len(first) == len({c.ts_start for c in first}) == len(days) * 375
    finally:
        store.close()
