"""The feature service's composition: ``build(settings, deps)`` -> the ``features`` service.

:class:`FeaturesService` loads the instrument master from ``deps.instruments`` (the
options it prices: all of them, or those on the underlyings of ``settings.universe``),
opens a sink over ``deps.tick_store`` (batched in the background for QuestDB) and runs
:func:`build_feature_service` + :func:`run_features` until stop: restore the latest
snapshot, consume ticks from ``deps.bus``, publish enriched ticks and candles, write the
store, checkpoint. A QuestDB write that fails is retried with backoff
(:mod:`quant.features.store_outage`): the run goes on, holds its Kafka commits and says
so on ``/readyz`` until the store takes the rows. ``quant features`` and ``quant up``
both build it; tests and the benchmark call :func:`build_feature_service` with their own
bus and sink.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from prometheus_client import CollectorRegistry

from quant.analytics.engine import FeatureEngine
from quant.bus import topics
from quant.bus.port import Bus
from quant.core.clock import Clock
from quant.core.instruments import Instrument
from quant.core.symbols import InstrumentIndex
from quant.core.universe import ModePolicy, options_on_underlyings, resolve_universe
from quant.features.adapters import AnalyticsEngine, StoreSink, option_specs
from quant.features.metrics import FeatureMetrics
from quant.features.ports import SnapshotStore, TickSink
from quant.features.service import INPUT_TOPICS, FeatureService, FeatureServiceConfig
from quant.features.settings import FeaturesSettings
from quant.features.snapshots import FileSnapshotStore, MemorySnapshotStore
from quant.features.store_outage import StoreOutage, StoreOutageMetrics, retry_delays
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.heap import freeze_startup_heap
from quant.runtime.service import Readiness

log = logging.getLogger(__name__)


def kafka_consumer_config(settings: FeaturesSettings) -> dict[str, int]:
    """librdkafka settings of the tick consumer: fetches wait up to ``batch_window_ms``
    for a megabyte, so the engine's per-batch cost is paid per few ms of ticks."""
    if settings.batch_window_ms == 0:
        return {}
    return {"fetch.min.bytes": 1 << 20, "fetch.wait.max.ms": settings.batch_window_ms}


def build_feature_service(
    settings: FeaturesSettings,
    *,
    bus: Bus,
    sink: TickSink,
    snapshots: SnapshotStore,
    options: Iterable[Instrument],
    clock: Clock,
    registry: CollectorRegistry | None = None,
    metrics: FeatureMetrics | None = None,
) -> FeatureService:
    """The feature service over built adapters; ``metrics`` outlive a restart (else they
    are made in ``registry``)."""
    if metrics is None:
        metrics = FeatureMetrics(registry if registry is not None else CollectorRegistry())
    bus.ensure_topics(topics.ALL_TOPICS)
    specs = option_specs(options)
    engine = FeatureEngine(clock, options=specs)
    return FeatureService(
        consumer=bus.consumer(settings.group_id, INPUT_TOPICS),
        publisher=bus.publisher(),
        engine=AnalyticsEngine(engine),
        sink=sink,
        snapshots=snapshots,
        metrics=metrics,
        clock=clock,
        config=FeatureServiceConfig(
            batch_size=settings.batch_size,
            poll_timeout_s=settings.poll_timeout_s,
            checkpoint_interval_s=settings.checkpoint_interval_s,
            drain_s=settings.drain_s,
            background_checkpoints=True,  # the hot path never waits for the tick store
        ),
        underlyings={key: spec.underlying_key for key, spec in specs.items()},
    )


