"""Opening-range breakout (ORB) on the scanner's picks, intraday (MIS).

The idea: the first minutes of the session set a range (its high and low) where buyers
and sellers agree on a price. A stock the momentum scanner picks that then closes a
1-minute bar outside that range often keeps going in that direction for a while. Go with
the break, with a stop at the range's other side (or a percent stop) and a target a
multiple of the risk taken.

How it trades, one IST day at a time:

- **Opening range.** From the 1-minute bars of the first ``range_minutes`` minutes after
  09:15 (09:15-09:30 with the default 15), the high and low of every instrument fed to
  the host. The strategy does not subscribe to instruments: it keeps the range of each
  one it sees (a few numbers per name), so a pick that arrives at 10:05 is traded at
  once on its own range.
- **Candidates.** The scanner's picks of the day ranked ``max_rank`` or better
  (``on_suggestion``), plus the instruments of ``watchlist`` (traded with or without a
  pick), or with ``trade_all`` every instrument fed to the host (a backtest over the
  symbols it is given, where there is no scanner).
- **Entry.** The first 1-minute bar of a candidate that closes above the range high
  (long) or below the range low (short), after the range is complete and before
  ``last_entry_at``: a MARKET order, product MIS (intraday, ``I``).
- **Size.** ``risk_per_trade`` paise divided by the risk per share (bar close to stop),
  at most ``max_quantity`` shares; no trade if that is less than one share. A range
  wider than ``max_range_pct`` of the price is skipped (the stop would be too far).
- **Stop.** ``stop="range"``: the range's other side; ``stop="percent"``: ``stop_pct``
  percent from the entry fill. It rests at the exchange as an SL-M order once the entry is
  filled, so it protects the position even if this strategy stops.
- **Target.** ``target_r`` times the risk (entry fill to stop) beyond the entry fill. The
  strategy watches it on the 1-minute bars: when a bar trades through the target it
  cancels the stop and, once the cancel is confirmed, closes at market. Never two exit
  orders at once, so an exit can never overshoot into the opposite position.
- **One trade per name per day**, at most ``max_positions`` names open (or entering) at
  once. The names traded today are kept in ``ctx.state``, so a restart does not trade a
  name twice.
- **Square-off** at ``square_off_at`` (default 15:10 IST, before the execution service's
  15:15 MIS square-off): cancel every working order (stops, unfilled entries), then close
  what is still open at market; no new entry after it.

Spec for ``quant strategy run`` and ``quant backtest``:
``quant.strategy.examples.orb:OpeningRangeBreakout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from math import floor

from pydantic import Field, field_validator, model_validator

from quant.core.clock import IST, ns_to_datetime
from quant.core.events import Candle, ScannerSuggestion
from quant.core.orders import OrderEvent, OrderStatus, Side
from quant.trading.strategy import (
    JsonValue,
    Strategy,
    StrategyContext,
    StrategyParams,
    TimerEvent,
)

SESSION_OPEN = time(9, 15)
MIS_SQUARE_OFF = time(15, 15)  # the execution service's MIS square-off


class StopRule(StrEnum):
    RANGE = "range"  # the opening range's other side
    PERCENT = "percent"  # stop_pct percent from the entry fill


class OrbParams(StrategyParams):
    range_minutes: int = Field(15, ge=1, le=120)  # minutes after 09:15 that make the range
    use_scanner: bool = True  # trade the scanner's picks
    max_rank: int = Field(5, ge=1)  # ... ranked this or better
    watchlist: list[str] = Field(default_factory=list)  # instrument keys traded without a pick
    trade_all: bool = False  # every instrument fed (a backtest over chosen symbols)
    allow_short: bool = True  # trade breaks below the range too
    stop: StopRule = StopRule.RANGE
    stop_pct: float = Field(1.0, gt=0, le=20)  # with stop="percent"
    target_r: float = Field(2.0, gt=0, le=20)  # target = entry +/- target_r x risk
    max_range_pct: float = Field(3.0, gt=0)  # skip a range wider than this % of the price
    risk_per_trade: int = Field(50_000, ge=1)  # paise lost if the stop is hit (Rs 500)
    max_quantity: int = Field(1_000, ge=1)  # shares per trade at most
    max_positions: int = Field(3, ge=1)  # names open or entering at once
    last_entry_at: time = time(14, 30)  # IST; no entry from then on
    square_off_at: time = time(15, 10)  # IST; cancel and close everything

    @field_validator("watchlist")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if "|" not in key:
                raise ValueError(f"{key!r} is not an instrument key like NSE_EQ|INE002A01018")
        return keys

    @model_validator(mode="after")
    def _times(self) -> OrbParams:
        range_end = _plus_minutes(SESSION_OPEN, self.range_minutes)
        if not range_end < self.last_entry_at < self.square_off_at:
            raise ValueError(
                f"need range end ({range_end:%H:%M}) < last_entry_at "
                f"({self.last_entry_at:%H:%M}) < square_off_at ({self.square_off_at:%H:%M})"
            )
        if self.square_off_at >= MIS_SQUARE_OFF:
            raise ValueError(
                f"square_off_at ({self.square_off_at:%H:%M}) must be before the execution "
                f"service's MIS square-off at {MIS_SQUARE_OFF:%H:%M}"
            )
        if not (self.use_scanner or self.watchlist or self.trade_all):
            raise ValueError(
                "nothing to trade: use_scanner and trade_all are false and watchlist is empty"
            )
        return self


def _plus_minutes(t: time, minutes: int) -> time:
    """``t`` plus ``minutes`` (within the day)."""
    total = t.hour * 60 + t.minute + minutes
    return time(total // 60, total % 60)


@dataclass(slots=True)
class _Range:
    high: int
    low: int


@dataclass(slots=True)
class _Trade:
    """One name's trade of the day, from the entry order to flat."""

    side: Side  # the entry's side
    quantity: int
    range_stop: int  # the range's other side, paise
    entry_id: str
    stop_id: str = ""
    stop_price: int = 0
    target: int = 0
    exiting: bool = False  # target hit or square-off: cancelling, then closing


