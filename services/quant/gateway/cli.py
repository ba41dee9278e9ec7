"""``quant gateway``: the REST gateway as a standalone service (the Helm chart's gateway pod).

Composition root: the read model is fed from Kafka (ticks, greeks, enriched ticks) by a
consumer group unique to this process (``gateway-<hostname>`` unless ``QUANT_GROUP_ID``),
instruments are looked up in PostgreSQL, and ``create_app`` is served on
``QUANT_GATEWAY__HOST``/``__PORT``. ``/readyz`` turns 200 once the feed runs and the
first market data arrived. SIGINT/SIGTERM stop the HTTP server and the feed, then the
store closes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.gateway.readmodel import LiveMarketState
    from quant.gateway.service_settings import GatewayServiceSettings

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gateway", help="REST gateway: read model fed from Kafka, instruments from PostgreSQL"
    )
    parser.add_argument("--host", help="bind address (default QUANT_GATEWAY__HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default QUANT_GATEWAY__PORT, 8080)")
    parser.set_defaults(func=_run)


def consumer_group(settings: GatewayServiceSettings) -> str:
    return settings.group_id or f"gateway-{socket.gethostname()}"


class FeedReadiness:
    """Ready while the feed task runs and once some market data has been applied."""

    def __init__(self, state: LiveMarketState, feed: asyncio.Task[None]) -> None:
        self._state = state
        self._feed = feed

    def ready(self) -> tuple[bool, Sequence[str]]:
        reasons = []
        if self._feed.done():
            reasons.append("bus feed stopped")
        if self._state.instruments_seen() == 0:
            reasons.append("no market data yet")
        return not reasons, reasons


def _run(args: argparse.Namespace) -> int:
    import signal

    from quant.gateway.service_settings import GatewayServiceSettings
    from quant.logging_setup import setup_logging

    settings = GatewayServiceSettings()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(
            update={"gateway": settings.gateway.model_copy(update=overrides)}
        )
    setup_logging(settings.log_level, json_format=settings.log_json)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_gateway(settings, stop)

    asyncio.run(main())
    return 0


async def run_gateway(settings: GatewayServiceSettings, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set (or the feed or the server fails), then shut down."""
    from prometheus_client import CollectorRegistry

    from quant.blocking import run_blocking
    from quant.bus.kafka import KafkaBus
    from quant.gateway.app import create_app
    from quant.gateway.deps import GatewayPorts
    from quant.gateway.feeder import FEED_TOPICS, feed_read_model
    from quant.gateway.instrument_store import StoreInstrumentLookup
    from quant.gateway.readmodel import LiveMarketState
    from quant.gateway.server import embedded_server, wait_started
    from quant.store.postgres import PostgresStore

    store = await run_blocking(PostgresStore.from_settings(settings.postgres).open)
    try:
        state = LiveMarketState()
        consumer = KafkaBus.from_settings(settings.kafka).consumer(
            consumer_group(settings), FEED_TOPICS
        )
        async with asyncio.TaskGroup() as tg:
            feed = tg.create_task(
                feed_read_model(
                    state,
                    consumer,
                    max_messages=settings.feed_max_messages,
                    poll_s=settings.feed_poll_s,
                ),
                name="gateway-feed",
            )
            ports = GatewayPorts(
                state,
                StoreInstrumentLookup(store),
                FeedReadiness(state, feed),
                CollectorRegistry(),
            )
            server = embedded_server(
                create_app(settings.gateway, ports), settings.gateway.host, settings.gateway.port
            )
            http = tg.create_task(server.serve(), name="gateway-http")
            await wait_started(server, http)
            log.info(
                "gateway serving on http://%s:%d (group %s)",
                settings.gateway.host,
                server.bound_port,
                consumer_group(settings),
            )
            stopper = tg.create_task(stop.wait(), name="gateway-stop")
            await asyncio.wait({stopper, feed, http}, return_when=asyncio.FIRST_COMPLETED)
            log.info("gateway stopping")
            server.should_exit = True
            await http
            feed.cancel()
            stopper.cancel()
    finally:
        await run_blocking(store.close)
