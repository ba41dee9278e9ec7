"""Moving-average cross on N-minute bars: long when the fast average is above the slow one.

Goes long ``quantity`` shares (intraday, MIS) when the fast simple moving average of the
bar closes crosses above the slow one, exits when it crosses back below, and squares off
at ``square_off_at`` IST; no new entry after the square-off on the same day. The example
of docs/strategies.md; ``quant up`` runs it in paper mode on 1-minute bars of RELIANCE.
"""

from __future__ import annotations

from collections import deque

from pydantic import Field, model_validator

from quant.core.events import Candle
from quant.core.orders import Side
from quant.trading.order import Fill
from quant.trading.strategy import Strategy, StrategyContext, StrategyParams, TimerEvent


class MaCrossParams(StrategyParams):
    instrument_key: str = "NSE_EQ|INE002A01018"  # RELIANCE
    bar_minutes: int = Field(5, ge=1, le=375)
    fast: int = Field(10, ge=1)
    slow: int = Field(30, ge=2)
    quantity: int = Field(1, ge=1)  # shares
    square_off_at: str = "15:10"  # IST

    @model_validator(mode="after")
    def _fast_below_slow(self) -> MaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
        return self


class MaCross(Strategy[MaCrossParams]):
    """See the module docstring."""

    def on_start(self, ctx: StrategyContext) -> None:
        p = self.params
        ctx.subscribe(p.instrument_key)
        ctx.subscribe_bars(p.bar_minutes)
        ctx.at("square_off", p.square_off_at)
        self.closes: deque[int] = deque(maxlen=p.slow)
        self.was_above: bool | None = None

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        p = self.params
        if bar.interval_seconds != p.bar_minutes * 60:
            return
        self.closes.append(bar.close)  # paise
        if len(self.closes) < p.slow:
            return
        fast = sum(list(self.closes)[-p.fast :]) / p.fast
        slow = sum(self.closes) / p.slow
        above = fast > slow
        crossed = self.was_above is not None and above != self.was_above
        self.was_above = above
        if not crossed or ctx.open_orders(p.instrument_key):
            return
        held = ctx.position(p.instrument_key).net_quantity
        if above and held == 0 and ctx.state.get("squared_off") != ctx.today.isoformat():
            ctx.market(p.instrument_key, Side.BUY, p.quantity, tag="ma-cross entry")
        elif not above and held > 0:
            ctx.close_position(p.instrument_key, tag="ma-cross exit")

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        if timer.name == "square_off":
            ctx.cancel_all()
            ctx.close_position(self.params.instrument_key, tag="square-off")
            ctx.state["squared_off"] = ctx.today.isoformat()

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        ctx.log.info(
            "%s %d @ %.2f; P&L %.2f",
            fill.side.name,
            fill.quantity,
            fill.price / 100,
            ctx.pnl().total / 100,
        )
