"""The execution service: the engine between the bus, the broker and its HTTP API.

:class:`ExecutionService` is the runtime's ``execution`` service (built by
:func:`quant.execution.main.build`, for ``quant execution`` and ``quant up``). Each run:

1. loads the instrument master, opens the broker (chosen in :mod:`quant.execution.main`:
   the paper broker, or Upstox in live mode) and builds the engine over the journal
   (``executed_orders``), ``orders.events`` and ``control.commands``;
2. serves the execution API (``api_host``/``api_port``; orders answer 503 until ready);
3. runs :meth:`ExecutionEngine.recover` (orders, fills and positions rebuilt from the
   journal, reconciled with the broker) and reads ``control.commands`` from the
   beginning under a group of this run's own, applying the latest kill switch per scope:
   a halt survives a restart. Only then is it ready, and only then are intents read;
4. then, concurrently: ``orders.intents`` (group ``intents_group``; offsets committed
   only after the engine took each intent, so a crash redelivers it and the engine's
   (strategy, day, sequence) idempotency finds the order it already made), later
   kill switches, the ticks (a group of this run's own, from the end of the log: every
   tick, in order, to the paper broker's book, so a LIMIT order sees each trade print;
   the latest per instrument of a poll to the engine's marks and risk quotes), the
   broker's order updates, and a timer (``timer_interval_s``) for the engine's and the
   paper broker's clocks.

Latency (``bench/bench_intent_ack.py``): each consumer polls in a thread of its own (a
:class:`~quant.runtime.blocking.Lane`: a blocking poll never holds a worker the journal or
the publisher needs), the journal and the order-event flushes have their own threads too
(:mod:`quant.execution.adapters`), and the start-up heap is frozen out of the cyclic
GC once recovered (:func:`~quant.runtime.heap.freeze_startup_heap`), and the timer keeps
freezing what survives (:class:`~quant.runtime.heap.HeapKeeper`).

``orders.intents`` also carries cancel requests (a strategy's ``ctx.cancel``): the order
they name is cancelled if it belongs to that strategy and is still working
(:func:`cancel_one`); otherwise the request is logged and skipped.

A message that cannot be decoded or that the engine refuses as invalid is logged, counted
(``quant_execution_bad_messages_total{topic}``) and skipped (its offset committed): one
bad message never stops the service. A failure of the journal, the bus or the broker ends
the run; the supervisor restarts it (uncommitted intents are redelivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, cast

from quant.bus import codecs, topics
from quant.bus.codec_marketdata import decode_ticks
from quant.bus.errors import CommitError
from quant.bus.port import Consumer, Publisher, Received
from quant.core.control import ControlState, KillSwitch, latest_per_key
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument
from quant.execution.adapters import BusControlPublisher, BusEventPublisher, StoreJournal
from quant.execution.api import auth_failures_counter, create_app
from quant.execution.engine import ExecutionEngine
from quant.execution.metrics import ExecutionMetrics, ServiceMetrics
from quant.execution.ports import QuoteSource, ReferenceQuote
from quant.execution.settings import ExecutionSettings
from quant.runtime.blocking import Lane, run_blocking
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.heap import HeapKeeper, freeze_startup_heap
from quant.runtime.http_server import embedded_server, wait_started
from quant.runtime.service import Readiness
from quant.trading.broker import Broker, BrokerOrder
from quant.trading.errors import TradingError
from quant.trading.squareoff import MisSquareOff
from quant.trading.strategy.commands import CancelRequest
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher

log = logging.getLogger(__name__)

POLL_S = 0.2
INTENT_BATCH = 100
TICK_BATCH = 5000
STOP_INTENTS_S = 10.0  # on stop, how long the intent being handled may take to finish


class MarketFed(Protocol):
    """A broker that needs the market and the time (the paper broker)."""

    def on_tick(self, tick: Tick) -> object: ...

    def on_time(self) -> object: ...


#: opens the run's broker (and closes it on exit); see :mod:`quant.execution.main`
OpenBroker = Callable[[], contextlib.AbstractAsyncContextManager[Broker]]
#: opens the run's source of circuit limits (REST full quotes); ``None`` inside: none
OpenQuotes = Callable[[], contextlib.AbstractAsyncContextManager[QuoteSource | None]]


@contextlib.asynccontextmanager
async def _no_quotes() -> AsyncIterator[QuoteSource | None]:
    yield None


async def _maybe_await(result: object) -> None:
    if inspect.isawaitable(result):
        await result


class ExecutionService:
    """The ``execution`` service; see the module docstring."""

    name = "execution"

    def __init__(
        self,
        settings: ExecutionSettings,
        deps: Deps,
        open_broker: OpenBroker,
        *,
        open_quotes: OpenQuotes | None = None,
        on_serving: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._deps = deps
        self._open_broker = open_broker
        self._open_quotes = open_quotes or _no_quotes
        self._on_serving = on_serving
        self._store = deps.need_relational("the execution service")
        self._engine_metrics = ExecutionMetrics(deps.registry)  # once: runs may restart
        self.metrics = ServiceMetrics(deps.registry)
        self._users = UserDirectory(self._store, Argon2Hasher(), cache_s=settings.key_cache_s)
        self._auth_failures = auth_failures_counter(deps.registry)
        self.engine: ExecutionEngine | None = None
        self._phase = "not started"
        self._ready = False

    def ready(self) -> Readiness:
        if self._ready:
            return True, ()
        return False, (self._phase,)

    async def run(self, stop: asyncio.Event) -> None:
        self._ready = False
        self._phase = "loading the instrument master"
        instruments = await load_instruments(self._deps, stop, self.name)
        if instruments is None:  # stopped while loading
            return
        by_key = {i.instrument_key: i for i in instruments}
        self._phase = f"opening the {self._settings.mode} broker"
        try:
            async with self._open_broker() as broker, self._open_quotes() as quotes:
                await self._run_with(broker, by_key.get, stop, quotes)
        finally:
            self._ready = False
            self._phase = "stopped"

    def _engine(
        self,
        broker: Broker,
        instruments: Callable[[str], Instrument | None],
        journal: StoreJournal,
        events: BusEventPublisher,
        publisher: Publisher,
        quotes: QuoteSource | None = None,
    ) -> ExecutionEngine:
        s, deps = self._settings, self._deps
        return ExecutionEngine(
            clock=deps.clock,
            broker=broker,
            journal=journal,
            publisher=events,
            control=BusControlPublisher(publisher),
            instruments=instruments,
            limits=s.risk.to_limits(),
            limiter=s.rate.to_limiter(),
            mode=s.mode,
            algo_names=dict(s.algo_names),
            default_algo_name=s.default_algo_name,
            square_off=MisSquareOff(at=s.square_off_at),
            metrics=self._engine_metrics,
            quotes=quotes,
            quote_wait_s=s.rest_quote_wait_s,
            quote_retry_s=s.rest_quote_retry_s,
        )

    async def _run_with(
        self,
        broker: Broker,
        instruments: Callable[[str], Instrument | None],
        stop: asyncio.Event,
        quotes: QuoteSource | None = None,
    ) -> None:
        s, bus = self._settings, self._deps.bus
        await run_blocking(bus.ensure_topics, topics.ALL_TOPICS)
        market = _market_fed(broker)
        if quotes is not None and market is not None:
            quotes = PaperBookFromQuotes(quotes, market)
        run_id = uuid.uuid4().hex[:12]
        consumers: list[Consumer] = []
        lanes = {name: Lane(f"execution-{name}") for name in ("intents", "control", "ticks")}
        publisher = bus.publisher()
        journal, events = StoreJournal(self._store), BusEventPublisher(publisher)
        try:
            engine = self._engine(broker, instruments, journal, events, publisher, quotes)
            self.engine = engine
            app = create_app(
                engine, self._users, clock=self._deps.clock, auth_failures=self._auth_failures
            )
            server = embedded_server(app, s.api_host, s.api_port)
            intents = bus.consumer(s.intents_group, [topics.INTENTS.name])
            consumers.append(intents)
            control = bus.consumer(f"{s.control_group}-{run_id}", [topics.CONTROL.name])
            consumers.append(control)
            ticks = bus.consumer(f"{s.ticks_group}-{run_id}", [topics.TICKS.name], from_end=True)
            consumers.append(ticks)
            await self._serve(engine, broker, market, server, intents, control, ticks, lanes, stop)
        finally:
            self._ready = False
            for consumer in consumers:
                with contextlib.suppress(Exception):
                    consumer.close()  # leaves its group at once: uncommitted ones redeliver
            for lane in lanes.values():
                lane.close()
            try:
                await run_blocking(publisher.close)  # delivers what the engine sent
            except Exception as e:
                log.warning("closing the order-event publisher failed: %s", e)
            finally:
                events.close()
                journal.close()

    async def _serve(
        self,
        engine: ExecutionEngine,
        broker: Broker,
        market: MarketFed | None,
        server: Any,
        intents: Consumer,
        control: Consumer,
        ticks: Consumer,
        lanes: Mapping[str, Lane],
        stop: asyncio.Event,
    ) -> None:
        s = self._settings
        try:
            async with asyncio.TaskGroup() as tg:
                http = tg.create_task(server.serve(), name="execution-http")
                await wait_started(server, http)
                url = f"http://{s.api_host}:{server.bound_port}"
                log.info("execution API on %s (%s mode)", url, s.mode)
                if self._on_serving is not None:
                    self._on_serving(url)
                self._phase = "recovering orders and positions from the journal"
                await engine.recover()  # it logs its report
                self.metrics.recoveries_total.inc()
                self._phase = "reading the kill switches on control.commands"
                applied = await catch_up_control(
                    engine,
                    control,
                    self.metrics,
                    quiet_s=s.control_catchup_s,
                    lane=lanes["control"],
                )
                log.info("kill switches in force at start: %d", applied)
                freeze_startup_heap()  # recovered: what is alive now lives on
                keeper = HeapKeeper(
                    freeze_every_s=s.gc_freeze_every_s, full_every_s=s.gc_full_every_s
                )
                loops: list[asyncio.Task[None]] = [
                    http,
                    tg.create_task(
                        consume_intents(
                            engine, intents, self.metrics, stop, lane=lanes["intents"], heap=keeper
                        ),
                        name="execution-intents",
                    ),
                    tg.create_task(
                        consume_control(engine, control, self.metrics, lane=lanes["control"]),
                        name="execution-control",
                    ),
                    tg.create_task(
                        consume_ticks(engine, market, ticks, self.metrics, lane=lanes["ticks"]),
                        name="execution-ticks",
                    ),
                    tg.create_task(
                        follow_broker(engine, broker.updates()), name="execution-broker"
                    ),
                    tg.create_task(
                        run_timer(engine, market, s.timer_interval_s, heap=keeper),
                        name="execution-timer",
                    ),
                ]
                self._ready = True
                stopper = tg.create_task(stop.wait(), name="execution-stop")
                await asyncio.wait({stopper, *loops}, return_when=asyncio.FIRST_COMPLETED)
                self._ready = False
                stopper.cancel()
                server.should_exit = True
                # the intent in hand is finished (journalled, sent, committed), not cut off
                await asyncio.wait([loops[1]], timeout=STOP_INTENTS_S)
                for task in loops[1:]:
                    task.cancel()
                if not stop.is_set():
                    for task in loops:
                        if task.done() and not task.cancelled() and task.exception():
                            raise RuntimeError(f"{task.get_name()} failed") from task.exception()
                    raise RuntimeError("a loop of the execution service ended on its own")
        finally:
            server.should_exit = True
            engine.cancel_quote_requests()


def quote_tick(q: ReferenceQuote) -> Tick:
    """A REST quote as the feed's tick (for the paper broker's book)."""
    depth = q.depth or (DepthLevel(q.best_bid, 0, q.best_ask, 0),)
    return Tick(q.instrument_key, FeedMode.FULL, q.ts_event, q.ts_event, q.ltp, depth=depth)


class PaperBookFromQuotes:
    """A ``QuoteSource`` that also gives each quote to the paper broker as a book, so a
    paper order for an instrument no tick comes for can fill against the REST quote's
    depth (while it is fresh: the paper broker's stale-book guard still applies)."""

    def __init__(self, source: QuoteSource, market: MarketFed) -> None:
        self._source = source
        self._market = market

    async def quotes(self, instrument_keys: Sequence[str]) -> Mapping[str, ReferenceQuote]:
        got = await self._source.quotes(instrument_keys)
        for q in got.values():
            await _maybe_await(self._market.on_tick(quote_tick(q)))
        return got


def _market_fed(broker: object) -> MarketFed | None:
    """``broker`` if it takes ticks and time (the paper broker), else ``None``."""
    if callable(getattr(broker, "on_tick", None)) and callable(getattr(broker, "on_time", None)):
        return cast(MarketFed, broker)
    return None


# --- the loops ---------------------------------------------------------------------------


def _runner(lane: Lane | None) -> Callable[..., Awaitable[Any]]:
    """Where a loop's blocking calls run: its own thread, else the default executor."""
    return run_blocking if lane is None else lane.run


async def consume_intents(
    engine: ExecutionEngine,
    consumer: Consumer,
    metrics: ServiceMetrics,
    stop: asyncio.Event | None = None,
    *,
    lane: Lane | None = None,
    heap: HeapKeeper | None = None,
) -> None:
    """Submit each intent of ``orders.intents``; commit a batch once the engine took it.
    Returns when ``stop`` is set, after committing what it submitted."""
    blocking = _runner(lane)
    while stop is None or not stop.is_set():
        messages = await blocking(consumer.poll, INTENT_BATCH, POLL_S)
        if not messages:
            continue
        if heap is not None:
            heap.touch()
        await engine.prefetch_quotes(_instrument_keys(messages))  # one request per batch
        for msg in messages:
            await submit_one(engine, msg, metrics)
        try:
            await blocking(consumer.commit)
        except CommitError as e:  # redelivered later: the engine finds the orders it made
            log.warning("orders.intents: offset commit failed (redelivery is harmless): %s", e)


def _instrument_keys(messages: Sequence[Received]) -> list[str]:
    """The instruments of the batch's intents (undecodable ones: left to ``submit_one``)."""
    keys: list[str] = []
    for msg in messages:
        with contextlib.suppress(codecs.CodecError):
            keys.append(codecs.decode_intent(msg.value()).intent.instrument_key)
    return keys


async def submit_one(engine: ExecutionEngine, msg: Received, metrics: ServiceMetrics) -> None:
    """Decode and submit one intent, or cancel the order a cancel request names; a bad one
    is logged and counted, never raised."""
    where = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
    try:
        message = codecs.decode_command(msg.value())
    except codecs.CodecError as e:
        metrics.bad_messages_total.labels(topics.INTENTS.name).inc()
        log.error("orders.intents: skipped the message at %s: %s", where, e)
        return
    if isinstance(message, CancelRequest):
        await cancel_one(engine, message, where)
        return
    try:
        submission = await engine.submit(message)
    except (TradingError, ValueError) as e:
        metrics.bad_messages_total.labels(topics.INTENTS.name).inc()
        log.error("orders.intents: the engine refused the intent at %s: %s", where, e)
        return
    if submission.rejected is not None:
        log.info(
            "intent %s of %s rejected: %s %s",
            submission.client_order_id,
            message.intent.strategy,
            submission.rejected.reason,
            submission.rejected.message,
        )


async def cancel_one(engine: ExecutionEngine, request: CancelRequest, where: str) -> None:
    """Cancel the order ``request`` names, if it is that strategy's and still working.

    An unknown order, another strategy's, or one already final (filled, cancelled: the
    cancel crossed its last event) is logged and skipped: the strategy hears of the
    order's real state on ``orders.events``, as it would of any refused cancel.
    """
    cid = request.client_order_id
    order = engine.order(cid)
    if order is None:
        log.warning(
            "orders.intents: cancel of %s by %s at %s: no such order", cid, request.strategy, where
        )
        return
    if order.intent.strategy != request.strategy:
        log.error(
            "orders.intents: cancel of %s by %s at %s refused: the order is %s's",
            cid,
            request.strategy,
            where,
            order.intent.strategy,
        )
        return
    try:
        await engine.cancel(cid)
    except TradingError as e:  # final, or a cancel already pending
        log.info("orders.intents: cancel of %s by %s not done: %s", cid, request.strategy, e)
        return
    log.info("order %s: cancel asked by strategy %s", cid, request.strategy)


def _kill_switches(messages: Sequence[Received], metrics: ServiceMetrics) -> list[KillSwitch]:
    """The batch's kill switches, the latest per scope (in the order those came)."""
    events = []
    for msg in messages:
        try:
            events.append(codecs.decode_control(msg.value()))
        except codecs.CodecError as e:
            metrics.bad_messages_total.labels(topics.CONTROL.name).inc()
            log.error("control.commands: skipped an undecodable message: %s", e)
    return [c for c in latest_per_key(events) if isinstance(c, KillSwitch)]


async def catch_up_control(
    engine: ExecutionEngine,
    consumer: Consumer,
    metrics: ServiceMetrics,
    *,
    quiet_s: float,
    lane: Lane | None = None,
) -> int:
    """Read ``control.commands`` up to its end and apply the latest kill switch per scope.

    The end is the first empty poll after messages came; with none at all, ``quiet_s`` of
    empty polls (a new group's first fetch waits for the broker to assign it the partition).
    Returns how many kill switches were applied.
    """
    state = ControlState()
    seen = False
    deadline = time.monotonic() + quiet_s
    blocking = _runner(lane)
    while True:
        messages = await blocking(consumer.poll, 1000, POLL_S)
        if messages:
            seen = True
            for command in _kill_switches(messages, metrics):
                state.apply(command)
            continue
        if seen or time.monotonic() >= deadline:
            break
    switches = list(state.kill_switches().values())
    for command in switches:
        await engine.on_kill_switch(command)
    return len(switches)


async def consume_control(
    engine: ExecutionEngine,
    consumer: Consumer,
    metrics: ServiceMetrics,
    *,
    lane: Lane | None = None,
) -> None:
    """Apply the kill switches published from now on (latest per scope of each poll)."""
    blocking = _runner(lane)
    while True:
        messages = await blocking(consumer.poll, 1000, POLL_S)
        for command in _kill_switches(messages, metrics):
            log.info(
                "kill switch %s%s for %s: %s",
                "engaged" if command.engaged else "released",
                " with flatten" if command.flatten else "",
                command.strategy or "the account",
                command.reason,
            )
            await engine.on_kill_switch(command)


async def consume_ticks(
    engine: ExecutionEngine,
    market: MarketFed | None,
    consumer: Consumer,
    metrics: ServiceMetrics,
    *,
    lane: Lane | None = None,
) -> None:
    """Feed every tick of each poll, in order, to the paper broker (a LIMIT order must see
    each trade print), and the latest one per instrument to the engine (marks, quotes)."""
    blocking = _runner(lane)
    while True:
        messages = await blocking(consumer.poll, TICK_BATCH, POLL_S)
        if not messages:
            continue
        if market is None:  # only the engine: the latest per instrument will do
            latest: dict[bytes | None, Received] = {}
            for msg in messages:  # keyed by instrument: the last one of each is the newest
                latest[msg.key()] = msg
            messages = list(latest.values())
        newest: dict[str, Tick] = {}
        for item in decode_ticks([m.value() for m in messages]):
            if isinstance(item, codecs.CodecError):
                metrics.bad_messages_total.labels(topics.TICKS.name).inc()
                log.debug("market.equity.ticks: skipped an undecodable tick: %s", item)
                continue
            newest[item.instrument_key] = item
            if market is not None:
                await _maybe_await(market.on_tick(item))
        for tick in newest.values():
            engine.on_tick(tick)


async def follow_broker(engine: ExecutionEngine, updates: AsyncIterator[BrokerOrder]) -> None:
    """Hand every order update of the broker to the engine."""
    async for update in updates:
        await engine.on_broker_update(update)
    raise RuntimeError("the broker's order updates ended")


async def run_timer(
    engine: ExecutionEngine,
    market: MarketFed | None,
    every_s: float,
    *,
    heap: HeapKeeper | None = None,
) -> None:
    """Let time pass for the paper broker and the engine every ``every_s`` (the engine's
    ``on_time`` also exports the day's P&L), and let ``heap`` freeze what survived."""
    while True:
        await asyncio.sleep(every_s)
        if heap is not None:
            heap.on_timer()
        if market is not None:
            await _maybe_await(market.on_time())
        await engine.on_time()
