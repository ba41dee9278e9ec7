"""The backtest replay: stored history through the strategy host, the execution engine and the
paper broker, on a simulated clock.

``Backtest.run(reader, first_day, last_day)`` goes through the IST days in order. For each
day that has data it builds a fresh ``ExecutionEngine`` over a fresh ``PaperBroker`` (as the
execution service runs for one trading day: the same risk checks, OMS, order-rate
limiter, MIS square-off and charges; no REST quotes: circuit limits are not checked) and:

- **bars** (``ohlc``, 1-minute candles): at each minute's end ``T`` (``ts_start`` + 60 s)
  every instrument's candle of that minute gives a synthetic tick at ``T``: LTP = close,
  one depth level at close -/+ ``half_spread_ticks`` tick sizes with
  ``bar_depth_quantity`` on each side. The tick goes to the engine (marks, risk quote) and
  the paper broker (the book it fills against); then each candle goes to the host
  (``on_candle``; N-minute bars are built by the host's ``BarBuilder``). Strategies get
  bars and timers, not ticks.
- **ticks** (``ticks``): the raw ticks, in time order, through the same ``FeatureEngine``
  as the feature service (batched: its results do not depend on the batching; the run's
  options registered, so their enriched ticks carry IV and greeks), each tick
  then to the engine, the paper broker and the host (``on_tick`` and ``on_enriched``). Each
  of the feature engine's 1-minute candles goes to the host (``on_candle``) right after
  the tick of its instrument that closed it, as the feature service publishes it live
  (the last ones of a day at the end of the day's data).

Ticks of an instrument with no working paper order are held back and only its latest one
is handed to the engine and the broker when something needs it (an order, the engine's
timer, the end of the day): a book only replaces the one held when nothing can fill on it,
so the marks, risk quotes and fills are the same as if every tick had gone, for a fraction
of the work. Bar books are made the same way, when needed.

The strategies' instrument master (``ctx.instrument_master``) holds the run's instruments
(those of ``--symbols``: an options strategy needs its chain's strikes listed there).

The clock is a ``FakeClock`` set to each event's time (``ts_event``); before an event,
time steps to whatever falls due earlier: a strategy timer or bar close
(``host.next_due_ns()``), a paper order's latency, an order waiting for its rate-limit
slot, the MIS square-off. Intents the host emits go straight to ``engine.submit``
(cancels to ``engine.cancel``), the broker's order updates to ``engine.on_broker_update``,
and every journaled ``OrderEvent`` back to the host (its ``on_order_update`` / ``on_fill``)
and to the ``Ledger`` (fills, charges, round trips, daily equity). At the end of a day,
orders still working are cancelled (DAY validity) and the day's equity is taken.

Deterministic: no wall clock, inputs sorted (time, then instrument key), the paper broker's
jitter from its seed. The engine's coroutines never wait on anything here (in-memory
journal and publisher), so the whole run is one asyncio task.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from quant.analytics.engine import FeatureEngine
from quant.analytics.performance import EquityPoint, TradeRecord
from quant.backtest.config import BacktestConfig
from quant.backtest.ledger import FillRow, Ledger
from quant.core.clock import IST, NS_PER_SECOND, FakeClock, datetime_to_ns
from quant.core.control import KillSwitch
from quant.core.events import Candle, DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument
from quant.core.orders import OrderEvent, OrderStatus
from quant.core.symbols import InstrumentIndex
from quant.execution.engine import ExecutionEngine, NotCancellable, UnknownOrder
from quant.execution.paper_broker import PaperBroker
from quant.features.adapters import option_specs
from quant.trading.risk_limits import RejectReason
from quant.trading.squareoff import MisSquareOff
from quant.trading.strategy import (
    CancelRequest,
    Emission,
    Strategy,
    StrategyFailure,
    StrategyHost,
)

log = logging.getLogger(__name__)

NS_PER_MINUTE = 60 * NS_PER_SECOND
#: how often (simulated) the engine's timer runs besides its due points (queued sends, the
#: square-off): its daily-loss check (the service runs it every 100 ms; here once a minute,
#: as the timer's other work costs more than a tick's whole replay)
ENGINE_TIMER_NS = 60 * NS_PER_SECOND
#: ticks per feature-engine batch
TICK_BATCH = 4096
#: stored ticks are read this much time at a time
TICK_WINDOW_NS = 3600 * NS_PER_SECOND
#: order-event rounds in one settle before the run is declared runaway
MAX_SETTLE_ROUNDS = 100_000
_NEVER = 2**63 - 1
#: rejections that are the broker's or the process's, not the pre-trade risk checks'
_NOT_RISK = frozenset({RejectReason.BROKER_REJECTED.value, RejectReason.LOST_BEFORE_SEND.value})


class HistoryReader(Protocol):
    """What the replay reads: the tick store's candles and stored ticks."""

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]: ...

    def ticks_between(
        self, instrument_keys: Sequence[str], start_ns: int, end_ns: int
    ) -> list[Tick]: ...