async def run_features(service: FeatureService, stop: asyncio.Event) -> None:
    """Restore the latest snapshot, then process until ``stop`` (checkpointing on exit)."""
    if not service.restore():
        log.info("no feature-engine snapshot: starting from the group's committed offsets")
    # the instrument master, option specs and restored state live as long as the process:
    # keep them out of the cyclic GC's full passes, which paused the hot path for
    # milliseconds (p99 latency at 10k ticks/s: 67 -> 55 ms in bench runs)
    freeze_startup_heap()
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(service.run(), name="features")
        stop_wait = tg.create_task(stop.wait(), name="features-stop")
        await asyncio.wait([task, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        stop_wait.cancel()


def priced_options(
    settings: FeaturesSettings, instruments: Iterable[Instrument]
) -> list[Instrument]:
    """The options the engine prices: every option of the master, or with a universe
    configured, the options on its underlyings."""
    if not settings.universe:
        return [i for i in instruments if i.is_option]
    index = InstrumentIndex.build(instruments)
    universe = resolve_universe(settings.universe, index, ModePolicy())
    return options_on_underlyings(index, universe)


class FeaturesService:
    """The ``features`` service: a fresh consumer, sink and engine per run, restored from
    the latest snapshot; metrics and an in-memory snapshot store kept across restarts."""

    name = "features"

    def __init__(self, settings: FeaturesSettings, deps: Deps) -> None:
        self._settings = settings
        self._deps = deps
        self._store = deps.need_tick_store("the feature service")
        self._metrics = FeatureMetrics(deps.registry)
        self._snapshots: SnapshotStore = (
            MemorySnapshotStore()
            if settings.snapshot_store == "memory"
            else FileSnapshotStore(settings.snapshot_path)
        )
        self._running = False
        self._outage = StoreOutage(
            StoreOutageMetrics(deps.registry),
            "QuestDB" if settings.tick_store == "questdb" else "the tick store",
            log_every_s=settings.store_retry.log_every_s,
        )

    def ready(self) -> Readiness:
        if not self._running:
            return False, ("loading instruments / restoring",)
        outage = self._outage.reason()
        return (False, (outage,)) if outage else (True, ())

    async def run(self, stop: asyncio.Event) -> None:
        self._running = False
        deps = self._deps
        instruments = await load_instruments(deps, stop, self.name)
        if instruments is None:  # stopped while the instrument master was loading
            return
        options = priced_options(self._settings, instruments)
        log.info("pricing %d options", len(options))
        # QuestDB: the small batches are joined into large requests by a background writer
        batched = self._settings.tick_store == "questdb"
        sink = (
            StoreSink.batched(
                self._store,
                retry_delay=retry_delays(self._settings.store_retry),
                listener=self._outage,
            )
            if batched
            else StoreSink(self._store)
        )
        # on stop, a write still failing ends the run (nothing after the last checkpoint
        # was committed: the next start redoes it) instead of holding the shutdown
        give_up = asyncio.create_task(_give_up_on(stop, sink), name="features-give-up")
        try:
            await self._run_over(sink, options, stop)
        except Exception:
            outage = self._outage.reason()
            if not (stop.is_set() and outage):
                raise
            # asked to stop while the store refused writes: not a failure of this run
            log.warning(
                "stopped while %s; what it did not take was not committed either: the next "
                "start processes it again",
                outage,
            )
        finally:
            give_up.cancel()

    async def _run_over(
        self, sink: StoreSink, options: list[Instrument], stop: asyncio.Event
    ) -> None:
        try:
            service = build_feature_service(
                self._settings,
                bus=self._deps.bus,
                sink=sink,
                snapshots=self._snapshots,
                options=options,
                clock=self._deps.clock,
                metrics=self._metrics,
            )
            self._running = True
            await run_features(service, stop)
        finally:
            self._running = False
            sink.give_up()  # a failed run must not wait here for the store to come back
            sink.close()  # run_features checkpointed: nothing is left queued


async def _give_up_on(stop: asyncio.Event, sink: StoreSink) -> None:
    await stop.wait()
    sink.give_up()


def build(settings: FeaturesSettings, deps: Deps) -> FeaturesService:
    return FeaturesService(settings, deps)
