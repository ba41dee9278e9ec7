"""``StrategyHost``: runs several strategies on one stream of events and collects their orders.

The host is the same in every mode; live, paper and backtest differ only in what feeds it
and where the emitted commands go. Its caller (the runtime over the bus, or a backtest over
stored history) sets the injected clock to each event's time and calls:

- ``on_tick``, ``on_enriched``, ``on_candle`` (1-minute candles), ``on_suggestion``,
  ``on_order_event`` (``orders.events``), and ``on_time`` (no event, only time passing);
- ``drain()`` for the commands emitted since the last call (``Emission``: strategy id,
  algo name, ``IntentMessage`` or ``CancelRequest``), in the order they were emitted.

Each call first lets time catch up (bars whose end has passed are closed, due timers fire:
bars first, then timers, by due time), then updates the shared market state, then runs the
callbacks of the strategies that override them, in the order the strategies were added.
Ticks, enriched ticks and bars go to the strategies subscribed to their instrument (all of
them when a strategy subscribed to none); suggestions go to every strategy; an order event
goes only to the strategy that placed the order (``OrderEvent.strategy``): its
``on_order_update``, then ``on_fill`` if the event carries a fill. Bars: the 1-minute
candles are fed (``on_candle``, from the feature engine) or, with
``minute_bars_from_ticks``, built from the ticks; N-minute bars are built from them for the
intervals strategies subscribe to (``quant.trading.strategy.bars``). A quiet instrument's bar
is closed ``bar_close_delay_s`` after its end (time for its last candle to arrive).

When a callback raises, that strategy is stopped: its commands from that callback are
dropped, the error is recorded (``failures``: strategy id, callback, exception text) and
logged, ``on_stop`` is called best effort (its commands dropped too: the strategy's
positions are left to the execution service's rules) and its state saved if it can be; the
other strategies keep running. Per-strategy counters (``status()``) are plain data for the
runtime's metrics. ``restore(events)`` rebuilds the strategies' orders, positions and order
sequence numbers from the day's order events before ``start`` (a restart). ``instruments``
(a ``quant.core.symbols.InstrumentIndex``, empty by default) is the instrument master the
strategies read through ``ctx.instrument_master`` (lot sizes, option chains, expiries).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from quant.core.clock import NS_PER_SECOND, Clock
from quant.core.events import Candle, EnrichedTick, ScannerSuggestion, Tick
from quant.core.orders import OrderEvent
from quant.core.symbols import InstrumentIndex
from quant.trading.client_ids import (
    client_order_id,
    ensure_distinct_prefixes,
    parse_client_order_id,
)
from quant.trading.errors import InvalidIntent
from quant.trading.risk import ist_date
from quant.trading.strategy.bars import NS_PER_MINUTE, BarBuilder, MinuteBarBuilder
from quant.trading.strategy.base import CALLBACKS, Strategy, validate_params
from quant.trading.strategy.commands import CancelRequest, Emission
from quant.trading.strategy.context import StrategyContext
from quant.trading.strategy.errors import StrategyError
from quant.trading.strategy.market import MarketState
from quant.trading.strategy.own_orders import OwnOrders, base_id
from quant.trading.strategy.state import State, StateStore, check_json
from quant.trading.strategy.stats import (
    RunState,
    StrategyFailure,
    StrategyStats,
    StrategyStatus,
)
from quant.trading.strategy.timers import Timers

log = logging.getLogger(__name__)

#: what ``quant.trading.intent.OrderIntent`` accepts as a strategy name
_STRATEGY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_NEVER = 2**63 - 1


@dataclass(slots=True)
class _Slot:
    index: int
    strategy: Strategy[Any]
    ctx: StrategyContext
    orders: OwnOrders
    stats: StrategyStats
    run: RunState
    overridden: frozenset[str]
    last_error: str = ""

    def wants(self, instrument_key: str) -> bool:
        subscribed = self.ctx._instruments
        return not subscribed or instrument_key in subscribed


def _overridden(strategy: Strategy[Any]) -> frozenset[str]:
    cls = type(strategy)
    return frozenset(n for n in CALLBACKS if getattr(cls, n) is not getattr(Strategy, n))


class StrategyHost:
    """Strategies, the events they are fed and the commands they emit; see the module
    docstring."""

    def __init__(
        self,
        clock: Clock,
        *,
        state_store: StateStore | None = None,
        stopwatch: Callable[[], int] | None = None,
        minute_bars_from_ticks: bool = False,
        bar_close_delay_s: float = 2.0,
        instruments: InstrumentIndex | None = None,
    ) -> None:
        if bar_close_delay_s < 0:
            raise ValueError(f"bar_close_delay_s must be >= 0, got {bar_close_delay_s}")
        self._clock = clock
        self._store = state_store
        #: the instrument master the strategies look contracts up in (``ctx.instrument_master``)
        self.instruments = instruments if instruments is not None else InstrumentIndex()
        self._stopwatch = stopwatch
        self._market = MarketState()
        self._timers = Timers()
        self._slots: list[_Slot] = []
        # per callback: the running strategies that override it, with the bound method
        self._listeners: dict[str, tuple[tuple[_Slot, Callable[..., None]], ...]] = {
            name: () for name in CALLBACKS
        }
        self._by_id: dict[str, _Slot] = {}
        self._outbox: list[Emission] = []
        self._failures: list[StrategyFailure] = []
        self._minute = MinuteBarBuilder() if minute_bars_from_ticks else None
        self._builders: dict[int, BarBuilder] = {}
        self._delay = round(bar_close_delay_s * NS_PER_SECOND)
        self._bar_check = 0
        self._next_due = 0
        self.unrouted_order_events = 0

    # --- strategies ---------------------------------------------------------------------------

    def add(
        self,
        strategy: Strategy[Any],
        *,
        strategy_id: str,
        params: Mapping[str, object] | BaseModel | None = None,
        algo_name: str = "",
    ) -> StrategyContext:
        """Add a strategy (started by the next ``start``); ``InvalidParams`` if its parameters
        do not validate, ``StrategyError`` for a bad or clashing id. Returns its context."""
        if not isinstance(strategy, Strategy):
            raise StrategyError(f"{strategy!r} is not a Strategy instance")
        if not isinstance(strategy_id, str) or not _STRATEGY_ID.fullmatch(strategy_id):
            raise StrategyError(
                f"strategy id {strategy_id!r} must be 1-64 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit"
            )
        if strategy_id in self._by_id:
            raise StrategyError(f"a strategy with id {strategy_id!r} was already added")
        try:
            ensure_distinct_prefixes([*self._by_id, strategy_id])
        except InvalidIntent as e:
            raise StrategyError(str(e)) from e
        validated = validate_params(type(strategy), params)
        strategy.params = validated
        orders = OwnOrders(strategy_id)
        index = len(self._slots)
        ctx = StrategyContext(
            strategy_id=strategy_id,
            algo_name=algo_name,
            clock=self._clock,
            market=self._market,
            params=validated,
            state={},
            orders=orders,
            timers=self._timers,
            owner=index,
            host=self,
        )
        slot = _Slot(
            index, strategy, ctx, orders, StrategyStats(), RunState.ADDED, _overridden(strategy)
        )
        self._slots.append(slot)
        self._by_id[strategy_id] = slot
        return ctx

    def context(self, strategy_id: str) -> StrategyContext:
        """The context of an added strategy (``KeyError`` if none has that id)."""
        return self._by_id[strategy_id].ctx

    def restore(self, events: Iterable[OrderEvent]) -> None:
        """Rebuild orders, positions and used order sequence numbers from order events
        (oldest first; another strategy's or an unknown one's are skipped). No callbacks."""
        for e in events:
            slot = self._by_id.get(e.strategy)
            if slot is None:
                continue
            slot.orders.apply(e)
            try:
                parts = parse_client_order_id(base_id(e.client_order_id))
            except InvalidIntent:
                continue
            used = slot.ctx._used
            used[parts.day] = max(used.get(parts.day, 0), parts.sequence)
            slot.ctx._seq_day = None

    def start(self) -> None:
        """Load each added strategy's state and call its ``on_start``."""
        for slot in self._slots:
            if slot.run is not RunState.ADDED:
                continue
            if self._store is not None:
                loaded = self._store.load(slot.ctx.strategy_id)
                if loaded:
                    slot.ctx.state.update(loaded)
            slot.run = RunState.RUNNING
            self._relist()
            self._call(slot, "on_start", slot.strategy.on_start)
        self._next_due = 0  # timers set in on_start

    def stop(self) -> None:
        """Call ``on_stop`` of every running strategy and save its state."""
        for slot in self._slots:
            if slot.run is RunState.RUNNING:
                self._call(slot, "on_stop", slot.strategy.on_stop)
                if slot.run is RunState.RUNNING:
                    slot.run = RunState.STOPPED
                    self._relist()
                    self._timers.cancel_owner(slot.index)
                    self._save(slot)

    def save_states(self) -> None:
        """Save every running strategy's persistent state now."""
        for slot in self._slots:
            if slot.run is RunState.RUNNING:
                self._save(slot)

    # --- events -------------------------------------------------------------------------------

    def on_tick(self, tick: Tick) -> None:
        """A feed tick (builds the 1-minute candles too with ``minute_bars_from_ticks``)."""
        now = self._clock.now_ns()
        if now >= self._next_due:
            self._catch_up(now)
        if self._minute is not None:
            for candle in self._minute.add(tick):
                self._minute_bar(candle)
        self._market.update_tick(tick)
        key = tick.instrument_key
        timed = self._stopwatch is not None
        for slot, method in self._listeners["on_tick"]:
            ctx = slot.ctx
            subscribed = ctx._instruments
            if subscribed and key not in subscribed:
                continue
            if timed or slot.run is not RunState.RUNNING:
                self._call(slot, "on_tick", method, tick)
                continue
            slot.stats.events += 1  # _call inlined, as in on_enriched
            try:
                method(ctx, tick)
            except Exception as e:
                self._fail(slot, "on_tick", e)
                continue
            if ctx._staged:
                self._commit(slot)

    def on_enriched(self, tick: EnrichedTick) -> None:
        """An enriched tick from the feature engine."""
        now = self._clock.now_ns()
        if now >= self._next_due:
            self._catch_up(now)
        self._market.update_enriched(tick)
        key = tick.instrument_key
        timed = self._stopwatch is not None
        for slot, method in self._listeners["on_enriched"]:
            ctx = slot.ctx
            subscribed = ctx._instruments
            if subscribed and key not in subscribed:
                continue
            if timed or slot.run is not RunState.RUNNING:
                self._call(slot, "on_enriched", method, tick)
                continue
            slot.stats.events += 1  # _call inlined: the backtest's hottest path
            try:
                method(ctx, tick)
            except Exception as e:
                self._fail(slot, "on_enriched", e)
                continue
            if ctx._staged:
                self._commit(slot)

    def on_candle(self, candle: Candle) -> None:
        """A closed 1-minute candle (the feature engine's)."""
        if self._minute is not None:
            raise ValueError(
                "this host builds its 1-minute bars from ticks (minute_bars_from_ticks); "
                "feed it ticks or candles, not both"
            )
        if candle.interval_seconds != 60:
            raise ValueError(
                f"the host takes 1-minute candles (and builds N-minute bars from them), got "
                f"interval_seconds={candle.interval_seconds} for {candle.instrument_key}"
            )
        self._catch_up(self._clock.now_ns())
        self._minute_bar(candle)

    def on_suggestion(self, suggestion: ScannerSuggestion) -> None:
        """A scanner pick, for every strategy."""
        self._catch_up(self._clock.now_ns())
        for slot, method in self._listeners["on_suggestion"]:
            self._call(slot, "on_suggestion", method, suggestion)

    def on_order_event(self, event: OrderEvent) -> None:
        """An order event; only the strategy that placed the order hears of it."""
        self._catch_up(self._clock.now_ns())
        slot = self._by_id.get(event.strategy)
        if slot is None:
            self.unrouted_order_events += 1
            return
        new, fill = slot.orders.apply(event)
        if not new:
            return
        if fill is not None:
            slot.stats.fills += 1
        if "on_order_update" in slot.overridden:
            self._call(slot, "on_order_update", slot.strategy.on_order_update, event)
        if fill is not None and "on_fill" in slot.overridden:
            self._call(slot, "on_fill", slot.strategy.on_fill, fill)

    def on_time(self) -> None:
        """Only time passed: close the bars and fire the timers that are due."""
        self._catch_up(self._clock.now_ns())

    def next_due_ns(self) -> int | None:
        """When a timer is next due or an open bar next closes (for a simulated clock to step
        to), or None."""
        ends = [b.next_due_ns() for b in self._builders.values()]
        if self._minute is not None:
            ends.append(self._minute.next_due_ns())
        due = [end + self._delay for end in ends if end is not None]
        timer = self._timers.next_due_ns()
        if timer is not None:
            due.append(timer)
        return min(due, default=None)

    def flush_bars(self) -> None:
        """Close every open bar now (end of data or of the session)."""
        if self._minute is not None:
            for candle in self._minute.flush():
                self._minute_bar(candle)
        for builder in self._builders.values():
            for bar in builder.flush():
                self._n_minute_bar(bar)

    # --- output and status --------------------------------------------------------------------

    def drain(self) -> list[Emission]:
        """The commands emitted since the last call, in order (those a caller made through a
        context outside any callback included, last)."""
        for slot in self._slots:
            if slot.ctx._staged and slot.run is RunState.RUNNING:
                self._commit(slot)
        out, self._outbox = self._outbox, []
        return out

    @property
    def failures(self) -> list[StrategyFailure]:
        """Every callback that raised, oldest first."""
        return list(self._failures)

    @property
    def market(self) -> MarketState:
        return self._market

    def status(self) -> list[StrategyStatus]:
        """A snapshot of every strategy: state, counters, P&L (paise, before charges)."""
        marks = self._market.last_prices()
        out = []
        for s in self._slots:
            st, pnl = s.stats, s.orders.pnl(marks)
            out.append(
                StrategyStatus(
                    strategy_id=s.ctx.strategy_id,
                    algo_name=s.ctx.algo_name,
                    class_name=type(s.strategy).__name__,
                    state=s.run,
                    events=st.events,
                    intents=st.intents,
                    cancels=st.cancels,
                    fills=st.fills,
                    errors=st.errors,
                    latency_count=st.latency_count,
                    latency_sum_ns=st.latency_sum_ns,
                    latency_max_ns=st.latency_max_ns,
                    latency_buckets=tuple(st.latency_buckets),
                    realised_pnl=pnl.realised,
                    unrealised_pnl=pnl.unrealised,
                    open_orders=len(s.orders.open_orders()),
                    open_positions=len(s.orders.positions()),
                    last_error=s.last_error,
                )
            )
        return out

    # --- internals ----------------------------------------------------------------------------

    def _timer_set(self, due: int) -> None:
        """A strategy set a timer due at ``due`` (``ctx.at`` / ``ctx.every``)."""
        self._next_due = min(self._next_due, due)

    def _bars_for(self, minutes: int) -> None:
        """Make sure ``minutes``-minute bars are built (``ctx.subscribe_bars``)."""
        if minutes == 1:
            return
        if minutes not in self._builders:
            self._builders[minutes] = BarBuilder(minutes)
            self._next_due = 0

    def _catch_up(self, now: int) -> None:
        if now < self._next_due:
            return
        if now >= self._bar_check:
            cutoff = now - self._delay
            if self._minute is not None:
                for candle in self._minute.close_due(cutoff):
                    self._minute_bar(candle)
            for builder in self._builders.values():
                for bar in builder.close_due(cutoff):
                    self._n_minute_bar(bar)
            self._bar_check = (cutoff // NS_PER_MINUTE + 1) * NS_PER_MINUTE + self._delay
        for owner, event in self._timers.due(now):
            slot = self._slots[owner]
            if slot.run is RunState.RUNNING:
                self._call(slot, "on_timer", slot.strategy.on_timer, event)
        timer = self._timers.next_due_ns()
        self._next_due = min(self._bar_check, _NEVER if timer is None else timer)

    def _minute_bar(self, candle: Candle) -> None:
        self._market.update_bar(candle)
        key = candle.instrument_key
        for slot, method in self._listeners["on_bar"]:
            if 1 in slot.ctx._bar_minutes and slot.wants(key):
                self._call(slot, "on_bar", method, candle)
        for builder in self._builders.values():
            for bar in builder.add(candle):
                self._n_minute_bar(bar)

    def _n_minute_bar(self, bar: Candle) -> None:
        self._market.update_bar(bar)
        minutes, key = bar.interval_seconds // 60, bar.instrument_key
        for slot, method in self._listeners["on_bar"]:
            if minutes in slot.ctx._bar_minutes and slot.wants(key):
                self._call(slot, "on_bar", method, bar)

    def _relist(self) -> None:
        """Rebuild the per-callback listeners (a strategy started, stopped or failed)."""
        self._listeners = {
            name: tuple(
                (slot, getattr(slot.strategy, name))
                for slot in self._slots
                if slot.run is RunState.RUNNING and name in slot.overridden
            )
            for name in CALLBACKS
        }

    def _call(self, slot: _Slot, callback: str, method: Callable[..., None], *args: object) -> None:
        if slot.run is not RunState.RUNNING:  # it failed earlier in this same event
            return
        slot.stats.events += 1
        sw = self._stopwatch
        if sw is None:
            try:
                method(slot.ctx, *args)
            except Exception as e:  # a strategy's bug stops that strategy, never the host
                self._fail(slot, callback, e)
                return
        else:
            t0 = sw()
            try:
                method(slot.ctx, *args)
            except Exception as e:
                slot.stats.observe(sw() - t0)
                self._fail(slot, callback, e)
                return
            slot.stats.observe(sw() - t0)
        if slot.ctx._staged:
            self._commit(slot)

    def _commit(self, slot: _Slot) -> None:
        staged = slot.ctx._staged
        sid, algo, stats = slot.ctx.strategy_id, slot.ctx.algo_name, slot.stats
        for command in staged:
            if isinstance(command, CancelRequest):
                stats.cancels += 1
            else:
                stats.intents += 1
            self._outbox.append(Emission(sid, algo, command))
        staged.clear()

    def _fail(self, slot: _Slot, callback: str, error: Exception) -> None:
        ctx = slot.ctx
        self._drop_staged(slot)
        text = f"{type(error).__name__}: {error}"
        self._failures.append(StrategyFailure(ctx.strategy_id, callback, text, ctx.now_ns))
        slot.stats.errors += 1
        slot.last_error = text
        slot.run = RunState.FAILED
        self._relist()
        self._timers.cancel_owner(slot.index)
        log.error(
            "strategy %s stopped: %s raised %s",
            ctx.strategy_id,
            callback,
            text,
            exc_info=(type(error), error, error.__traceback__),
        )
        if callback != "on_stop" and "on_stop" in slot.overridden:
            try:
                slot.strategy.on_stop(ctx)
            except Exception as e:  # best effort: it already failed once
                log.warning("strategy %s: on_stop after the failure raised %r", ctx.strategy_id, e)
            self._drop_staged(slot)
        self._save(slot)

    def _drop_staged(self, slot: _Slot) -> None:
        ctx = slot.ctx
        for command in ctx._staged:
            if not isinstance(command, CancelRequest):
                day = ist_date(command.ts_event)
                cid = client_order_id(ctx.strategy_id, day, command.sequence)
                slot.orders.forget_pending(cid)
        ctx._staged.clear()

    def _save(self, slot: _Slot) -> None:
        if self._store is None:
            return
        ctx = slot.ctx
        state: State = ctx.state
        try:
            check_json(state)
        except StrategyError as e:
            text = f"{type(e).__name__}: {e}"
            self._failures.append(StrategyFailure(ctx.strategy_id, "save_state", text, ctx.now_ns))
            slot.stats.errors += 1
            slot.last_error = text
            log.error("strategy %s: state not saved: %s", ctx.strategy_id, e)
            return
        self._store.save(ctx.strategy_id, state)
