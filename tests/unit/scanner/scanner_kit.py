"""A small market for the scanner's unit tests: a SQLite tick store with 20 previous
sessions of daily candles (and 3 of one-minute volume) for a handful of names, and quotes
a test sets per name.

Day :data:`DAY` is Tuesday 2026-12-08 (NSE calendar). Every name trades 100,000 shares a
session at a flat price (``BASE``), high = price + 1 %, low = price - 1 %; ``THIN`` trades
10 shares (never liquid). ``quote(key, last, ...)`` makes a full quote in paise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import IST, datetime_to_ns
from quant.core.events import Candle
from quant.core.instruments import Instrument, InstrumentType
from quant.scanner.history import midnight_ns
from quant.scanner.ports import ScanQuote
from quant.scanner.schedule import previous_trading_days
from quant.store.columns import candle_batch
from quant.store.sqlite_ticks import SqliteTickStore

DAY = date(2026, 12, 8)
INDEX = "NSE_INDEX|Nifty 50"
NAMES = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "BRK", "THIN")
BASE = {n: 100.0 + 10 * i for i, n in enumerate(NAMES)}
KEYS = {n: f"NSE_EQ|INE{n}01010" for n in NAMES}
VOLUME_DAYS = 3


def at(hh: int, mm: int, day: date = DAY) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm), tzinfo=IST))


def instruments() -> list[Instrument]:
    eq = [Instrument(KEYS[n], n, n, "NSE", "NSE_EQ", InstrumentType.EQUITY) for n in NAMES]
    index = Instrument(INDEX, "NIFTY 50", "Nifty 50", "NSE", "NSE_INDEX", InstrumentType.INDEX)
    future = Instrument("NSE_FO|1", "AAA FUT", "AAA", "NSE", "NSE_FO", InstrumentType.FUTURE)
    return [*eq, index, future]


def seeded_store(day: date = DAY) -> SqliteTickStore:
    """The store with the previous sessions of every name (see the module docstring)."""
    store = SqliteTickStore(":memory:").open()
    candles: list[Candle] = []
    for d in previous_trading_days(day, NSE_CALENDAR, 20):
        for n in NAMES:
            p = round(BASE[n] * 100)
            vol = 10 if n == "THIN" else 100_000
            candles.append(
                Candle(KEYS[n], 86_400, midnight_ns(d), p, p * 101 // 100, p * 99 // 100, p, vol)
            )
    for d in previous_trading_days(day, NSE_CALENDAR, VOLUME_DAYS):
        open_ns = datetime_to_ns(datetime.combine(d, time(9, 15), tzinfo=IST))
        for n in NAMES:
            p = round(BASE[n] * 100)
            for k in range(375):
                candles.append(Candle(KEYS[n], 60, open_ns + k * 60_000_000_000, p, p, p, p, 100))
    store.write(candle_batch(candles))
    return store


def quote(n: str, last: float, *, prev: float | None = None, volume: int = 10_000) -> ScanQuote:
    """A quote of name ``n`` (rupees in, paise out): open at the previous close, the day's
    high/low around the last price, VWAP at the previous close."""
    prev = BASE[n] if prev is None else prev
    p = round(last * 100)
    pc = round(prev * 100)
    return ScanQuote(KEYS.get(n, n), p, pc, pc, max(p, pc), min(p, pc), pc, volume)


class FakeQuotes:
    """``QuoteSource`` answering from ``self.book`` (key -> ScanQuote); counts calls."""

    def __init__(self) -> None:
        self.book: dict[str, ScanQuote] = {}
        self.requests: list[int] = []

    def set(self, quotes: Sequence[ScanQuote]) -> None:
        self.book.update((q.instrument_key, q) for q in quotes)

    async def quotes(self, instrument_keys: Sequence[str]) -> dict[str, ScanQuote]:
        self.requests.append(len(instrument_keys))
        return {k: self.book[k] for k in instrument_keys if k in self.book}


def flat_market(quotes: FakeQuotes, *, breakout: float = 0.0, index_up: float = 0.0) -> None:
    """Every name at its base price with normal volume; ``BRK`` up ``breakout`` percent on
    5x volume; the index up ``index_up`` percent."""
    quotes.set([quote(n, BASE[n]) for n in NAMES if n != "BRK"])
    quotes.set([quote("BRK", BASE["BRK"] * (1 + breakout / 100), volume=50_000)])
    quotes.set(
        [ScanQuote(INDEX, round(2_400_000 * (1 + index_up / 100)), 2_400_000, 0, 0, 0, 0, 0)]
    )
