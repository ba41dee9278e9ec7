"""The execution service: the engine between the bus, the broker and its HTTP API.

:class:`ExecutionService` is the runtime's ``execution`` service (built by
:func:`quant.execution.main.build`, for ``quant execution`` and ``quant up``). Each run:

1. loads the instrument master, opens the broker (:class:`~quant.execution.main.Brokers`:
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
   kill switches, the latest ticks (a group of this run's own, from the end of the log:
   marks, risk quotes and the paper broker's book), the broker's order updates, and a
   timer (``timer_interval_s``) for the engine's and the paper broker's clocks.

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
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol, cast

from quant.bus import codecs, topics
from quant.bus.codec_marketdata import decode_ticks
from quant.bus.errors import CommitError
from quant.bus.port import Consumer, Received
from quant.core.control import ControlState, KillSwitch, latest_per_key
from quant.core.events import Tick
from quant.core.instruments import Instrument
from quant.execution.adapters import BusControlPublisher, BusEventPublisher, StoreJournal
from quant.execution.api import auth_failures_counter, create_app
from quant.execution.engine import ExecutionEngine
from quant.execution.metrics import ExecutionMetrics, ServiceMetrics
from quant.execution.settings import ExecutionSettings
from quant.runtime.blocking import run_blocking
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.http_server import embedded_server, wait_started
from quant.runtime.service import Readiness
from quant.trading.broker import Broker, BrokerOrder
from quant.trading.errors import TradingError
from quant.trading.squareoff import MisSquareOff
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher

log = logging.getLogger(__name__)

POLL_S = 0.2
INTENT_BATCH = 100
TICK_BATCH = 5000
PNL_EVERY_S = 1.0


class MarketFed(Protocol):
    """A broker that needs the market and the time (the paper broker)."""

    def on_tick(self, tick: Tick) -> object: ...

    def on_time(self) -> object: ...


#: opens the run's broker (and closes it on exit); see :mod:`quant.execution.main`
OpenBroker = Callable[[], contextlib.AbstractAsyncContextManager[Broker]]


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
        on_serving: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._deps = deps
        self._open_broker = open_broker
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
            async with self._open_broker() as broker:
                await self._run_with(broker, by_key.get, stop)
        finally:
            self._ready = False
            self._phase = "stopped"

    def _engine(
        self, broker: Broker, instruments: Callable[[str], Instrument | None]
    ) -> ExecutionEngine:
        s, deps = self._settings, self._deps
        publisher = deps.bus.publisher()
        return ExecutionEngine(
            clock=deps.clock,
            broker=broker,
            journal=StoreJournal(self._store),
            publisher=BusEventPublisher(publisher),
            control=BusControlPublisher(publisher),
            instruments=instruments,
            limits=s.risk.to_limits(),
            limiter=s.rate.to_limiter(),
            mode=s.mode,
            algo_names=dict(s.algo_names),
            default_algo_name=s.default_algo_name,
            square_off=MisSquareOff(at=s.square_off_at),
            metrics=self._engine_metrics,
        )

    async def _run_with(
        self,
        broker: Broker,
        instruments: Callable[[str], Instrument | None],
        stop: asyncio.Event,
    ) -> None:
        s, bus = self._settings, self._deps.bus
        bus.ensure_topics(topics.ALL_TOPICS)
        engine = self._engine(broker, instruments)
        self.engine = engine
        app = create_app(
            engine, self._users, clock=self._deps.clock, auth_failures=self._auth_failures
        )
        server = embedded_server(app, s.api_host, s.api_port)
        run_id = uuid.uuid4().hex[:12]
        intents = bus.consumer(s.intents_group, [topics.INTENTS.name])
        control = bus.consumer(f"{s.control_group}-{run_id}", [topics.CONTROL.name])
        ticks = bus.consumer(f"{s.ticks_group}-{run_id}", [topics.TICKS.name], from_end=True)
        market = _market_fed(broker)
        try:
            async with asyncio.TaskGroup() as tg:
                http = tg.create_task(server.serve(), name="execution-http")
                await wait_started(server, http)
                url = f"http://{s.api_host}:{server.bound_port}"
                log.info("execution API on %s (%s mode)", url, s.mode)
                if self._on_serving is not None:
                    self._on_serving(url)
                self._phase = "recovering orders and positions from the journal"
                report = await engine.recover()
                self.metrics.recoveries_total.inc()
                log.info("recovered: %s", report)
                self._phase = "reading the kill switches on control.commands"
                applied = await catch_up_control(
                    engine, control, self.metrics, quiet_s=s.control_catchup_s
                )
                log.info("kill switches in force at start: %d", applied)
                loops: list[asyncio.Task[None]] = [
                    http,
                    tg.create_task(
                        consume_intents(engine, intents, self.metrics), name="execution-intents"
                    ),
                    tg.create_task(
                        consume_control(engine, control, self.metrics), name="execution-control"
                    ),
                    tg.create_task(
                        consume_ticks(engine, market, ticks, self.metrics), name="execution-ticks"
                    ),
                    tg.create_task(
                        follow_broker(engine, broker.updates()), name="execution-broker"
                    ),
                    tg.create_task(
                        run_timer(engine, market, s.timer_interval_s, self._engine_metrics),
                        name="execution-timer",
                    ),
                ]
                self._ready = True
                stopper = tg.create_task(stop.wait(), name="execution-stop")
                await asyncio.wait({stopper, *loops}, return_when=asyncio.FIRST_COMPLETED)
                self._ready = False
                stopper.cancel()
                server.should_exit = True
                for task in loops[1:]:
                    task.cancel()
                if not stop.is_set():
                    for task in loops:
                        if task.done() and not task.cancelled() and task.exception():
                            raise RuntimeError(f"{task.get_name()} failed") from task.exception()
                    raise RuntimeError("a loop of the execution service ended on its own")
        finally:
            server.should_exit = True
            for consumer in (intents, control, ticks):
                with contextlib.suppress(Exception):
                    consumer.close()  # leaves its group at once: uncommitted ones redeliver


def _market_fed(broker: object) -> MarketFed | None:
    """``broker`` if it takes ticks and time (the paper broker), else ``None``."""
    if callable(getattr(broker, "on_tick", None)) and callable(getattr(broker, "on_time", None)):
        return cast(MarketFed, broker)
    return None


# --- the loops ---------------------------------------------------------------------------


async def consume_intents(
    engine: ExecutionEngine, consumer: Consumer, metrics: ServiceMetrics
) -> None:
    """Submit each intent of ``orders.intents``; commit a batch once the engine took it."""
    while True:
        messages = await run_blocking(consumer.poll, INTENT_BATCH, POLL_S)
        if not messages:
            continue
        for msg in messages:
            await submit_one(engine, msg, metrics)
        try:
            await run_blocking(consumer.commit)
        except CommitError as e:  # redelivered later: the engine finds the orders it made
            log.warning("orders.intents: offset commit failed (redelivery is harmless): %s", e)


async def submit_one(engine: ExecutionEngine, msg: Received, metrics: ServiceMetrics) -> None:
    """Decode and submit one intent; a bad one is logged and counted, never raised."""
    where = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
    try:
        message = codecs.decode_intent(msg.value())
    except codecs.CodecError as e:
        metrics.bad_messages_total.labels(topics.INTENTS.name).inc()
        log.error("orders.intents: skipped the message at %s: %s", where, e)
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
    engine: ExecutionEngine, consumer: Consumer, metrics: ServiceMetrics, *, quiet_s: float
) -> int:
    """Read ``control.commands`` up to its end and apply the latest kill switch per scope.

    The end is the first empty poll after messages came; with none at all, ``quiet_s`` of
    empty polls (a new group's first fetch waits for the broker to assign it the partition).
    Returns how many kill switches were applied.
    """
    state = ControlState()
    seen = False
    deadline = time.monotonic() + quiet_s
    while True:
        messages = await run_blocking(consumer.poll, 1000, POLL_S)
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
    engine: ExecutionEngine, consumer: Consumer, metrics: ServiceMetrics
) -> None:
    """Apply the kill switches published from now on (latest per scope of each poll)."""
    while True:
        messages = await run_blocking(consumer.poll, 1000, POLL_S)
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
) -> None:
    """Feed the latest tick per instrument of each poll to the engine (and paper broker)."""
    while True:
        messages = await run_blocking(consumer.poll, TICK_BATCH, POLL_S)
        if not messages:
            continue
        latest: dict[bytes | None, Received] = {}
        for msg in messages:  # keyed by instrument: the last one of each is the newest
            latest[msg.key()] = msg
        for item in decode_ticks([m.value() for m in latest.values()]):
            if isinstance(item, codecs.CodecError):
                metrics.bad_messages_total.labels(topics.TICKS.name).inc()
                log.debug("market.equity.ticks: skipped an undecodable tick: %s", item)
                continue
            engine.on_tick(item)
            if market is not None:
                await _maybe_await(market.on_tick(item))


async def follow_broker(engine: ExecutionEngine, updates: AsyncIterator[BrokerOrder]) -> None:
    """Hand every order update of the broker to the engine."""
    async for update in updates:
        await engine.on_broker_update(update)
    raise RuntimeError("the broker's order updates ended")


async def run_timer(
    engine: ExecutionEngine,
    market: MarketFed | None,
    every_s: float,
    metrics: ExecutionMetrics | None = None,
) -> None:
    """Let time pass for the paper broker and the engine every ``every_s``; export the
    account's P&L about once a second."""
    every = max(1, round(PNL_EVERY_S / every_s))
    n = 0
    while True:
        await asyncio.sleep(every_s)
        if market is not None:
            await _maybe_await(market.on_time())
        await engine.on_time()
        n += 1
        if metrics is not None and n % every == 0:
            pnl = engine.pnl()
            metrics.pnl(pnl.realised, pnl.unrealised, pnl.charges)
