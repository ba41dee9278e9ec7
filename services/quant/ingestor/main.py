"""The ingestor's composition: ``build(settings, deps)`` -> the ``ingestor`` service.

:class:`IngestorService` loads the instrument master from ``deps.instruments`` (the
relational store in the cluster), resolves the configured universe and runs
:func:`run_ingestor`: feed clients to Upstox (or the simulator) with the token from
``deps.token``, the :class:`~quant.ingestor.service.Ingestor` publishing to ``deps.bus``
and taking run-time subscription changes from the control topics. It is ready once
subscribed and while, during market hours, no feed connection's data is older than
``settings.freshness.stale_after_s`` by exchange time. ``quant ingestor``
and ``quant up`` both build it; tests call :func:`run_ingestor` with their own bus.
A refused token (401) does not end the service: its feed clients wait in a
:class:`~quant.ingestor.token_wait.TokenWait` (``/readyz`` says so) and resume with the
new token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry

from quant.bus import topics
from quant.bus.port import Bus
from quant.core.clock import Clock
from quant.core.events import FeedMode
from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.core.universe import ModePolicy, Universe, resolve_universe
from quant.ingestor.feed_adapter import UpstoxFeedSocket
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import Ingestor
from quant.ingestor.settings import IngestorSettings
from quant.ingestor.token_wait import TokenWait
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.heap import freeze_startup_heap
from quant.runtime.service import Readiness
from quant.upstox.config import FeedConfig, RestConfig
from quant.upstox.feed import TokenRefused, UpstoxFeedClient
from quant.upstox.rest import UpstoxRestClient
from quant.upstox.subscriptions import FeedLimits, SubscriptionBook

log = logging.getLogger(__name__)

TokenSource = Callable[[], str]


def universe_of(settings: IngestorSettings, instruments: Sequence[Instrument]) -> Universe:
    policy = ModePolicy(
        equity=FeedMode.from_wire(settings.equity_mode),
        option=FeedMode.from_wire(settings.option_mode),
    )
    universe = resolve_universe(settings.universe, InstrumentIndex.build(instruments), policy)
    if universe.unresolved:
        log.warning("universe entries not in the instrument master: %s", universe.unresolved)
    return universe


async def run_ingestor(
    settings: IngestorSettings,
    *,
    bus: Bus,
    token: TokenSource,
    universe: Universe,
    clock: Clock,
    stop: asyncio.Event,
    registry: CollectorRegistry | None = None,
    metrics: IngestorMetrics | None = None,
    started: Callable[[Ingestor], None] | None = None,
    on_token_refused: TokenRefused | None = None,
) -> None:
    """Connect, subscribe the universe, publish until ``stop``; flushes on the way out.

    ``metrics`` outlive a restart (the service passes its own); else they are made in
    ``registry``. ``on_token_refused`` is given to the feed clients (without it a refused
    token ends the run with :class:`~quant.upstox.errors.UpstoxAuthError`).
    """
    if metrics is None:
        metrics = IngestorMetrics(registry if registry is not None else CollectorRegistry())
    limits = FeedLimits.plus() if settings.upstox_plus else FeedLimits()
    feed_config = FeedConfig(
        api_base=settings.upstox.api_base,
        ca_file=settings.upstox.ca_file,
        use_authorize=settings.use_authorize,
        upstox_plus=settings.upstox_plus,
        queue_size=settings.queue_size,
        tick_limits=settings.tick_limits,
    )
    bus.ensure_topics(topics.ALL_TOPICS)
    publisher = bus.publisher()
    # control.commands is compacted state: read it all on every start, under a group of
    # this run's own (never committed to), so a restart rebuilds the subscriptions asked
    # for at run time; suggestions are events and resume from the group's commit
    control = bus.consumer(
        f"{settings.control_group}-{uuid.uuid4().hex[:12]}", [topics.CONTROL.name]
    )
    suggestions = bus.consumer(settings.control_group, [topics.SUGGESTIONS.name])
    async with contextlib.AsyncExitStack() as stack:
        authorizer = None
        if settings.use_authorize:
            rest_config = RestConfig(
                api_base=settings.upstox.api_base, ca_file=settings.upstox.ca_file
            )
            rest = await stack.enter_async_context(UpstoxRestClient(token, rest_config))
            authorizer = rest.authorize_feed
        clients = [
            await stack.enter_async_context(
                UpstoxFeedClient(
                    token,
                    feed_config,
                    clock=clock,
                    authorizer=authorizer,
                    on_token_refused=on_token_refused,
                )
            )
            for _ in range(settings.feed_connections)
        ]
        ingestor = Ingestor(
            sockets=[UpstoxFeedSocket(c) for c in clients],
            book=SubscriptionBook(limits, connections=settings.feed_connections),
            publisher=publisher,
            metrics=metrics,
            clock=clock,
            control=control,
            suggestions=suggestions,
            queue_size=settings.queue_size,
            freshness=settings.freshness,
        )
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(ingestor.run(), name="ingestor")
            for mode, keys in universe.by_mode().items():
                change = await ingestor.subscribe(keys, mode)
                log.info("subscribed %d in %s", len(keys) - len(change.refused), mode.wire_name)
            # start-up is done: its heap (instrument master, universe, modules) would
            # otherwise be walked by every full GC pass, each one stalling the frames in
            # flight for 50-60 ms (bench_pipeline's producer, at 10k ticks/s)
            freeze_startup_heap()
            if started is not None:
                started(ingestor)
            stop_wait = tg.create_task(stop.wait(), name="ingestor-stop")
            await asyncio.wait([task, stop_wait], return_when=asyncio.FIRST_COMPLETED)
            task.cancel()
            stop_wait.cancel()
    control.close()  # leaves its group at once
    suggestions.close()
    publisher.close()


class IngestorService:
    """The ``ingestor`` service: one :func:`run_ingestor` per run, metrics kept across."""

    name = "ingestor"

    def __init__(self, settings: IngestorSettings, deps: Deps) -> None:
        self._settings = settings
        self._deps = deps
        self._token = deps.need_token("the ingestor")
        self._metrics = IngestorMetrics(deps.registry)
        self.token_wait = TokenWait(
            self._token,
            clock=deps.clock,
            interval_s=settings.token_reread_s,
            waiting=self._metrics.waiting_for_token,
            refusals=self._metrics.token_refusals,
        )
        self._subscribed = False
        self._empty_universe: list[str] | None = None  # the entries, when none resolved
        self._ingestor: Ingestor | None = None  # while subscribed

    def ready(self) -> Readiness:
        if self._empty_universe is not None:
            entries = ", ".join(self._empty_universe) or "none configured"
            return False, (f"the universe resolves to no instrument ({entries})",)
        waiting = self.token_wait.reason
        if waiting is not None:
            return False, (waiting,)
        ingestor = self._ingestor
        if not self._subscribed or ingestor is None:
            return False, ("connecting and subscribing",)
        stale = ingestor.stale_connections()  # during market hours, by exchange time
        return not stale, tuple(stale)

    async def run(self, stop: asyncio.Event) -> None:
        self._subscribed = False
        deps = self._deps
        instruments = await load_instruments(deps, stop, self.name)
        if instruments is None:  # stopped while the instrument master was loading
            return

        universe = universe_of(self._settings, instruments)
        if not universe.modes:  # nothing to hold a feed for: say so, and never turn ready
            self._empty_universe = list(self._settings.universe)
            log.error(
                "the universe %s resolves to no instrument of the master: not subscribing",
                list(self._settings.universe),
            )
            await stop.wait()
            return
        self._empty_universe = None

        def subscribed(ingestor: Ingestor) -> None:
            self._ingestor = ingestor
            self._subscribed = True

        try:
            await run_ingestor(
                self._settings,
                bus=deps.bus,
                token=self._token,
                universe=universe,
                clock=deps.clock,
                stop=stop,
                metrics=self._metrics,
                started=subscribed,
                on_token_refused=self.token_wait,
            )
        finally:
            self._subscribed = False
            self._ingestor = None


def build(settings: IngestorSettings, deps: Deps) -> IngestorService:
    return IngestorService(settings, deps)
