"""``quant ingestor``: hold the Upstox feed and publish ticks and greeks to Kafka."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingestor",
        help="Upstox market-data feed -> Kafka market.equity.ticks / market.option.greeks",
    )
    parser.add_argument("--metrics-port", type=int, help="/healthz /readyz /metrics port (0 = off)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import threading

    from prometheus_client import CollectorRegistry

    from quant.bus.kafka import KafkaBus
    from quant.core.clock import SystemClock
    from quant.health import HealthServer
    from quant.ingestor.main import run_ingestor, universe_of
    from quant.ingestor.settings import IngestorSettings
    from quant.logging_setup import setup_logging
    from quant.shutdown import until_stopped
    from quant.upstox.auth import FileTokenStore, StoredTokenSource
    from quant.upstox.instruments import UpstoxInstrumentSource

    settings = IngestorSettings()
    setup_logging(settings.log_level, json_format=settings.log_json)
    clock = SystemClock()
    registry = CollectorRegistry()
    port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    started = threading.Event()  # set once the service loop runs: /readyz turns 200

    def readiness() -> tuple[bool, list[str]]:
        return (True, []) if started.is_set() else (False, ["loading instruments / starting"])

    health = HealthServer(port, registry, readiness).start() if port else None
    token = StoredTokenSource(FileTokenStore(settings.upstox.token_file), clock)

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
        started.set()
        await run_ingestor(
            settings,
            bus=KafkaBus.from_settings(settings.kafka),
            token=token,
            universe=universe_of(settings, instruments),
            registry=registry,
            clock=clock,
            stop=stop,
        )

    try:
        asyncio.run(main())
    finally:
        if health is not None:
            health.close()
    return 0
