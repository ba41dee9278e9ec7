"""NIFTY short straddle: sell the at-the-money call and put of the nearest expiry, intraday.

The idea: options lose value as time passes (theta) while the index stays put. Selling
both the call and the put at the strike nearest the index collects both premiums; the
position makes money if the index stays near that strike and its implied volatility does
not rise, and loses, without limit, if the index runs either way. So the stop and the
square-off matter more than the entry.

How it trades, once a day:

- **Entry** at ``entry_at`` (default 09:30 IST): the underlying's last price (its ticks
  must be fed, the strategy subscribes to ``underlying_key``) picks the at-the-money
  strike of the nearest expiry at least ``min_days_to_expiry`` days away, from the
  instrument master the host exposes (``ctx.instrument_master.option_chain``): the strike
  nearest the price that has both a call and a put (the lower one on a tie). It sells
  ``lots`` lots of each at market, product MIS; quantities are ``lots`` times the
  contract's lot size (the execution service splits an order above the freeze quantity).
- **Combined-premium stop**: the entry premium is the two fill prices added; when the
  last prices of the two legs add up to ``stop_pct`` percent more than that, both legs
  are bought back at market. An optional ``target_pct`` takes the profit when the
  combined premium has decayed by that percent. The strategy watches these itself (there
  is no exchange order for a sum of two prices): if it stops, the execution service's
  MIS square-off at 15:15 and its daily-loss limit are the backstop.
- **Delta drift**: the enriched ticks of the options carry their greeks. At the strike the
  call's delta is about +0.5 and the put's about -0.5, so the straddle is delta-neutral;
  as the index moves, ``call delta + put delta`` drifts away from 0 and the short
  straddle loses on the move. When it passes ``max_net_delta`` (per unit, either sign):
  with ``on_delta="adjust"`` the strategy rolls (buys both legs back and, once flat,
  sells the new at-the-money straddle of the same expiry), at most ``max_adjustments``
  times, not after ``roll_until`` and only if the at-the-money strike has changed (the
  same strike would not bring the delta back); otherwise it exits. On an expiry day the
  options' gamma is high and the delta drifts within minutes: widen ``max_net_delta`` or
  set ``min_days_to_expiry`` to trade a later expiry.
- **Both legs or none**: if one leg's entry is rejected or cancelled, the other is bought
  back at once; a naked short option is not what this strategy is for.
- **Square-off** at ``exit_at`` (default 15:10 IST, before the execution service's 15:15
  MIS square-off): working orders cancelled, both legs bought back at market.

Spec: ``quant.strategy.examples.short_straddle:ShortStraddle``. Needs a host built with the
instrument master (``StrategyHost(..., instruments=InstrumentIndex.build(rows))``; a backtest
gives it the instruments of its ``--symbols``: list the index and the strikes around the
money).
"""

from __future__ import annotations

import math
from datetime import date, time, timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from quant.core.events import EnrichedTick
from quant.core.instruments import Instrument, InstrumentType
from quant.core.orders import OrderEvent, Side
from quant.trading.strategy import Strategy, StrategyContext, StrategyParams, TimerEvent

MIS_SQUARE_OFF = time(15, 15)  # the execution service's MIS square-off


class OnDelta(StrEnum):
    EXIT = "exit"  # buy both legs back
    ADJUST = "adjust"  # roll to the new at-the-money strike


class Phase(StrEnum):
    IDLE = "idle"  # before the entry, or done for the day
    ENTERING = "entering"  # sell orders working
    OPEN = "open"  # both legs sold
    EXITING = "exiting"  # buying back (then IDLE, or ENTERING again after a roll)


