"""Adapters of the scanner's ports: Upstox full market quotes, the history filler over
:func:`quant.backfill.backfill`, and the tick store's history as column batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date

from quant.backfill import BackfillReport, CandleSource, HistoryRequest, backfill
from quant.core.calendar import ExchangeCalendar
from quant.core.clock import Clock
from quant.scanner.ports import ScanQuote
from quant.store.columns import candle_batch
from quant.store.ports import TickReader, TickStore
from quant.store.tables import CandleBatch
from quant.upstox.models import Quote
from quant.upstox.rest import UpstoxRestClient


def scan_quote(q: Quote) -> ScanQuote:
    """An Upstox full quote -> what the scanner reads of it."""
    return ScanQuote(
        instrument_key=q.instrument_key,
        last=q.last_price,
        prev_close=q.last_price - q.net_change,
        open=q.open,
        high=q.high,
        low=q.low,
        vwap=q.average_price,
        volume=q.volume,
    )


class UpstoxQuotes:
    """``QuoteSource`` over the REST client's full market quotes (500 keys a request,
    through its rate limiter)."""

    def __init__(self, rest: UpstoxRestClient) -> None:
        self._rest = rest

    async def quotes(self, instrument_keys: Sequence[str]) -> dict[str, ScanQuote]:
        quotes = await self._rest.full_quotes(list(instrument_keys))
        return {key: scan_quote(q) for key, q in quotes.items()}


class StoreCandles:
    """``CandleReader`` over a tick store: its bulk ``candle_batch`` when it has one (both
    adapters do), else one ``candles`` call per instrument."""

    def __init__(self, store: TickReader) -> None:
        self._store = store

    def candle_batch(
        self,
        instrument_keys: Sequence[str],
        start_ns: int,
        end_ns: int,
        interval_seconds: int = 60,
    ) -> CandleBatch:
        bulk = getattr(self._store, "candle_batch", None)
        if bulk is not None:
            out: CandleBatch = bulk(instrument_keys, start_ns, end_ns, interval_seconds)
            return out
        rows = [
            c
            for key in instrument_keys
            for c in self._store.candles(key, start_ns, end_ns, interval_seconds)
        ]
        return candle_batch(rows)


def describe_report(r: BackfillReport) -> str:
    """A backfill's report in one line, for the log."""
    text = (
        f"{r.requests} requests, {r.candles_written} candles written, "
        f"{r.skipped_chunks} chunks already stored, {r.candles_dropped} dropped, {r.gaps} gaps"
    )
    if r.errors:
        text += f", {len(r.errors)} errors (first: {r.errors[0]})"
    return text + (" (stopped)" if r.stopped else "")


class BackfillHistory:
    """``HistoryFill`` over :func:`quant.backfill.backfill`: only what the store lacks is
    fetched, through the same rate-limited REST client as the quotes."""

    def __init__(
        self,
        client: CandleSource,
        store: TickStore,
        *,
        calendar: ExchangeCalendar,
        clock: Clock,
        in_flight: int = 4,
    ) -> None:
        self._client = client
        self._store = store
        self._calendar = calendar
        self._clock = clock
        self._in_flight = in_flight

    async def fill(
        self,
        instrument_keys: Sequence[str],
        interval: str,
        start: date,
        end: date,
        stop: asyncio.Event,
    ) -> str:
        if interval not in ("day", "1minute"):
            raise ValueError(f"no such history interval {interval!r}: day or 1minute")
        request = HistoryRequest(
            list(instrument_keys),
            "day" if interval == "day" else "1minute",
            start,
            end,
        )
        report = await backfill(
            request,
            client=self._client,
            store=self._store,
            calendar=self._calendar,
            clock=self._clock,
            stop=stop,
            in_flight=self._in_flight,
        )
        return describe_report(report)
