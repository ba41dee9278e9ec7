"""A tiny tick store and strategies for the backtest tests (imported by bare module name).

``store_with_candles`` / ``store_with_ticks`` build an embedded SQLite tick store in a temp
directory from constructed price paths; ``MaCross`` is the shipped example
(moving-average cross on N-minute bars, square-off timer); ``Greedy`` buys every bar (to
hit a position limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path

from quant.core.clock import IST, NS_PER_SECOND, datetime_to_ns
from quant.core.events import Candle, DepthLevel, EnrichedTick, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import Side
from quant.store.columns import candle_batch
from quant.store.sqlite_ticks import SqliteTickStore
from quant.strategy.examples.ma_cross import MaCross as MaCross
from quant.strategy.examples.ma_cross import MaCrossParams as MaCrossParams
from quant.trading.strategy import (
    NoParams,
    Strategy,
    StrategyContext,
    StrategyParams,
)

RELIANCE = "NSE_EQ|INE002A01018"
INFY = "NSE_EQ|INE009A01021"
DAY = date(2026, 10, 5)  # a Monday, an NSE trading day
INSTRUMENTS = {
    RELIANCE: Instrument(RELIANCE, "RELIANCE", "RELIANCE INDUSTRIES", "NSE", "NSE_EQ",
                         InstrumentType.EQUITY, tick_size_paise=5, isin="INE002A01018"),
    INFY: Instrument(INFY, "INFY", "INFOSYS", "NSE", "NSE_EQ", InstrumentType.EQUITY,
                     tick_size_paise=5, isin="INE009A01021"),
}  # fmt: skip


def minute_ns(day: date, hh: int, mm: int) -> int:
    return datetime_to_ns(datetime.combine(day, time(hh, mm), IST))


def candles_from_closes(
    key: str, day: date, closes: Sequence[int], start: time = time(9, 15)
) -> list[Candle]:
    """1-minute candles from 09:15 IST with these closes (open = high = low = close)."""
    t0 = datetime_to_ns(datetime.combine(day, start, IST))
    return [
        Candle(key, 60, t0 + i * 60 * NS_PER_SECOND, c, c, c, c, 100, 0, 1)
        for i, c in enumerate(closes)
    ]


def store_with_candles(path: Path, candles: Sequence[Candle]) -> SqliteTickStore:
    store = SqliteTickStore(path / "ticks.sqlite").open()
    store.write(candle_batch(list(candles)))
    return store


def ticks_from_prices(
    key: str, day: date, prices: Sequence[int], every_s: float = 1.0, start: time = time(9, 15)
) -> list[Tick]:
    """One FULL tick per ``every_s`` from ``start`` with these LTPs, a 5-paise spread."""
    t0 = datetime_to_ns(datetime.combine(day, start, IST))
    out = []
    volume = 0
    for i, p in enumerate(prices):
        ts = t0 + round(i * every_s * NS_PER_SECOND)
        volume += 10
        out.append(
            Tick(key, FeedMode.FULL, ts, ts, p, ts, 10, 0, volume, p, 0, 500, 500,
                 (DepthLevel(p - 5, 100, p + 5, 100),))
        )  # fmt: skip
    return out


def write_ticks(store: SqliteTickStore, ticks: Sequence[Tick]) -> None:
    from quant.analytics.columns import from_ticks
    from quant.store.columns import tick_batch

    store.write(tick_batch(from_ticks(list(ticks))))


class GreedyParams(StrategyParams):
    instrument_key: str = RELIANCE
    quantity: int = 10


class Greedy(Strategy[GreedyParams]):
    """Buys ``quantity`` on every 1-minute bar (to run into a position limit)."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe(self.params.instrument_key)
        ctx.subscribe_bars(1)

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        ctx.market(self.params.instrument_key, Side.BUY, self.params.quantity)


def next_day(day: date) -> date:
    return day + timedelta(days=1)


class HoldParams(StrategyParams):
    instrument_key: str = RELIANCE
    quantity: int = 5
    fail_after: int = 0  # raise in the n-th bar (0: never)


class BuyAndHold(Strategy[HoldParams]):
    """Buys once on the first bar and keeps it (MIS): the engine squares it off; with
    ``fail_after`` it raises in that bar."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe(self.params.instrument_key)
        ctx.subscribe_bars(1)
        self.bars = 0

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        self.bars += 1
        if self.bars == self.params.fail_after:
            raise RuntimeError("boom")
        if self.bars == 1:
            ctx.market(self.params.instrument_key, Side.BUY, self.params.quantity)


class Recorder(Strategy[NoParams]):
    """Keeps every enriched tick it gets."""

    def on_start(self, ctx: StrategyContext) -> None:
        self.seen: list[EnrichedTick] = []

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        self.seen.append(tick)