class OpeningRangeBreakout(Strategy[OrbParams]):
    """Opening-range breakout on the scanner's picks; see the module docstring."""

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.subscribe_bars(1)
        ctx.at("square_off", self.params.square_off_at)
        self.day: date | None = None
        self.ranges: dict[str, _Range] = {}  # opening range per instrument
        self.picks: set[str] = set()  # today's scanner picks
        self.trades: dict[str, _Trade] = {}  # names entering, open or exiting
        self.traded: set[str] = set()  # names already traded today (also in ctx.state)
        self.squared_off = False
        self._roll_day(ctx)

    # --- the day --------------------------------------------------------------------------

    def _roll_day(self, ctx: StrategyContext) -> None:
        """Start afresh when the clock reaches a new IST day (ranges, picks, trades)."""
        if ctx.today == self.day:
            return
        self.day = ctx.today
        self.ranges.clear()
        self.picks.clear()
        self.trades.clear()
        self.squared_off = False
        self.traded = set()
        saved = ctx.state.get("orb")
        if isinstance(saved, dict) and saved.get("day") == self.day.isoformat():
            traded = saved.get("traded")  # a restart during the day
            if isinstance(traded, list):
                self.traded = {k for k in traded if isinstance(k, str)}
        self._save(ctx)

    def _save(self, ctx: StrategyContext) -> None:
        assert self.day is not None
        traded: list[JsonValue] = [k for k in sorted(self.traded)]
        ctx.state["orb"] = {"day": self.day.isoformat(), "traded": traded}

    # --- market data ----------------------------------------------------------------------

    def on_suggestion(self, ctx: StrategyContext, suggestion: ScannerSuggestion) -> None:
        self._roll_day(ctx)
        if self.params.use_scanner and suggestion.rank <= self.params.max_rank:
            self.picks.add(suggestion.instrument_key)

    def on_bar(self, ctx: StrategyContext, bar: Candle) -> None:
        self._roll_day(ctx)
        p = self.params
        key = bar.instrument_key
        start = ns_to_datetime(bar.ts_start, IST).time()
        range_end = _plus_minutes(SESSION_OPEN, p.range_minutes)
        if start < range_end:  # still building the range
            if start >= SESSION_OPEN:
                r = self.ranges.get(key)
                if r is None:
                    self.ranges[key] = _Range(bar.high, bar.low)
                else:
                    r.high, r.low = max(r.high, bar.high), min(r.low, bar.low)
            return
        trade = self.trades.get(key)
        if trade is not None:
            self._watch_target(ctx, key, trade, bar)
            return
        end = _plus_minutes(start, bar.interval_seconds // 60)
        if self.squared_off or end > p.last_entry_at:
            return
        if not (p.trade_all or key in self.picks or key in p.watchlist):
            return
        self._maybe_enter(ctx, key, bar)

    def _maybe_enter(self, ctx: StrategyContext, key: str, bar: Candle) -> None:
        p = self.params
        r = self.ranges.get(key)
        if r is None or key in self.traded:
            return
        if bar.close > r.high:
            side, stop = Side.BUY, r.low
        elif bar.close < r.low and p.allow_short:
            side, stop = Side.SELL, r.high
        else:
            return
        if (r.high - r.low) * 100 > p.max_range_pct * bar.close:
            return  # the range is too wide for its stop to be sensible
        if len(self.trades) >= p.max_positions:
            return
        if p.stop is StopRule.PERCENT:
            risk_per_share = bar.close * p.stop_pct / 100
        else:
            risk_per_share = abs(bar.close - stop)
        quantity = min(p.max_quantity, floor(p.risk_per_trade / max(risk_per_share, 1)))
        if quantity < 1:
            return
        direction = "long" if side is Side.BUY else "short"
        entry_id = ctx.market(key, side, quantity, tag=f"orb {direction} entry")
        self.trades[key] = _Trade(side, quantity, stop, entry_id)
        self.traded.add(key)  # one trade per name per day, even if the entry is rejected
        self._save(ctx)

    def _watch_target(self, ctx: StrategyContext, key: str, trade: _Trade, bar: Candle) -> None:
        if trade.exiting or not trade.target:
            return
        hit = bar.high >= trade.target if trade.side is Side.BUY else bar.low <= trade.target
        if hit:
            self._exit(ctx, key, trade)

    # --- exits ----------------------------------------------------------------------------

    def _exit(self, ctx: StrategyContext, key: str, trade: _Trade | None) -> None:
        """Cancel the name's working orders; close at market once none is left."""
        if trade is not None:
            trade.exiting = True
        if ctx.cancel_all(key) == 0:
            ctx.close_position(key, tag="orb exit")

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        if timer.name != "square_off":
            return
        self._roll_day(ctx)
        self.squared_off = True
        # every name with a position or a working order, the ones a restart forgot included
        keys = {p.key.instrument_key for p in ctx.positions()}
        keys |= {o.instrument_key for o in ctx.open_orders()}
        for key in sorted(keys):
            self._exit(ctx, key, self.trades.get(key))

    # --- own orders -----------------------------------------------------------------------

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        key = event.instrument_key
        trade = self.trades.get(key)
        if not event.status.is_terminal:
            return
        held = ctx.position(key).net_quantity
        if trade is None:
            if self.squared_off and held and not ctx.open_orders(key):
                ctx.close_position(key, tag="orb exit")
            return
        if event.client_order_id == trade.entry_id:
            if held == 0:  # rejected or cancelled unfilled: nothing to protect
                del self.trades[key]
            elif trade.exiting:  # the square-off cancelled a partly filled entry
                self._exit(ctx, key, trade)
            else:
                self._protect(ctx, key, trade, held)
            return
        if held == 0:  # the stop filled, or the exit closed the position: done
            if event.status is OrderStatus.FILLED and event.client_order_id == trade.stop_id:
                ctx.log.info("%s stopped out at %.2f", key, trade.stop_price / 100)
            ctx.cancel_all(key)
            del self.trades[key]
        elif trade.exiting and not ctx.open_orders(key):
            ctx.close_position(key, tag="orb exit")  # the stop's cancel is confirmed

    def _protect(self, ctx: StrategyContext, key: str, trade: _Trade, held: int) -> None:
        """The entry is done: place the stop and set the target from the fill price."""
        p = self.params
        entry = ctx.position(key).average_price
        if p.stop is StopRule.PERCENT:
            tick = self._tick_size(ctx, key)
            offset = entry * p.stop_pct / 100
            raw = entry - offset if held > 0 else entry + offset
            stop = int(raw // tick * tick) if held > 0 else int(-(-raw // tick) * tick)
        else:
            stop = trade.range_stop
        risk = entry - stop if held > 0 else stop - entry
        if risk <= 0:  # filled beyond the stop (a gap): get out
            self._exit(ctx, key, trade)
            return
        exit_side = Side.SELL if held > 0 else Side.BUY
        trade.stop_price = stop
        reward = round(p.target_r * risk)
        trade.target = entry + reward if held > 0 else entry - reward
        trade.stop_id = ctx.stop(key, exit_side, abs(held), stop, tag="orb stop")

    @staticmethod
    def _tick_size(ctx: StrategyContext, key: str) -> int:
        instrument = ctx.instrument_master.get(key)
        return instrument.tick_size_paise if instrument is not None else 5