class NoData(Exception):
    """The store has no history for the instruments and range asked for."""


class RunawayStrategy(Exception):
    """Orders and order events kept triggering each other without time passing."""


@dataclass
class BacktestResult:
    """What a run produced; money in paise."""

    trades: list[TradeRecord]
    equity: list[EquityPoint]
    fills: list[FillRow]
    order_events: list[OrderEvent]
    intents: int
    cancels: int
    risk_rejections: int
    rejections: dict[str, int]
    events: int
    days: int
    failures: list[StrategyFailure]
    charges: int
    initial_capital: int
    bars: list[Candle] = field(default_factory=list)

    @property
    def final_equity(self) -> int:
        return self.equity[-1].equity if self.equity else self.initial_capital

    @property
    def net_pnl(self) -> int:
        return self.final_equity - self.initial_capital


def ist_day_bounds(day: date) -> tuple[int, int]:
    """[00:00 IST of ``day``, 00:00 IST of the next day) in UTC ns."""
    start = datetime(day.year, day.month, day.day, tzinfo=IST)
    return datetime_to_ns(start), datetime_to_ns(start + timedelta(days=1))


def days_between(first: date, last: date) -> list[date]:
    n = (last - first).days + 1
    return [first + timedelta(days=i) for i in range(max(n, 0))]


class _Journal:
    """The order journal: in memory (the run's audit trail)."""

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []

    async def append(self, event: OrderEvent) -> None:
        self.events.append(event)

    async def append_many(self, events: Sequence[OrderEvent]) -> None:
        self.events.extend(events)

    async def since(self, ts_init: int) -> list[OrderEvent]:
        return [e for e in self.events if e.ts_init >= ts_init]


class _Outbox:
    """``orders.events``: what the engine publishes, handed to the host by the replay."""

    def __init__(self) -> None:
        self.pending: list[OrderEvent] = []

    def send(self, event: OrderEvent) -> None:
        self.pending.append(event)

    async def flush(self) -> None:
        return None


class _NoControl:
    async def publish(self, command: KillSwitch) -> None:
        return None


