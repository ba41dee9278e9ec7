"""Composition root of ``quant ingestor``: Upstox feed -> Kafka, with run-time subscriptions.

:func:`build_ingestor` wires an :class:`~quant.ingestor.service.Ingestor` from settings and
already-built adapters (tests pass a simulator token and a real Kafka bus);
:func:`run_ingestor` runs it with its feed clients until ``stop`` is set. The CLI entry
(``quant ingestor``) reads :class:`~quant.ingestor.settings.IngestorSettings`, loads the
instrument master from ``QUANT_UPSTOX__ASSETS_BASE`` to resolve the universe, reads the
access token from the token store, serves Prometheus metrics on ``metrics_port`` and
stops cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry

from quant.bus import topics
from quant.bus.port import Bus
from quant.core.clock import Clock
from quant.core.events import FeedMode
from quant.core.heap import freeze_startup_heap
from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.ingestor.feed_adapter import UpstoxFeedSocket
from quant.ingestor.metrics import IngestorMetrics
from quant.ingestor.service import Ingestor
from quant.ingestor.settings import IngestorSettings
from quant.ingestor.subscriptions import FeedLimits, SubscriptionBook
from quant.ingestor.universe import ModePolicy, Universe, resolve_universe
from quant.upstox.config import FeedConfig, RestConfig
from quant.upstox.feed import UpstoxFeedClient
from quant.upstox.rest import UpstoxRestClient

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
    registry: CollectorRegistry,
    clock: Clock,
    stop: asyncio.Event,
    started: Callable[[Ingestor], None] | None = None,
) -> None:
    """Connect, subscribe the universe, publish until ``stop``; flushes on the way out."""
    limits = FeedLimits.plus() if settings.upstox_plus else FeedLimits()
    feed_config = FeedConfig(
        api_base=settings.upstox.api_base,
        ca_file=settings.upstox.ca_file,
        use_authorize=settings.use_authorize,
        upstox_plus=settings.upstox_plus,
        queue_size=settings.queue_size,
    )
    bus.ensure_topics(topics.ALL_TOPICS)
    publisher = bus.publisher()
    control = bus.consumer(settings.control_group, [topics.CONTROL.name, topics.SUGGESTIONS.name])
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
                UpstoxFeedClient(token, feed_config, clock=clock, authorizer=authorizer)
            )
            for _ in range(settings.feed_connections)
        ]
        ingestor = Ingestor(
            sockets=[UpstoxFeedSocket(c) for c in clients],
            book=SubscriptionBook(limits, connections=settings.feed_connections),
            publisher=publisher,
            metrics=IngestorMetrics(registry),
            clock=clock,
            control=control,
            queue_size=settings.queue_size,
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
    publisher.close()
