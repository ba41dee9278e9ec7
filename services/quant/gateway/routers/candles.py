"""``GET /api/v1/market/candles/{symbol}``: OHLC bars from the tick store's ``ohlc`` table.

``interval`` 1m (as stored), 5m or 15m (aggregated from the 1-minute candles, aligned to
the 09:15 session open on the IST clock) or 1d (the stored day candles, and days not yet
backfilled aggregated from their minutes): :mod:`quant.gateway.history`. ``from``/``to``
and their defaults: :mod:`quant.gateway.timerange`. The symbol is resolved like the quote
endpoint's (404 unknown, 422 malformed); a range that is reversed or too long is a 400
that says so; no tick store, or one that does not answer, a 503. Prices are rupee
strings built from integer paise, as in the quote; ``ts`` is the bar's start in IST.
The read and the aggregation run in a worker thread, at most :data:`HISTORY_THREADS` at
once, so long reads cannot take the threads quotes are served from.
"""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from quant.core.calendar import NSE_CALENDAR, ExchangeCalendar, calendar_for
from quant.core.events import Candle
from quant.core.money import paise_to_str
from quant.gateway import errors
from quant.gateway.deps import HistoryDep, InstrumentsDep, PortsDep
from quant.gateway.history import read_candles
from quant.gateway.routers.market import SymbolPath, resolve_or_404
from quant.gateway.schemas import iso_ist
from quant.gateway.timerange import (
    BOUND_PATTERN,
    MAX_SPAN_DAYS,
    BadBound,
    BadRange,
    Interval,
    candle_range,
)
from quant.store.ports import StoreError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/market", tags=["market"])

HISTORY_THREADS = 4
STORE_DOWN = "the tick store does not answer; try again shortly"
_MONEY = "rupees, a decimal string with 2 places"


class CandleOut(BaseModel):
    ts: str = Field(description="the bar's start, ISO-8601 in IST (+05:30)")
    open: str = Field(description=_MONEY)
    high: str = Field(description=_MONEY)
    low: str = Field(description=_MONEY)
    close: str = Field(description=_MONEY)
    volume: int = Field(description="units traded in the bar")
    oi: int = Field(description="open interest at the bar's close (0 for equities)")

    @classmethod
    def of(cls, c: Candle) -> CandleOut:
        return cls(
            ts=iso_ist(c.ts_start),
            open=paise_to_str(c.open),
            high=paise_to_str(c.high),
            low=paise_to_str(c.low),
            close=paise_to_str(c.close),
            volume=c.volume,
            oi=c.oi,
        )


class CandlesOut(BaseModel):
    """The bars of one instrument in ``[start, end)``, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"instrument_key": "NSE_EQ|INE002A01018", "trading_symbol": "RELIANCE",
                 "interval": "5m", "start": "2026-12-07T00:00:00+05:30",
                 "end": "2026-12-08T00:00:00+05:30",
                 "candles": [{"ts": "2026-12-07T09:15:00+05:30", "open": "1540.10",
                              "high": "1545.00", "low": "1538.20", "close": "1543.90",
                              "volume": 182340, "oi": 0}]},
            ]
        }
    )  # fmt: skip

    instrument_key: str
    trading_symbol: str
    interval: Interval
    start: str = Field(description="the range served, from (inclusive; IST)")
    end: str = Field(description="the range served, to (exclusive; IST)")
    candles: list[CandleOut]


IntervalQuery = Annotated[
    Interval,
    Query(
        description="1m (stored 1-minute candles), 5m or 15m (aggregated from them, aligned "
        "to the 09:15 session open), 1d (day candles). At most "
        + ", ".join(f"{days} days of {i}" for i, days in MAX_SPAN_DAYS.items())
        + " per request."
    ),
]
FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=BOUND_PATTERN,
        description="a date (2026-12-07: from 00:00 IST) or an ISO-8601 datetime (IST when "
        "it has no offset); default: the latest session on or before today for 1m/5m/15m, "
        "the last 30 sessions for 1d",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        pattern=BOUND_PATTERN,
        description="a date (inclusive: up to the end of that day) or an ISO-8601 datetime "
        "(exclusive; IST when it has no offset); default: the end of today",
    ),
]


def _limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "history_limiter", None)
    if limiter is None:
        limiter = state.history_limiter = anyio.CapacityLimiter(HISTORY_THREADS)
    return limiter


def _calendar(exchange: str) -> ExchangeCalendar:
    try:
        return calendar_for(exchange)
    except KeyError:
        return NSE_CALENDAR


def store_down(e: StoreError) -> HTTPException:
    """The 503 of a tick store that does not answer (its error is logged, not sent)."""
    log.warning("tick store read failed: %s", e)
    return HTTPException(status_code=503, detail=STORE_DOWN)


@router.get(
    "/candles/{symbol}", response_model=CandlesOut, responses=errors.responses(400, 404, 503)
)
async def get_candles(
    request: Request,
    symbol: SymbolPath,
    instruments: InstrumentsDep,
    history: HistoryDep,
    ports: PortsDep,
    interval: IntervalQuery = "1m",
    start: FromQuery = None,
    to: ToQuery = None,
) -> CandlesOut:
    inst = resolve_or_404(instruments, symbol)
    try:
        span = candle_range(
            interval,
            start,
            to,
            now_ns=ports.clock.now_ns(),
            calendar=_calendar(inst.exchange),
        )
    except BadBound as e:
        raise errors.invalid("query", e.name, str(e)) from e
    except BadRange as e:
        raise HTTPException(status_code=400, detail=str(e)) from e
    try:
        candles = await anyio.to_thread.run_sync(
            read_candles, history, inst.instrument_key, interval, span, limiter=_limiter(request)
        )
    except StoreError as e:
        raise store_down(e) from e
    return CandlesOut(
        instrument_key=inst.instrument_key,
        trading_symbol=inst.trading_symbol,
        interval=interval,
        start=iso_ist(span.start_ns),
        end=iso_ist(span.end_ns),
        candles=[CandleOut.of(c) for c in candles],
    )