class Backtest:
    """One strategy over stored history; see the module docstring."""

    def __init__(
        self,
        strategy: Strategy[Any],
        params: Mapping[str, object] | BaseModel | None,
        instruments: Mapping[str, Instrument],
        config: BacktestConfig | None = None,
        *,
        keep_bars: int = 0,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> None:
        self.config = config or BacktestConfig()
        self._instruments = dict(sorted(instruments.items()))
        self._keys = list(self._instruments)
        self.clock = FakeClock()
        self.host = StrategyHost(
            self.clock,
            instruments=InstrumentIndex.build(self._instruments.values()),  # the run's symbols
        )
        cfg = self.config
        self.strategy_id = cfg.strategy_id or type(strategy).__name__.lower()
        self.host.add(
            strategy, strategy_id=self.strategy_id, params=params, algo_name=cfg.algo_name
        )
        self.ledger = Ledger(
            cfg.capital_paise,
            self._instruments.get,
            lambda k: i.trading_symbol if (i := self._instruments.get(k)) else "",
        )
        self._journal = _Journal()
        self._outbox = _Outbox()
        self._limits = cfg.risk.to_limits()
        self._square_off = MisSquareOff(at=cfg.square_off_at)
        self._engine: ExecutionEngine | None = None
        self._broker: PaperBroker | None = None
        self._engine_next = 0
        self._square_off_ns = 0
        self._due_cache = 0
        self._pending: dict[str, Tick] = {}
        self._held_bars: dict[str, tuple[Candle, int]] = {}
        self._keep_bars = set(self._keys[:keep_bars])
        self._bars: list[Candle] = []
        self._progress = progress
        self.events = 0
        self.intents = 0
        self.cancels = 0

    # --- the run ------------------------------------------------------------------------

    async def run(self, reader: HistoryReader, first: date, last: date) -> BacktestResult:
        """Replay ``first``..``last`` (IST days, both included); ``NoData`` if none."""
        days = days_between(first, last)
        self.host.start()
        traded = 0
        for i, day in enumerate(days):
            if await self._run_day(reader, day):
                traded += 1
            if self._progress is not None:
                self._progress(i + 1, len(days), self.events)
        self.host.stop()
        if traded == 0:
            raise NoData(f"no {self.config.data} between {first} and {last}")
        return self._result(traded)

    async def _run_day(self, reader: HistoryReader, day: date) -> bool:
        lo, hi = ist_day_bounds(day)
        if self.config.data == "bars":
            candles: list[Candle] = []
            for key in self._keys:
                candles.extend(
                    c for c in reader.candles(key, lo, hi, 60) if c.interval_seconds == 60
                )
            if not candles:
                return False
            candles.sort(key=lambda c: (c.ts_start, c.instrument_key))
            await self._open_day(day)
            await self._replay_bars(candles)
        else:
            chunks = self._tick_chunks(reader, lo, hi)
            first = next(chunks, None)
            if first is None:
                return False
            await self._open_day(day)
            await self._replay_ticks(itertools.chain([first], chunks))
        await self._advance(hi - 1)
        self.clock.set_ns(max(self.clock.now_ns(), hi - 1))
        await self._close_day(day)
        return True

    async def _replay_bars(self, candles: list[Candle]) -> None:
        keep, host, clock = self._keep_bars, self.host, self.clock
        held = self._held_bars
        on_candle, drain = host.on_candle, host.drain
        i, n = 0, len(candles)
        while i < n:
            start = candles[i].ts_start
            j = i
            while j < n and candles[j].ts_start == start:
                j += 1
            group = candles[i:j]
            i = j
            t = start + NS_PER_MINUTE
            if t >= self._due_cache:
                await self._advance(t)
            if t > clock.now_ns():
                clock.set_ns(t)
            broker = self._broker
            assert broker is not None
            working = broker.matcher.has_working
            fills = False
            for c in group:
                key = c.instrument_key
                if working(key):  # the new book can fill it now
                    self._market_tick(self._bar_tick(c, t))
                    fills = True
                else:  # its synthetic tick is made when an order needs it
                    held[key] = (c, t)
            if fills:
                await self._flow()
            for c in group:
                if c.instrument_key in keep:
                    self._bars.append(c)
                on_candle(c)
                emitted = drain()
                if emitted:
                    await self._flow(emitted)
            self.events += len(group)

    def _tick_chunks(self, reader: HistoryReader, lo: int, hi: int) -> Iterator[list[Tick]]:
        """The day's ticks an hour at a time (a day of many instruments is not held whole)."""
        for start in range(lo, hi, TICK_WINDOW_NS):
            ticks = reader.ticks_between(self._keys, start, min(start + TICK_WINDOW_NS, hi))
            if ticks:
                yield ticks

    async def _replay_ticks(self, chunks: Iterable[list[Tick]]) -> None:
        fe_clock = FakeClock()
        # options are priced as the feature service prices them (their underlying's ticks
        # must be replayed too, for the forward)
        features = FeatureEngine(fe_clock, options=option_specs(self._instruments.values()))
        host, clock = self.host, self.clock
        engine, broker = self._engine, self._broker
        assert engine is not None and broker is not None
        engine_tick, broker_tick = engine.on_tick, broker.on_tick
        has_working = broker.matcher.has_working
        pending = self._pending
        on_tick, on_enriched, drain = host.on_tick, host.on_enriched, host.drain
        # the feature engine's closed candles per instrument, oldest first: each goes to the
        # host right after the tick of its instrument that closed it
        closing: dict[str, list[Candle]] = {}
        batches = (c[b : b + TICK_BATCH] for c in chunks for b in range(0, len(c), TICK_BATCH))
        for batch in batches:
            fe_clock.set_ns(batch[-1].ts_event)
            enriched, closed = features.process(batch)
            for c in sorted(closed, key=lambda c: c.ts_start):
                closing.setdefault(c.instrument_key, []).append(c)
            now = clock.now_ns()
            for tick, et in zip(batch, enriched, strict=True):
                t = tick.ts_event
                if t >= self._due_cache:
                    await self._advance(t)
                    now = clock.now_ns()
                if t > now:
                    clock.set_ns(t)
                    now = t
                key = tick.instrument_key
                if has_working(key):  # the new book can fill it
                    engine_tick(tick)
                    broker_tick(tick)
                    on_tick(tick)
                    on_enriched(et)
                    emitted = drain()
                    if emitted or broker.pending_updates:
                        await self._flow(emitted)
                else:
                    pending[key] = tick  # the book matters once an order is placed
                    on_tick(tick)
                    on_enriched(et)
                    emitted = drain()
                    if emitted:
                        await self._flow(emitted)
                if closing:
                    done = closing.get(key)
                    if done is not None and done[0].ts_start + NS_PER_MINUTE <= t:
                        await self._deliver_candles(closing, key, t)
            self.events += len(batch)
        for c in features.flush():  # the day's last candles: at the end of the data
            closing.setdefault(c.instrument_key, []).append(c)
        for key in sorted(closing):
            await self._deliver_candles(closing, key, _NEVER)

    async def _deliver_candles(self, closing: dict[str, list[Candle]], key: str, t: int) -> None:
        """Hand the host ``key``'s candles that ended by ``t`` (as the feature service
        publishes a candle after the tick that closed it)."""
        queue = closing[key]
        keep, host = self._keep_bars, self.host
        i = 0
        for c in queue:
            if c.ts_start + NS_PER_MINUTE > t:
                break
            i += 1
            if key in keep:
                self._bars.append(c)
            host.on_candle(c)
            emitted = host.drain()
            if emitted:
                await self._flow(emitted)
        if i == len(queue):
            del closing[key]
        else:
            closing[key] = queue[i:]

    # --- time -----------------------------------------------------------------------------

    def _next_due(self, now: int) -> int | None:
        """The earliest thing due after ``now``: timers and bars, paper latency, queued
        sends, the square-off."""
        due: list[int] = []
        host_due = self.host.next_due_ns()
        if host_due is not None:
            due.append(host_due)
        broker, engine = self._broker, self._engine
        if broker is not None:
            eligible = broker.matcher.next_eligible_ns(now)
            if eligible is not None:
                due.append(eligible)
        if engine is not None and engine.queue_depth():
            due.append(max(self._engine_next, now + 1))
        if self._square_off_ns and self._square_off_ns >= now:
            due.append(self._square_off_ns)
        return min(due) if due else None

    async def _advance(self, t: int) -> None:
        """Step the clock through everything due before ``t`` (each at its own time)."""
        clock = self.clock
        while True:
            now = clock.now_ns()
            due = self._next_due(now)
            if due is None or due >= t:
                break
            if due > now:
                clock.set_ns(due)
            self.host.on_time()
            await self._timers()
            await self._flow()
        if self._engine is not None and self._engine_next < t:  # the engine's own timer
            if self._engine_next > clock.now_ns():
                clock.set_ns(self._engine_next)
            await self._timers()
            await self._flow()
        # the tick loop calls again only from here on: what is due (a timer set later by a
        # callback that emitted nothing is seen at the next of these points)
        due = self._next_due(clock.now_ns())
        self._due_cache = min(_NEVER if due is None else due, self._engine_next)

    def _hand_over(self, only: set[str] | None = None) -> None:
        """The latest tick of each instrument whose ticks were held back (no order of its
        was working) to the engine and the paper broker: their marks, risk quotes and
        books are then what they would be had every tick gone to them (a book without
        working orders only replaces the one held)."""
        engine, broker = self._engine, self._broker
        assert engine is not None and broker is not None
        held, pending = self._held_bars, self._pending
        if only is not None:
            for key in sorted(only):
                bar = held.pop(key, None)
                tick = self._bar_tick(*bar) if bar is not None else pending.pop(key, None)
                if tick is not None:
                    engine.on_tick(tick)
                    broker.on_tick(tick)
            return
        for c, t in held.values():
            tick = self._bar_tick(c, t)
            engine.on_tick(tick)
            broker.on_tick(tick)
        held.clear()
        for tick in pending.values():
            engine.on_tick(tick)
            broker.on_tick(tick)
        pending.clear()

    def _working_instruments(self) -> set[str]:
        broker = self._broker
        return (
            set() if broker is None else {o.intent.instrument_key for o in broker.matcher.working()}
        )

    async def _timers(self) -> None:
        if self._pending or self._held_bars:  # marks and quotes of what is held or working
            self._hand_over(self.ledger.held_instruments() | self._working_instruments())
        now = self.clock.now_ns()
        if self._broker is not None:
            self._broker.on_time()
        square_off = self._square_off_ns
        if self._engine is not None and (
            now >= self._engine_next or (square_off and now >= square_off)
        ):
            await self._engine.on_time()
            self._engine_next = now + ENGINE_TIMER_NS
            if square_off and now >= square_off:
                self._square_off_ns = 0

    # --- orders -----------------------------------------------------------------------------

    async def _flow(self, emitted: list[Emission] | None = None) -> None:
        """Intents to the engine, broker updates to the engine, order events to the host,
        until nothing moves (``emitted``: what the caller already drained from the host)."""
        engine, broker, host = self._engine, self._broker, self.host
        assert engine is not None and broker is not None
        if self._pending or self._held_bars:
            self._hand_over()
        for _ in range(MAX_SETTLE_ROUNDS):
            moved = False
            emissions = host.drain()
            if emitted:
                emissions, emitted = emitted + emissions, None
            for emission in emissions:
                moved = True
                command = emission.command
                if isinstance(command, CancelRequest):
                    self.cancels += 1
                    try:
                        await engine.cancel(command.client_order_id)
                    except (UnknownOrder, NotCancellable) as e:
                        log.debug("cancel of %s: %s", command.client_order_id, e)
                else:
                    self.intents += 1
                    await engine.submit(command)
            for update in broker.take_updates():
                moved = True
                await engine.on_broker_update(update)
            events = self._outbox.pending
            if events:
                moved = True
                self._outbox.pending = []
                for event in events:
                    self.ledger.on_event(event)
                    host.on_order_event(event)
            if not moved:
                return
            self._due_cache = 0  # orders and callbacks may have set something due
        raise RunawayStrategy(
            f"orders and order events kept coming for {MAX_SETTLE_ROUNDS} rounds at "
            f"{self.clock.now_ns()} without time passing"
        )

    def _market_tick(self, tick: Tick) -> None:
        assert self._engine is not None and self._broker is not None
        self._engine.on_tick(tick)
        self._broker.on_tick(tick)

    def _bar_tick(self, c: Candle, t: int) -> Tick:
        inst = self._instruments.get(c.instrument_key)
        step = (inst.tick_size_paise if inst is not None else 0) or 5
        half = self.config.half_spread_ticks * step
        q = self.config.bar_depth_quantity
        bid = max(c.close - half, step)
        return Tick(
            c.instrument_key,
            FeedMode.FULL,
            t,
            t,
            c.close,
            t,
            0,
            0,
            c.volume,
            0,
            c.oi,
            0,
            0,
            (DepthLevel(bid, q, c.close + half, q),),
        )

    # --- days -------------------------------------------------------------------------------

    async def _open_day(self, day: date) -> None:
        cfg = self.config
        self._broker = PaperBroker(self.clock, cfg.paper.to_config())
        self._engine = ExecutionEngine(
            clock=self.clock,
            broker=self._broker,
            journal=self._journal,
            publisher=self._outbox,
            control=_NoControl(),
            instruments=self._instruments.get,
            limits=self._limits,
            limiter=cfg.rate.to_limiter(),
            mode="paper",
            algo_names={self.strategy_id: cfg.algo_name} if cfg.algo_name else {},
            default_algo_name=cfg.algo_name,
            square_off=MisSquareOff(at=cfg.square_off_at),
        )
        day_start, _ = ist_day_bounds(day)
        self.clock.set_ns(max(self.clock.now_ns(), day_start))
        await self._engine.recover(since_ns=day_start)
        window = self._square_off.square_off_at(day)
        self._square_off_ns = window[0] if window is not None else 0
        self._engine_next = 0
        self._due_cache = 0

    async def _close_day(self, day: date) -> None:
        engine = self._engine
        assert engine is not None
        self._hand_over()
        for order in list(engine.orders(limit=1_000_000)):
            if not order.is_terminal and order.status is not OrderStatus.CANCEL_PENDING:
                try:
                    await engine.cancel(order.client_order_id)
                except (UnknownOrder, NotCancellable) as e:
                    log.debug("end of day: cancel of %s: %s", order.client_order_id, e)
        await self._flow()
        for key, price in sorted(engine.marks().items()):
            self.ledger.mark(key, price)
        self.ledger.close_day(day)
        self._engine = None
        self._broker = None
        self._square_off_ns = 0

    def _result(self, days: int) -> BacktestResult:
        events = self._journal.events
        rejections: dict[str, int] = {}
        for e in events:
            if e.status is OrderStatus.REJECTED:
                reason = e.reason or "UNSPECIFIED"
                rejections[reason] = rejections.get(reason, 0) + 1
        risk = sum(n for r, n in rejections.items() if r not in _NOT_RISK)
        return BacktestResult(
            # what is still held is closed at its last price, so every position is a trade
            trades=[*self.ledger.trades, *self.ledger.close_open(self.clock.now_ns())],
            equity=list(self.ledger.equity),
            fills=list(self.ledger.fills),
            order_events=list(events),
            intents=self.intents,
            cancels=self.cancels,
            risk_rejections=risk,
            rejections=dict(sorted(rejections.items())),
            events=self.events,
            days=days,
            failures=self.host.failures,
            charges=self.ledger.charges,
            initial_capital=self.ledger.capital,
            bars=sorted(self._bars, key=lambda c: (c.instrument_key, c.ts_start)),
        )
