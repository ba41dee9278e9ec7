"""``backfill()`` on a fake candle source and the embedded store: writes, resume,
force, bad candles, errors, the in-flight bound and a stop half-way."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from backfill_kit import FakeCandles, at

from quant.backfill import BackfillProgress, BadRequest, HistoryRequest, backfill
from quant.backfill.plan import day_start_ns
from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import FakeClock
from quant.store.sqlite_ticks import SqliteTickStore
from quant.upstox.errors import UpstoxAuthError

A, B, C = "NSE_EQ|INE002A01018", "NSE_EQ|INE009A01021", "NSE_INDEX|Nifty 50"
TODAY = date(2026, 12, 8)
SEP_NOV = 21 + 20 + 19  # trading days: September (Ganesh Chaturthi), October, November
MUHURAT = 60  # the special session of 2026-11-08 (a Sunday), one hour
NOV = 19 * 375 + MUHURAT


@pytest.fixture
def store() -> SqliteTickStore:
    return SqliteTickStore(":memory:").open()


async def _run(src: FakeCandles, store: SqliteTickStore, req: HistoryRequest, **kw):  # type: ignore[no-untyped-def]
    return await backfill(
        req, client=src, store=store, calendar=NSE_CALENDAR, clock=src.clock, **kw
    )


async def test_three_months_of_minutes_then_a_rerun_fetches_nothing(store: SqliteTickStore) -> None:
    clock = FakeClock(at(TODAY, 18))
    src = FakeCandles(clock)
    req = HistoryRequest([A, B, C], "1minute", date(2026, 9, 1), date(2026, 11, 30))
    seen: list[BackfillProgress] = []
    report = await _run(src, store, req, progress=seen.append)
    assert report.requests == 9 and report.skipped_chunks == 0 and report.errors == ()
    assert report.candles_written == 3 * (SEP_NOV * 375 + MUHURAT) == store.count("ohlc")
    assert report.gaps == 0 and report.candles_dropped == 0
    assert seen[0].requests_done == 0 and seen[-1].requests_done == seen[-1].requests_total == 9
    again = await _run(src, store, req)
    assert again.requests == 0 and again.skipped_chunks == 9 and again.candles_written == 0
    assert len(src.requests) == 9
    forced = await _run(src, store, req, force=True)
    assert forced.requests == 9 and store.count("ohlc") == report.candles_written  # no duplicate


async def test_day_candles_one_request_each(store: SqliteTickStore) -> None:
    clock = FakeClock(at(TODAY, 18))
    src = FakeCandles(clock)
    req = HistoryRequest([A, B], "day", date(2026, 1, 1), date(2026, 11, 30))
    report = await _run(src, store, req)
    assert report.requests == 2 and [r[1] for r in src.requests] == ["days", "days"]
    days = store.candle_days(A, 86_400, day_start_ns(date(2026, 1, 1)), day_start_ns(TODAY))
    assert date(2026, 11, 10) not in days and date(2026, 11, 9) in days
    assert len(days) * 2 == report.candles_written


async def test_today_intraday_in_market_hours(store: SqliteTickStore) -> None:
    clock = FakeClock(at(TODAY, 10, 0) + 20_000_000_000)
    src = FakeCandles(clock)
    req = HistoryRequest([A], "1minute", date(2026, 12, 7), TODAY)
    report = await _run(src, store, req)
    assert src.requests == [
        (A, "minutes", date(2026, 12, 7), date(2026, 12, 7)),
        (A, "minutes", None, None),
    ]
    assert report.candles_written == 375 + 45 and report.gaps == 0
    clock.set_ns(at(TODAY, 16))
    later = await _run(src, store, req)
    assert later.requests == 1 and later.candles_written == 375  # today again, whole
    assert (await _run(src, store, req)).requests == 0


async def test_bad_candles_are_dropped_and_counted_never_stored(store: SqliteTickStore) -> None:
    clock = FakeClock(at(TODAY, 18))
    src = FakeCandles(clock)
    good = await src.historical_candles(A, "minutes", 1, date(2026, 12, 7), date(2026, 12, 7))
    src.requests.clear()
    src.bad = [
        good[3]._replace(ts_start=good[3].ts_start + 1, high=good[3].low - 5),
        good[0]._replace(ts_start=at(date(2026, 12, 7), 8, 0)),
        good[5]._replace(ts_start=good[5].ts_start + 7, open=0),
    ]
    report = await _run(
        src, store, HistoryRequest([A], "1minute", date(2026, 12, 7), date(2026, 12, 7))
    )
    assert report.candles_dropped == 3 and report.candles_written == 375 == store.count("ohlc")
    assert dict(report.dropped_by_reason) == {
        "high_below_low": 1,
        "outside_session": 1,
        "non_positive_price": 1,
    }
    assert "3 bad candles dropped" in report.line()


async def test_a_failing_instrument_is_an_error_the_others_go_on(store: SqliteTickStore) -> None:
    clock = FakeClock(at(TODAY, 18))
    src = FakeCandles(clock)
    src.fail = {B}
    report = await _run(
        src, store, HistoryRequest([A, B], "day", date(2026, 11, 2), date(2026, 11, 30))
    )
    assert len(report.errors) == 1 and B in report.errors[0] and "HTTP 500" in report.errors[0]
    assert report.candles_written == 19 + 1  # and the Muhurat day


async def test_an_auth_error_ends_the_run(store: SqliteTickStore) -> None:
    clock = FakeClock(at(TODAY, 18))
    src = FakeCandles(clock)

    async def refuse(*args: object, **kw: object) -> list[object]:
        raise UpstoxAuthError("token expired")

    src.historical_candles = refuse
    with pytest.raises(UpstoxAuthError):
        await _run(src, store, HistoryRequest([A, B], "day", date(2026, 11, 2), date(2026, 11, 30)))


async def test_a_bad_range_is_refused_before_any_request(store: SqliteTickStore) -> None:
    src = FakeCandles(FakeClock(at(TODAY, 18)))
    with pytest.raises(BadRequest, match="future"):
        await _run(src, store, HistoryRequest([A], "day", date(2026, 11, 2), date(2026, 12, 30)))
    assert src.requests == []


async def test_in_flight_bound_and_stop_half_way_then_resume(store: SqliteTickStore) -> None:
    clock = FakeClock(at(TODAY, 18))
    src = FakeCandles(clock, delay=0.01)
    keys = [f"NSE_EQ|INE{i:09d}" for i in range(12)]
    req = HistoryRequest(keys, "1minute", date(2026, 11, 2), date(2026, 11, 30))
    stop = asyncio.Event()

    def halt(p: BackfillProgress) -> None:
        if p.requests_done >= 5:
            stop.set()

    first = await _run(src, store, req, stop=stop, progress=halt, in_flight=3)
    assert first.stopped and 5 <= first.requests < 12
    assert src.max_in_flight == 3
    second = await _run(src, store, req)
    assert second.requests == 12 - first.requests and not second.stopped
    assert store.count("ohlc") == 12 * NOV
    assert len({r[0] for r in src.requests}) == 12 == len(src.requests)
