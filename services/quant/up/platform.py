"""Composition root of ``quant up``: simulator, ingestor, feature engine and gateway in one loop.

:func:`run_platform` builds every component on the in-process bus and the embedded stores
(SQLite files under ``data_dir``) and runs them in one ``asyncio.TaskGroup``:

1. the Upstox simulator (:class:`quant.sim.server.SimServer`) on a free port, with a
   token minted for its one user;
2. the simulator's instrument master, downloaded and parsed; it builds the in-memory
   symbol index the components resolve with, and is upserted into the relational store
   in a worker thread while the services start (it is not on the first quote's path);
3. the ingestor (feed sockets to the simulator) subscribed to the configured universe;
4. the feature service (consumer group ``features``) writing to the tick store;
5. the gateway: its read model fed from the bus and the FastAPI app on ``gateway.port``.

Shutdown (``stop`` set by SIGINT/SIGTERM) is ordered so nothing accepted is lost: the
ingestor stops and flushes, the feature service drains what is already on the bus,
writes and checkpoints, then the gateway and the simulator stop and the stores close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta

from prometheus_client import CollectorRegistry

from quant.analytics.engine import FeatureEngine
from quant.blocking import run_blocking
from quant.bus import topics
from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, SystemClock, ns_to_datetime
from quant.core.events import FeedMode
from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.features.adapters import AnalyticsEngine, StoreSink, option_specs
from quant.features.metrics import FeatureMetrics
from quant.features.service import INPUT_TOPICS, FeatureService, FeatureServiceConfig
from quant.features.snapshots import MemorySnapshotStore
from quant.gateway.app import create_app
from quant.gateway.deps import GatewayPorts
from quant.gateway.feeder import FEED_TOPICS, feed_read_model
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.server import embedded_server, wait_started
from quant.ingestor.feed_adapter import UpstoxFeedSocket
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import Ingestor
from quant.ingestor.subscriptions import FeedLimits, SubscriptionBook
from quant.ingestor.universe import ModePolicy, Universe, resolve_universe
from quant.sim.config import SimConfig, default_start
from quant.sim.server import SimServer
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.sync.service import apply_master, validate_master
from quant.up.settings import UpSettings
from quant.upstox.config import FeedConfig
from quant.upstox.feed import UpstoxFeedClient
from quant.upstox.instruments import UpstoxInstrumentSource

log = logging.getLogger(__name__)


class _Readiness:
    def __init__(self, state: LiveMarketState, tasks: Sequence[asyncio.Task[None]]) -> None:
        self._state = state
        self._tasks = tasks

    def ready(self) -> tuple[bool, list[str]]:
        reasons = [f"{t.get_name()} stopped" for t in self._tasks if t.done()]
        if self._state.instruments_seen() == 0:
            reasons.append("no market data yet")
        return not reasons, reasons


def _quiet(phase: str, done: int, total: int) -> None:
    del phase, done, total


def _sim_config(settings: UpSettings, clock: SystemClock) -> SimConfig:
    today = ns_to_datetime(clock.now_ns(), IST).date()
    pre_open = default_start(today)  # 09:14 IST on the next trading day
    start = pre_open + timedelta(minutes=1 + settings.sim_start_minutes_after_open)
    return SimConfig(seed=settings.sim_seed, speed=settings.sim_speed, start=start, port=0)


async def run_platform(
    settings: UpSettings,
    stop: asyncio.Event,
    announce: Callable[[str], None],
    *,
    handle_signals: bool = True,
) -> None:
    """Run everything until ``stop`` is set (or a component fails), then shut down cleanly."""
    clock = SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with SimServer(_sim_config(settings, clock)) as sim:
        if handle_signals:  # after the simulator's uvicorn installed its own handlers
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        instruments = await UpstoxInstrumentSource(sim.base_url).fetch(_quiet)
        validate_master(instruments, min_rows=1)
        relational = SqliteRelationalStore(settings.data_dir / "relational.sqlite").open()
        tick_store = SqliteTickStore(settings.data_dir / "ticks.sqlite").open()
        try:
            await _run_services(
                settings, sim, instruments, relational, tick_store, stop, announce, clock
            )
        finally:
            tick_store.close()
            relational.close()
    log.info("quant up: stopped")


async def _run_services(
    settings: UpSettings,
    sim: SimServer,
    instruments: list[Instrument],
    relational: SqliteRelationalStore,
    tick_store: SqliteTickStore,
    stop: asyncio.Event,
    announce: Callable[[str], None],
    clock: SystemClock,
) -> None:
    index = InstrumentIndex.build(instruments)
    universe = _universe(settings, index)
    today = ns_to_datetime(clock.now_ns(), IST).date()
    registry = CollectorRegistry()
    bus = InProcessBus()
    token = sim.mint_token()
    feed_config = FeedConfig(api_base=sim.base_url)
    n = settings.feed_connections
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                UpstoxFeedClient(lambda: token, feed_config, clock=clock)
            )
            for _ in range(n)
        ]
        ingestor = Ingestor(
            sockets=[UpstoxFeedSocket(c) for c in clients],
            book=SubscriptionBook(FeedLimits(), connections=n),
            publisher=bus.publisher(),
            metrics=IngestorMetrics(registry),
            clock=clock,
            control=bus.consumer(
                "ingestor-control", [topics.CONTROL.name, topics.SUGGESTIONS.name]
            ),
        )
        specs = option_specs(_priced_options(index, universe))
        engine = FeatureEngine(clock, options=specs)
        features = FeatureService(
            consumer=bus.consumer("features", INPUT_TOPICS),
            publisher=bus.publisher(),
            engine=AnalyticsEngine(engine),
            sink=StoreSink(tick_store),
            snapshots=MemorySnapshotStore(),  # the in-process bus does not outlive the process
            metrics=FeatureMetrics(registry),
            clock=clock,
            config=FeatureServiceConfig(drain_s=1.0),
            underlyings={key: spec.underlying_key for key, spec in specs.items()},
        )
        state = LiveMarketState()
        tasks: list[asyncio.Task[None]] = []
        ports = GatewayPorts(state, index, _Readiness(state, tasks), registry)
        server = embedded_server(
            create_app(settings.gateway, ports), settings.gateway.host, settings.gateway.port
        )
        async with asyncio.TaskGroup() as tg:
            # the relational store is not on the path of the first quote: fill it meanwhile
            t_sync = tg.create_task(
                run_blocking(apply_master, relational, instruments, today=today, progress=_quiet),
                name="instrument-sync",
            )
            t_ingest = tg.create_task(ingestor.run(), name="ingestor")
            t_features = tg.create_task(features.run(), name="features")
            t_feed = tg.create_task(
                feed_read_model(state, bus.consumer("gateway", FEED_TOPICS)), name="gateway-feed"
            )
            t_http = tg.create_task(server.serve(), name="gateway-http")
            tasks.extend([t_ingest, t_features, t_feed, t_http])
            for mode, keys in universe.by_mode().items():
                change = await ingestor.subscribe(keys, mode)
                log.info("subscribed %d in %s", len(keys) - len(change.refused), mode.wire_name)
            await wait_started(server, t_http)
            announce(f"http://{settings.gateway.host}:{server.bound_port}")
            log.info("instruments: %s", (await t_sync).line())
            await stop.wait()
            log.info("quant up: stopping")
            for task in (t_ingest, t_features, t_feed):  # in this order: nothing is lost
                task.cancel()
                await asyncio.wait([task])
            server.should_exit = True


def _universe(settings: UpSettings, index: InstrumentIndex) -> Universe:
    policy = ModePolicy(
        equity=FeedMode.from_wire(settings.equity_mode),
        option=FeedMode.from_wire(settings.option_mode),
    )
    universe = resolve_universe(settings.universe, index, policy)
    if universe.unresolved:
        log.warning("universe entries not in the instrument master: %s", universe.unresolved)
    return universe


def _priced_options(index: InstrumentIndex, universe: Universe) -> list[Instrument]:
    """Options the engine prices: every option on an underlying of the universe.

    (Registering all ~20k options of the master would cost startup time for nothing:
    only subscribed options tick.)
    """
    underlyings: set[str] = set()
    for key in universe.modes:
        inst = index.get(key)
        if inst is not None:
            underlyings.add(inst.underlying_key if inst.is_option else key)
    return [o for u in sorted(underlyings) for o in index.option_chain(u)]
