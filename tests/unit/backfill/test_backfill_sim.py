"""``backfill()`` against a real in-process ``quant sim`` and the embedded store.

Chunk boundaries (month ends, the simulator's calendar), today's session through the
intraday endpoint, a run cancelled half-way and resumed (no gap, no duplicate, the same
rows as a clean run), and zero 429s for a 200-instrument job through the rate-limited
client (every response is counted at the transport).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from typing import Any

import httpx
import pytest

from quant.backfill import BackfillProgress, HistoryRequest, backfill
from quant.backfill.main import build
from quant.backfill.plan import day_start_ns, trading_days
from quant.backfill.settings import BackfillSettings
from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.instruments import Instrument, InstrumentType
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.runtime.service import ConfigurationError
from quant.sim.calendar import SIM_CALENDAR
from quant.sim.config import SimConfig
from quant.sim.server import SimServer
from quant.store.sqlite_ticks import SqliteTickStore
from quant.upstox.config import RestConfig
from quant.upstox.rest import UpstoxRestClient

TODAY = date(2026, 12, 8)
RELIANCE, INFY, NIFTY = "NSE_EQ|INE002A01018", "NSE_EQ|INE009A01021", "NSE_INDEX|Nifty 50"
AFTER_CLOSE = datetime_to_ns(datetime.combine(TODAY, time(18), tzinfo=IST))


class CountingTransport(httpx.AsyncBaseTransport):
    """The real transport, counting responses by status."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.statuses: dict[int, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    start = datetime.combine(TODAY, time(9, 15), tzinfo=IST)
    cfg = SimConfig(start=start, speed=120.0, step_interval=0.05, ping_interval=None)
    async with SimServer(cfg) as server:
        yield server


def _client(sim: SimServer, transport: httpx.AsyncBaseTransport | None = None) -> UpstoxRestClient:
    return UpstoxRestClient(lambda: "", RestConfig(api_base=sim.base_url), transport=transport)


async def _run(sim: SimServer, store: SqliteTickStore, req: HistoryRequest, **kw: Any):  # type: ignore[no-untyped-def]
    clock = kw.pop("clock", FakeClock(AFTER_CLOSE))
    transport = kw.pop("transport", None)
    async with _client(sim, transport) as client:
        return await backfill(
            req, client=client, store=store, calendar=SIM_CALENDAR, clock=clock, **kw
        )


def _rows(
    store: SqliteTickStore, keys: list[str], start: date, end: date, secs: int = 60
) -> list[Any]:
    out: list[Any] = []
    for k in keys:
        out.extend(store.candles(k, day_start_ns(start), day_start_ns(end) + 86_400 * 10**9, secs))
    return out


async def test_month_ends_and_the_simulators_calendar(sim: SimServer) -> None:
    store = SqliteTickStore().open()
    req = HistoryRequest([RELIANCE, NIFTY], "1minute", date(2026, 9, 28), date(2026, 11, 3))
    report = await _run(sim, store, req)
    # Sep 28-30, October, Nov 2-3: three requests per instrument, nothing bad, no gap
    assert report.requests == 6 and report.errors == ()
    assert report.candles_dropped == 0 and report.gaps == 0
    days = trading_days(SIM_CALENDAR, req.start, req.end, normal_only=True)
    assert report.candles_written == 2 * 375 * len(days) == store.count("ohlc")
    stored = store.candle_days(
        RELIANCE, 60, day_start_ns(req.start), day_start_ns(date(2026, 11, 4))
    )
    assert set(stored) == set(days) and set(stored.values()) == {375}
    assert date(2026, 9, 30) in stored and date(2026, 10, 1) in stored
    assert date(2026, 10, 2) not in stored  # Gandhi Jayanti
    # the simulator trades 2026-11-24 (a listed holiday it opens): its calendar says so
    nov = HistoryRequest([RELIANCE], "day", date(2026, 11, 23), date(2026, 11, 25))
    day_report = await _run(sim, store, nov)
    assert day_report.candles_written == 3 and day_report.candles_dropped == 0


async def test_today_comes_from_the_intraday_endpoint(sim: SimServer) -> None:
    store = SqliteTickStore().open()
    await asyncio.sleep(3.5)  # ~7 simulated minutes of the session (more on a slow machine)
    req = HistoryRequest([RELIANCE, INFY], "1minute", date(2026, 12, 7), TODAY)
    report = await _run(sim, store, req, clock=sim.clock)
    assert report.requests == 4 and report.errors == ()
    span = (day_start_ns(TODAY), day_start_ns(TODAY) + 86_400 * 10**9)
    today = [store.candle_days(k, 60, *span)[TODAY] for k in (RELIANCE, INFY)]
    # the closed minutes (each answer's own moment); the one in progress is not stored
    assert all(1 <= n <= 120 for n in today)
    assert report.candles_written == 2 * 375 + sum(today)
    assert report.candles_dropped == 0
    assert report.gaps == 0


