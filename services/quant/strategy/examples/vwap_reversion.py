"""VWAP reversion on the feature engine's enriched ticks, intraday (MIS).

The idea: the session VWAP is the day's average traded price, where most of the volume
changed hands. When the price runs far from it, the move is often done once the
aggressive orders that pushed it dry up; then the price drifts back towards VWAP. Fade the
stretch, but only when the order flow says the push is over.

It reads, per enriched tick (``on_enriched``), of each instrument in ``instruments``:

- ``session_vwap`` and ``ltp``: the deviation ``ltp - VWAP`` (paise);
- a **rolling deviation**: the standard deviation of that deviation over the last
  ``window`` samples, one sample every ``sample_seconds`` (so it does not depend on how
  often the instrument ticks). The stretch ``z`` is the deviation in units of it, measured
  against the samples *before* the current tick;
- ``imbalance_d5`` (order-book imbalance over five levels, ``(bid - ask) / (bid + ask)``;
  the L1 imbalance where there is no depth) and ``aggressor`` (who hit whom on the last
  trade): the exhaustion filter.

Entries (a MARKET order, product MIS), between ``start_at`` (VWAP needs some volume to
mean anything) and ``last_entry_at``:

- **short** when ``z >= k``, the deviation is at least ``min_deviation_bps`` of VWAP, the
  book leans to the offer (imbalance ``<= -min_imbalance``) and the last trade was a sell
  hitting the bid: buyers are exhausted;
- **long** when ``z <= -k`` with the mirror conditions (imbalance ``>= min_imbalance``,
  last trade a buy lifting the offer).

Risk rules:

- ``quantity`` shares a trade, one position per name at a time;
- a **stop** ``stop_sigmas`` rolling deviations beyond the entry fill, resting at the
  exchange as an SL-M order (rounded to the tick, away from the price);
- the **target is VWAP itself**: the first tick at or through it cancels the stop and,
  once the cancel is confirmed, closes at market (one exit order at a time, so the
  position never flips);
- at most ``max_trades_per_name`` trades per name per day (kept in ``ctx.state``), and
  ``cooldown_minutes`` after a trade ends before the next one in that name;
- no new entry once the day's P&L (realised and at the last prices, before charges) is
  ``max_daily_loss`` paise or more in the red;
- **square-off** at ``square_off_at`` (default 15:10 IST, before the execution service's
  15:15 MIS square-off): working orders cancelled, positions closed at market.

Spec: ``quant.strategy.examples.vwap_reversion:VwapReversion``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import date, time

from pydantic import Field, field_validator, model_validator

from quant.core.clock import NS_PER_SECOND
from quant.core.events import AggressorSide, EnrichedTick
from quant.core.orders import OrderEvent, Side
from quant.trading.strategy import Strategy, StrategyContext, StrategyParams, TimerEvent

MIS_SQUARE_OFF = time(15, 15)  # the execution service's MIS square-off


class VwapReversionParams(StrategyParams):
    instruments: list[str] = Field(default_factory=lambda: ["NSE_EQ|INE002A01018"], min_length=1)
    quantity: int = Field(10, ge=1)  # shares a trade
    k: float = Field(2.5, gt=0)  # enter beyond k rolling deviations from VWAP
    window: int = Field(90, ge=5, le=10_000)  # samples in the rolling deviation
    sample_seconds: int = Field(10, ge=1, le=3_600)  # one sample every this many seconds
    min_deviation_bps: float = Field(20.0, ge=0)  # and at least this far from VWAP
    min_imbalance: float = Field(0.2, ge=0, le=1)  # book leaning against the stretch
    stop_sigmas: float = Field(1.5, gt=0)  # stop this many rolling deviations away
    max_trades_per_name: int = Field(3, ge=1)  # a day
    cooldown_minutes: int = Field(5, ge=0)  # after a trade ends, per name
    max_daily_loss: int = Field(200_000, ge=1)  # paise (Rs 2,000): no entry beyond it
    start_at: time = time(9, 45)  # IST; no entry before
    last_entry_at: time = time(14, 45)  # IST; no entry from then on
    square_off_at: time = time(15, 10)  # IST

    @field_validator("instruments")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if "|" not in key:
                raise ValueError(f"{key!r} is not an instrument key like NSE_EQ|INE002A01018")
        return keys

    @model_validator(mode="after")
    def _times(self) -> VwapReversionParams:
        if not time(9, 15) <= self.start_at < self.last_entry_at < self.square_off_at:
            raise ValueError(
                f"need 09:15 <= start_at ({self.start_at:%H:%M}) < last_entry_at "
                f"({self.last_entry_at:%H:%M}) < square_off_at ({self.square_off_at:%H:%M})"
            )
        if self.square_off_at >= MIS_SQUARE_OFF:
            raise ValueError(
                f"square_off_at ({self.square_off_at:%H:%M}) must be before the execution "
                f"service's MIS square-off at {MIS_SQUARE_OFF:%H:%M}"
            )
        return self


@dataclass(slots=True)
class _Deviation:
    """The rolling standard deviation of ``ltp - VWAP`` over the last ``window`` samples."""

    window: int
    samples: deque[float] = field(default_factory=deque)
    total: float = 0.0
    squares: float = 0.0
    last_ns: int = 0

    def add(self, value: float, ts: int) -> None:
        self.samples.append(value)
        self.total += value
        self.squares += value * value
        if len(self.samples) > self.window:
            old = self.samples.popleft()
            self.total -= old
            self.squares -= old * old
        self.last_ns = ts

    def sigma(self) -> float:
        """Population standard deviation; 0 until the window is full."""
        n = len(self.samples)
        if n < self.window:
            return 0.0
        mean = self.total / n
        return math.sqrt(max(self.squares / n - mean * mean, 0.0))


@dataclass(slots=True)
class _Trade:
    sigma: float  # the rolling deviation at entry (sizes the stop)
    entry_id: str
    stop_id: str = ""
    exiting: bool = False


class VwapReversion(Strategy[VwapReversionParams]):
    """VWAP reversion confirmed by imbalance and aggressor side; see the module docstring."""

    def on_start(self, ctx: StrategyContext) -> None:
        p = self.params
        ctx.subscribe(*p.instruments)
        ctx.at("square_off", p.square_off_at)
        self.day: date | None = None
        self.deviation: dict[str, _Deviation] = {}
        self.trades: dict[str, _Trade] = {}
        self.count: dict[str, int] = {}  # trades per name today (also in ctx.state)
        self.cooldown_until: dict[str, int] = {}
        self.squared_off = False
        self._roll_day(ctx)

    def _roll_day(self, ctx: StrategyContext) -> None:
        """A new IST day: VWAP restarts, so do the samples, counts and cooldowns."""
        if ctx.today == self.day:
            return
        self.day = ctx.today
        self.deviation.clear()
        self.trades.clear()
        self.cooldown_until.clear()
        self.squared_off = False
        saved = ctx.state.get("vwap_reversion")
        self.count = {}
        if isinstance(saved, dict) and saved.get("day") == self.day.isoformat():
            counts = saved.get("count")
            if isinstance(counts, dict):  # a restart during the day
                self.count = {k: v for k, v in counts.items() if isinstance(v, int)}
        self._save(ctx)

    def _save(self, ctx: StrategyContext) -> None:
        assert self.day is not None
        ctx.state["vwap_reversion"] = {"day": self.day.isoformat(), "count": dict(self.count)}

    # --- signal ---------------------------------------------------------------------------

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        self._roll_day(ctx)
        vwap = tick.session_vwap
        if not vwap > 0 or tick.ltp <= 0:  # NaN before the day's first trade
            return
        key = tick.instrument_key
        p = self.params
        dev = self.deviation.get(key)
        if dev is None:
            dev = self.deviation[key] = _Deviation(p.window)
        deviation = tick.ltp - vwap
        sigma = dev.sigma()  # of the samples before this tick
        if not dev.samples or tick.ts_event - dev.last_ns >= p.sample_seconds * NS_PER_SECOND:
            dev.add(deviation, tick.ts_event)

        trade = self.trades.get(key)
        if trade is not None:
            self._watch_vwap(ctx, key, trade, tick)
            return
        if sigma <= 0 or not self._may_enter(ctx, key):
            return
        z = deviation / sigma
        if abs(deviation) < p.min_deviation_bps * vwap / 10_000:
            return
        imbalance = tick.imbalance_d5
        if z >= p.k and imbalance <= -p.min_imbalance and tick.aggressor is AggressorSide.SELL:
            side = Side.SELL  # stretched above VWAP, sellers taking over
        elif z <= -p.k and imbalance >= p.min_imbalance and tick.aggressor is AggressorSide.BUY:
            side = Side.BUY  # stretched below VWAP, buyers taking over
        else:
            return
        direction = "short" if side is Side.SELL else "long"
        entry_id = ctx.market(key, side, p.quantity, tag=f"vwap {direction} z={z:.1f}")
        self.trades[key] = _Trade(sigma, entry_id)
        self.count[key] = self.count.get(key, 0) + 1
        self._save(ctx)

    def _may_enter(self, ctx: StrategyContext, key: str) -> bool:
        p = self.params
        now = ctx.now_ist().time()
        if self.squared_off or not p.start_at <= now < p.last_entry_at:
            return False
        if self.count.get(key, 0) >= p.max_trades_per_name:
            return False
        if ctx.now_ns < self.cooldown_until.get(key, 0):
            return False
        if ctx.position(key).net_quantity or ctx.open_orders(key):
            return False  # e.g. left over from before a restart
        return ctx.pnl().total > -p.max_daily_loss

    def _watch_vwap(
        self, ctx: StrategyContext, key: str, trade: _Trade, tick: EnrichedTick
    ) -> None:
        """Target: back to VWAP."""
        held = ctx.position(key).net_quantity
        if trade.exiting or not trade.stop_id or not held:
            return
        if (held > 0 and tick.ltp >= tick.session_vwap) or (
            held < 0 and tick.ltp <= tick.session_vwap
        ):
            self._exit(ctx, key, trade)

    # --- exits ----------------------------------------------------------------------------

    def _exit(self, ctx: StrategyContext, key: str, trade: _Trade | None) -> None:
        """Cancel the name's working orders; close at market once none is left."""
        if trade is not None:
            trade.exiting = True
        if ctx.cancel_all(key) == 0:
            ctx.close_position(key, tag="vwap exit")

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        if timer.name != "square_off":
            return
        self._roll_day(ctx)
        self.squared_off = True
        keys = {p.key.instrument_key for p in ctx.positions()}
        keys |= {o.instrument_key for o in ctx.open_orders()}
        for key in sorted(keys):
            self._exit(ctx, key, self.trades.get(key))

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        if not event.status.is_terminal:
            return
        key = event.instrument_key
        held = ctx.position(key).net_quantity
        trade = self.trades.get(key)
        if trade is None:
            if self.squared_off and held and not ctx.open_orders(key):
                ctx.close_position(key, tag="vwap exit")
            return
        if event.client_order_id == trade.entry_id and held and not trade.exiting:
            self._protect(ctx, key, trade, held)
        elif held == 0:  # never filled, stopped out, or closed: done with this trade
            ctx.cancel_all(key)
            del self.trades[key]
            self.cooldown_until[key] = (
                ctx.now_ns + self.params.cooldown_minutes * 60 * NS_PER_SECOND
            )
        elif trade.exiting and not ctx.open_orders(key):
            ctx.close_position(key, tag="vwap exit")  # the stop's cancel is confirmed

    def _protect(self, ctx: StrategyContext, key: str, trade: _Trade, held: int) -> None:
        """The entry is filled: the stop rests ``stop_sigmas`` deviations beyond the fill."""
        instrument = ctx.instrument_master.get(key)
        tick = instrument.tick_size_paise if instrument is not None else 5
        entry = ctx.position(key).average_price
        distance = self.params.stop_sigmas * trade.sigma
        if held > 0:
            stop, side = int((entry - distance) // tick * tick), Side.SELL
        else:
            stop, side = int(-((-(entry + distance)) // tick) * tick), Side.BUY
        trade.stop_id = ctx.stop(key, side, abs(held), stop, tag="vwap stop")
