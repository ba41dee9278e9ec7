"""Builders for the strategy API tests: IST times, events, a recording strategy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from quant.core.clock import IST, FakeClock, datetime_to_ns
from quant.core.events import (
    AggressorSide,
    Candle,
    EnrichedTick,
    FeedMode,
    ScannerSuggestion,
    Tick,
)
from quant.core.orders import OrderEvent, OrderStatus, OrderType, Side
from quant.trading.order import Fill
from quant.trading.strategy import StrategyContext, TimerEvent
from quant.trading.strategy.base import Strategy

DAY = date(2026, 12, 7)  # a Monday
KEY = "NSE_EQ|INE002A01018"
KEY2 = "NSE_EQ|INE009A01021"
SEC = 1_000_000_000
MIN = 60 * SEC


def ist(hh: int, mm: int, ss: int = 0, day: date = DAY) -> int:
    """UTC ns of an IST wall-clock time on ``day``."""
    return datetime_to_ns(datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=IST))


def clock_at(hh: int, mm: int, ss: int = 0) -> FakeClock:
    return FakeClock(ist(hh, mm, ss))


def tick(ts: int, ltp: int, *, key: str = KEY, volume: int = 0, mode: FeedMode = FeedMode.FULL,
         ltq: int = 0, ltt: int = 0, oi: int = 0) -> Tick:  # fmt: skip
    return Tick(key, mode, ts, ts, ltp, ltt_ns=ltt, ltq=ltq, volume=volume, oi=oi)


def enriched(ts: int, ltp: int, *, key: str = KEY, vwap: float = 0.0) -> EnrichedTick:
    return EnrichedTick(
        key, ts, ts, ltp, 0, vwap, vwap, 0.0, 0.0, 0.0, 5, 1.0, float(ltp),
        AggressorSide.NONE, 0, 0, 0, 0.0, ts,
    )  # fmt: skip


def candle(hh: int, mm: int, o: int, h: int, lo: int, c: int, v: int = 100, *,
           key: str = KEY, day: date = DAY, oi: int = 0, n: int = 1) -> Candle:  # fmt: skip
    return Candle(key, 60, ist(hh, mm, day=day), o, h, lo, c, v, oi, n)


def suggestion(ts: int, key: str = KEY, rank: int = 1) -> ScannerSuggestion:
    return ScannerSuggestion(key, "RELIANCE", ts, rank, 1.5, ("near the 20-day high",), 250_000)


def order_event(
    cid: str,
    status: OrderStatus,
    *,
    strategy: str,
    ts: int,
    key: str = KEY,
    side: Side = Side.BUY,
    quantity: int = 10,
    filled: int = 0,
    value: int = 0,
    order_type: OrderType = OrderType.MARKET,
) -> OrderEvent:
    return OrderEvent(
        cid, key, side, order_type, quantity, status, ts, ts,
        broker_order_id="B1", filled_quantity=filled, filled_value=value, strategy=strategy,
    )  # fmt: skip


class Recorder(Strategy):
    """Records every callback it gets as (name, detail)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_start(self, ctx: StrategyContext) -> None:
        self.calls.append(("on_start", None))

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> None:
        self.calls.append(("on_tick", tick.ltp))

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        self.calls.append(("on_enriched", tick.ltp))

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        self.calls.append(("on_bar", (bar.interval_seconds, bar.ts_start)))

    def on_suggestion(self, ctx: StrategyContext, suggestion: ScannerSuggestion) -> None:
        self.calls.append(("on_suggestion", suggestion.rank))

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        self.calls.append(("on_order_update", (event.client_order_id, event.status)))

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        self.calls.append(("on_fill", (fill.client_order_id, fill.quantity)))

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        self.calls.append(("on_timer", timer.name))

    def on_stop(self, ctx: StrategyContext) -> None:
        self.calls.append(("on_stop", None))

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]
