"""Adapters of the scanner's ports: Upstox full market quotes, and the tick store's
history as column batches."""

from __future__ import annotations

from collections.abc import Sequence

from quant.scanner.ports import ScanQuote
from quant.store.columns import candle_batch
from quant.store.ports import TickReader
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