class ShortStraddleParams(StrategyParams):
    underlying_key: str = "NSE_INDEX|Nifty 50"
    lots: int = Field(1, ge=1, le=50)  # per leg
    entry_at: time = time(9, 30)  # IST
    exit_at: time = time(15, 10)  # IST
    min_days_to_expiry: int = Field(0, ge=0, le=30)  # 0: trade the expiry day too
    stop_pct: float = Field(30.0, gt=0, le=500)  # combined premium up this much: exit
    target_pct: float | None = Field(None, gt=0, lt=100)  # ... down this much: exit
    max_net_delta: float = Field(0.25, gt=0, le=1)  # |call delta + put delta|
    on_delta: OnDelta = OnDelta.EXIT
    max_adjustments: int = Field(1, ge=0, le=10)  # rolls a day with on_delta="adjust"
    roll_until: time = time(14, 30)  # IST; no roll from then on (exit instead)

    @model_validator(mode="after")
    def _times(self) -> ShortStraddleParams:
        if "|" not in self.underlying_key:
            raise ValueError(
                f"underlying_key {self.underlying_key!r} is not an instrument key like "
                "NSE_INDEX|Nifty 50"
            )
        if not time(9, 15) <= self.entry_at < self.exit_at:
            raise ValueError(
                f"need 09:15 <= entry_at ({self.entry_at:%H:%M}) < exit_at ({self.exit_at:%H:%M})"
            )
        if self.exit_at >= MIS_SQUARE_OFF:
            raise ValueError(
                f"exit_at ({self.exit_at:%H:%M}) must be before the execution service's MIS "
                f"square-off at {MIS_SQUARE_OFF:%H:%M}"
            )
        return self


def atm_straddle(
    chain: list[Instrument], price: int, earliest: date
) -> tuple[Instrument, Instrument] | None:
    """The (call, put) at the strike nearest ``price`` (paise) of the nearest expiry on or
    after ``earliest`` that has both; None if there is none."""
    expiries = sorted({i.expiry for i in chain if i.expiry is not None and i.expiry >= earliest})
    for expiry in expiries:
        calls: dict[int, Instrument] = {}
        puts: dict[int, Instrument] = {}
        for i in chain:
            if i.expiry == expiry and i.strike_paise is not None:
                side = calls if i.instrument_type is InstrumentType.CALL else puts
                side[i.strike_paise] = i
        strikes = sorted(set(calls) & set(puts))
        if strikes:
            strike = min(strikes, key=lambda s: (abs(s - price), s))
            return calls[strike], puts[strike]
    return None


