"""``quant features``: the feature engine service (Kafka in, Kafka + QuestDB out)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.features.settings import FeaturesSettings
    from quant.store.ports import TickStore


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "features",
        help="ticks -> enriched ticks, candles and greeks on Kafka and in QuestDB",
    )
    parser.add_argument("--metrics-port", type=int, help="/healthz /readyz /metrics port (0 = off)")
    parser.set_defaults(func=_run)


def _open_store(settings: FeaturesSettings) -> TickStore:
    if settings.tick_store == "sqlite":
        from quant.store.sqlite_ticks import SqliteTickStore

        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteTickStore(settings.sqlite_path).open()
    from quant.store.questdb_ticks import QuestDBTickStore

    return QuestDBTickStore.from_settings(settings.questdb).open()


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import threading

    from prometheus_client import CollectorRegistry

    from quant.bus.kafka import KafkaBus
    from quant.core.clock import SystemClock
    from quant.features.adapters import StoreSink
    from quant.features.main import build_feature_service, kafka_consumer_config, run_features
    from quant.features.settings import FeaturesSettings
    from quant.features.snapshots import FileSnapshotStore
    from quant.health import HealthServer
    from quant.logging_setup import setup_logging
    from quant.shutdown import until_stopped
    from quant.upstox.instruments import UpstoxInstrumentSource

    settings = FeaturesSettings()
    setup_logging(settings.log_level, json_format=settings.log_json)
    registry = CollectorRegistry()
    port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    started = threading.Event()  # set once the service loop runs: /readyz turns 200

    def readiness() -> tuple[bool, list[str]]:
        return (True, []) if started.is_set() else (False, ["loading instruments / starting"])

    health = HealthServer(port, registry, readiness).start() if port else None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        source = UpstoxInstrumentSource(
            settings.upstox.assets_base, settings.instrument_files, ca_file=settings.upstox.ca_file
        )
        instruments = await until_stopped(source.fetch(lambda phase, done, total: None), stop)
        if instruments is None:  # stopped while the instrument master was downloading
            return
        store = _open_store(settings)
        # QuestDB: batches are joined into large requests by a background writer
        batched = settings.tick_store == "questdb"
        sink = StoreSink.batched(store) if batched else StoreSink(store)
        try:
            service = build_feature_service(
                settings,
                bus=KafkaBus.from_settings(
                    settings.kafka, consumer_config=kafka_consumer_config(settings)
                ),
                sink=sink,
                snapshots=FileSnapshotStore(settings.snapshot_path),
                options=[i for i in instruments if i.is_option],
                registry=registry,
                clock=SystemClock(),
            )
            started.set()
            await run_features(service, stop)
        finally:
            try:
                sink.close()  # run_features checkpointed: nothing is left queued
            finally:
                store.close()

    try:
        asyncio.run(main())
    finally:
        if health is not None:
            health.close()
    return 0
