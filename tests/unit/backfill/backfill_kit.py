"""A fake :class:`~quant.backfill.CandleSource` for backfill tests: complete sessions of
synthetic one-minute and day candles, a log of requests, and bad candles on demand."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from quant.backfill.plan import day_start_ns, ist_day, trading_days
from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import IST, NS_PER_SECOND, Clock, datetime_to_ns
from quant.core.events import Candle

MINUTE_NS = 60 * NS_PER_SECOND


def session_minutes_of(key: str, day: date, last_ns: int | None = None) -> list[Candle]:
    session = NSE_CALENDAR.session(day)
    assert session is not None
    b = session.times.bounds_ns(day)
    out = []
    ts = b.open
    i = 0
    while ts < b.close and (last_ns is None or ts + MINUTE_NS <= last_ns):
        p = 100_000 + (hash((key, day)) % 1000) + i
        out.append(Candle(key, 60, ts, p, p + 20, p - 10, p + 5, 100 + i))
        ts += MINUTE_NS
        i += 1
    return out


class FakeCandles:
    """Serves complete sessions of the NSE calendar; ``bad`` candles are appended to the
    answers of their day; ``delay`` s per request; ``fail`` keys raise a server error."""

    def __init__(self, clock: Clock, *, delay: float = 0.0) -> None:
        self.clock = clock
        self.delay = delay
        self.requests: list[tuple[str, str, date | None, date | None]] = []
        self.bad: list[Candle] = []
        self.fail: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0

    async def _answer(
        self, key: str, unit: str, start: date, end: date, last: int | None
    ) -> list[Candle]:
        from quant.upstox.errors import UpstoxServerError

        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if key in self.fail:
            raise UpstoxServerError(f"historical candles {key}: HTTP 500 (injected)")
        out: list[Candle] = []
        for d in trading_days(NSE_CALENDAR, start, end):
            if unit == "days":
                out.append(Candle(key, 86_400, day_start_ns(d), 100, 120, 90, 110, 1000))
            else:
                out.extend(session_minutes_of(key, d, last))
        out.extend(
            c for c in self.bad if c.instrument_key == key and start <= ist_day(c.ts_start) <= end
        )
        return sorted(out, key=lambda c: c.ts_start)

    async def historical_candles(
        self,
        instrument_key: str,
        unit: str,
        interval: int,
        to_date: date,
        from_date: date | None = None,
    ) -> list[Candle]:
        assert from_date is not None and interval == 1
        self.requests.append((instrument_key, unit, from_date, to_date))
        return await self._answer(instrument_key, unit, from_date, to_date, None)

    async def intraday_candles(self, instrument_key: str, unit: str, interval: int) -> list[Candle]:
        self.requests.append((instrument_key, unit, None, None))
        today = ist_day(self.clock.now_ns())
        return await self._answer(instrument_key, unit, today, today, self.clock.now_ns())


def at(day: date, hh: int, mm: int = 0) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm), tzinfo=IST))


def minute(day: date, hh: int, mm: int) -> int:
    return at(day, hh, mm)


__all__ = ["FakeCandles", "at", "minute", "session_minutes_of", "timedelta"]
