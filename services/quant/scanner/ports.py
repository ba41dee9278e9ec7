"""The scanner's ports: where quotes and stored history come from (adapters in
:mod:`quant.scanner.adapters`; fakes in the tests).

* :class:`QuoteSource`: full market quotes of many instruments as :class:`ScanQuote`
  (over ``UpstoxRestClient.full_quotes``, 500 keys per request: at most 5 requests for
  2,200 names).
* :class:`HistoryFill`: store the history still missing (``quant.backfill`` over the
  Upstox historical-candle API), at the start of a day.
* :class:`CandleReader`: stored candles of many instruments at once, as one ``ohlc``
  column batch (the tick store's ``candle_batch``; any ``TickReader`` through a loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import NamedTuple, Protocol

from quant.store.tables import CandleBatch


class ScanQuote(NamedTuple):
    """What a cycle needs of one instrument's full market quote; prices in paise."""

    instrument_key: str
    last: int
    prev_close: int  # the previous session's close (last - net change)
    open: int  # today's open, high, low (0 when there has been no trade)
    high: int
    low: int
    vwap: int  # today's average traded price
    volume: int  # today's cumulative volume


class QuoteSource(Protocol):
    async def quotes(self, instrument_keys: Sequence[str]) -> dict[str, ScanQuote]:
        """Quotes keyed by instrument key; a key the market does not know is left out."""
        ...


class CandleReader(Protocol):
    def candle_batch(
        self,
        instrument_keys: Sequence[str],
        start_ns: int,
        end_ns: int,
        interval_seconds: int = 60,
    ) -> CandleBatch:
        """Candles of ``instrument_keys`` with ``start_ns <= ts_start < end_ns``."""
        ...


class HistoryFill(Protocol):
    async def fill(
        self,
        instrument_keys: Sequence[str],
        interval: str,
        start: date,
        end: date,
        stop: asyncio.Event,
    ) -> str:
        """Store the ``interval`` ("day" or "1minute") candles of ``instrument_keys`` from
        ``start`` to ``end`` (inclusive) that are not stored yet; a one-line summary.
        Gives up early when ``stop`` is set."""
        ...