async def test_killed_half_way_then_resumed_equals_a_clean_run(sim: SimServer) -> None:
    keys = sorted(k for k in sim.state.universe.index_of if k.startswith("NSE_EQ|"))[:16]
    req = HistoryRequest(keys, "1minute", date(2026, 10, 26), date(2026, 11, 6))
    clean = SqliteTickStore().open()
    clean_report = await _run(sim, clean, req)
    assert clean_report.requests == 32 and clean_report.errors == ()

    store = SqliteTickStore().open()
    half = asyncio.Event()

    def watch(p: BackfillProgress) -> None:
        if p.requests_done >= 10:
            half.set()

    task = asyncio.create_task(_run(sim, store, req, progress=watch, in_flight=4))
    await half.wait()
    task.cancel()  # a kill: requests in flight are abandoned
    with pytest.raises(asyncio.CancelledError):
        await task
    partial = store.count("ohlc")
    assert 0 < partial < clean.count("ohlc")
    resumed = await _run(sim, store, req)
    assert 0 < resumed.requests < 32 and resumed.skipped_chunks == 32 - resumed.requests
    assert resumed.gaps == 0 and resumed.errors == ()
    assert _rows(store, keys, req.start, req.end) == _rows(clean, keys, req.start, req.end)
    assert store.count("ohlc") == clean.count("ohlc")  # no duplicate
    again = await _run(sim, store, req)
    assert again.requests == 0


async def test_two_hundred_instruments_draw_no_429(sim: SimServer) -> None:
    keys = sorted(k for k in sim.state.universe.index_of if k.startswith("NSE_EQ|"))[:200]
    assert len(keys) == 200
    store = SqliteTickStore().open()
    transport = CountingTransport()
    req = HistoryRequest(keys, "day", date(2026, 10, 1), date(2026, 11, 30))
    report = await _run(sim, store, req, transport=transport, in_flight=8)
    assert report.requests == 200 and report.errors == ()
    assert transport.statuses == {200: 200}  # and not one 429
    assert report.candles_written == 200 * len(
        trading_days(SIM_CALENDAR, req.start, req.end, normal_only=True)
    )


def _deps(sim: SimServer, store: SqliteTickStore) -> Deps:
    registry, board = new_registry_and_board()
    master = [
        Instrument(RELIANCE, "RELIANCE", "RELIANCE", "NSE", "NSE_EQ", InstrumentType.EQUITY),
        Instrument(NIFTY, "NIFTY", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX),
    ]
    return Deps(
        clock=FakeClock(AFTER_CLOSE),
        registry=registry,
        board=board,
        bus=InProcessBus(),
        instruments=FixedCatalog(master, "a test"),
        tick_store=store,
    )


async def test_the_service_form_backfills_its_universe_per_interval(sim: SimServer) -> None:
    store = SqliteTickStore().open()
    settings = BackfillSettings.model_validate(
        {
            "upstox": {"api_base": sim.base_url},
            "open_holidays": ["2026-11-24"],
            "backfill": {
                "universe": ["RELIANCE", "NIFTY 50"],
                "day_lookback_days": 30,
                "minute_lookback_days": 3,
                "end": "2026-12-07",
            },
        }
    )
    service = build(settings, _deps(sim, store))
    await service.run(asyncio.Event())
    day, minute = service.reports
    assert day.symbols == minute.symbols == 2 and not day.errors and not minute.errors
    assert day.candles_written == 2 * len(
        trading_days(SIM_CALENDAR, date(2026, 11, 7), date(2026, 12, 7), normal_only=True)
    )
    assert minute.candles_written == 2 * 375 * 2  # Dec 7 and Dec 4 (a weekend between)
    again = build(settings, _deps(sim, store))
    await again.run(asyncio.Event())
    assert [r.requests for r in again.reports] == [0, 0]
    # the simulator's calendar given, instead of QUANT_OPEN_HOLIDAYS
    plain = settings.model_copy(update={"open_holidays": ()})
    fresh = SqliteTickStore().open()
    given = build(plain, _deps(sim, fresh), calendar=SIM_CALENDAR)
    await given.run(asyncio.Event())
    assert [r.candles_written for r in given.reports] == [40, 1500]
    bad = settings.model_copy(
        update={"backfill": settings.backfill.model_copy(update={"universe": ("NOPE",)})}
    )
    with pytest.raises(ConfigurationError, match="NOPE"):
        await build(bad, _deps(sim, store)).run(asyncio.Event())