class ShortStraddle(Strategy[ShortStraddleParams]):
    """Short ATM straddle with a combined-premium stop and a delta rule; see the module
    docstring."""

    def on_start(self, ctx: StrategyContext) -> None:
        p = self.params
        ctx.subscribe(p.underlying_key)
        ctx.at("entry", p.entry_at)
        ctx.at("exit", p.exit_at)
        self.phase = Phase.IDLE
        self.legs: tuple[str, str] = ("", "")  # call key, put key
        self.premium = 0  # combined entry premium, paise per unit
        self.roll = False  # re-enter after this exit
        self.day: date | None = None
        self.adjustments = 0  # rolls today
        self.entered = False  # today's straddle was sold (kept in ctx.state)
        self._roll_day(ctx)

    def _roll_day(self, ctx: StrategyContext) -> None:
        if ctx.today == self.day:
            return
        self.day = ctx.today
        saved = ctx.state.get("straddle")
        if isinstance(saved, dict) and saved.get("day") == self.day.isoformat():
            done = saved.get("adjustments")
            self.adjustments = done if isinstance(done, int) else 0
            self.entered = True  # a restart after today's entry: do not enter again
        else:
            self.adjustments, self.entered = 0, False

    def _save(self, ctx: StrategyContext) -> None:
        assert self.day is not None
        ctx.state["straddle"] = {"day": self.day.isoformat(), "adjustments": self.adjustments}

    # --- entry ----------------------------------------------------------------------------

    def on_timer(self, ctx: StrategyContext, timer: TimerEvent) -> None:
        self._roll_day(ctx)
        if timer.name == "entry" and self.phase is Phase.IDLE and not self.entered:
            self.entered = True
            self._save(ctx)
            self._enter(ctx)
        elif timer.name == "exit":
            self.roll = False
            self._exit(ctx, "square-off")

    def _atm(self, ctx: StrategyContext) -> tuple[Instrument, Instrument] | None:
        """The at-the-money (call, put) at the underlying's last price, or None."""
        p = self.params
        price = ctx.last_price(p.underlying_key)
        if price <= 0:
            return None
        chain = ctx.instrument_master.option_chain(p.underlying_key)
        return atm_straddle(chain, price, ctx.today + timedelta(days=p.min_days_to_expiry))

    def _enter(self, ctx: StrategyContext) -> None:
        p = self.params
        price = ctx.last_price(p.underlying_key)
        picked = self._atm(ctx)
        if picked is None:
            ctx.log.warning(
                "no straddle: no price for %s yet, or no option chain of it expiring %d or "
                "more days from now in the instrument master",
                p.underlying_key,
                p.min_days_to_expiry,
            )
            return
        call, put = picked
        ctx.subscribe(call.instrument_key, put.instrument_key)
        self.legs = (call.instrument_key, put.instrument_key)
        for leg in picked:
            ctx.market(leg.instrument_key, Side.SELL, p.lots * leg.lot_size, tag="straddle sell")
        self.phase = Phase.ENTERING
        ctx.log.info("selling the %s straddle at %.2f", call.trading_symbol, price / 100)

    # --- watching the position ------------------------------------------------------------

    def on_enriched(self, ctx: StrategyContext, tick: EnrichedTick) -> None:
        if self.phase is not Phase.OPEN or tick.instrument_key not in self.legs:
            return
        p = self.params
        call, put = (ctx.last_price(k) for k in self.legs)
        if not call or not put:
            return  # a leg has not traded since the entry was sent
        combined = call + put
        if combined * 100 >= self.premium * (100 + p.stop_pct):
            self._exit(ctx, f"stop: premium {combined / 100:.2f} from {self.premium / 100:.2f}")
            return
        if p.target_pct is not None and combined * 100 <= self.premium * (100 - p.target_pct):
            self._exit(ctx, f"target: premium {combined / 100:.2f}")
            return
        net_delta = sum(self._delta(ctx, k) for k in self.legs)
        if math.isnan(net_delta) or abs(net_delta) <= p.max_net_delta:
            return
        can_roll = (
            p.on_delta is OnDelta.ADJUST
            and self.adjustments < p.max_adjustments
            and ctx.now_ist().time() < p.roll_until
            and self._moved(ctx)
        )
        self.roll = can_roll
        action = "roll" if can_roll else "exit"
        self._exit(ctx, f"delta {net_delta:+.3f} beyond {p.max_net_delta}: {action}")

    def _moved(self, ctx: StrategyContext) -> bool:
        """Whether the at-the-money strike is another one now (rolling to the same strike
        would not bring the delta back)."""
        atm = self._atm(ctx)
        return atm is not None and (atm[0].instrument_key, atm[1].instrument_key) != self.legs

    @staticmethod
    def _delta(ctx: StrategyContext, key: str) -> float:
        state = ctx.instrument(key)
        tick = state.enriched if state is not None else None
        return tick.delta if tick is not None else math.nan

    # --- exits ----------------------------------------------------------------------------

    def _exit(self, ctx: StrategyContext, why: str) -> None:
        """Buy back both legs: cancel what is working first, close once nothing is."""
        keys = {pos.key.instrument_key for pos in ctx.positions()}
        keys |= {o.instrument_key for o in ctx.open_orders()}
        if not keys:
            if self.phase is not Phase.IDLE:
                self.phase = Phase.IDLE
            return
        ctx.log.info("exit (%s)", why)
        self.phase = Phase.EXITING
        for key in sorted(keys):
            if ctx.cancel_all(key) == 0:
                ctx.close_position(key, tag="straddle exit")

    def on_order_update(self, ctx: StrategyContext, event: OrderEvent) -> None:
        if not event.status.is_terminal:
            return
        key = event.instrument_key
        if self.phase is Phase.ENTERING:
            if key not in self.legs or any(ctx.open_orders(k) for k in self.legs):
                return  # wait for both legs' orders (and their parts, if split) to finish
            held = [ctx.position(k).net_quantity for k in self.legs]
            if all(q < 0 for q in held):
                self.premium = sum(ctx.position(k).average_price for k in self.legs)
                self.phase = Phase.OPEN
            else:  # a leg was not sold: do not keep the other one naked
                self.roll = False
                self._exit(ctx, "a leg was not filled")
            return
        if self.phase is not Phase.EXITING:
            return
        if ctx.position(key).net_quantity and not ctx.open_orders(key):
            ctx.close_position(key, tag="straddle exit")  # its cancel is confirmed
        if ctx.positions() or ctx.open_orders():
            return
        self.phase = Phase.IDLE  # flat
        if self.roll:
            self.roll = False
            self.adjustments += 1
            self._save(ctx)
            self._enter(ctx)
