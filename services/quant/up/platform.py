"""Composition root of ``quant up``: the embedded choices, then a list of ``build()`` calls.

What is particular to the one-process platform is chosen here, and nothing else:

- the market: the Upstox simulator (:class:`quant.sim.server.SimServer`) on a free port,
  with a token minted for its one user; its instrument master is downloaded and
  validated once and handed to the services in memory;
- the clock: the simulator's (its market day runs in its own time), so the age of the
  data by exchange time, market hours and "today" mean the same to every service; the
  freshness thresholds (``freshness``, ``gateway.stale_after_s``) are multiplied by
  ``sim_speed`` when it is above 1, as the simulator's frames are that much further
  apart in its time;
- the bus: :class:`~quant.bus.inprocess.InProcessBus`;
- the stores: SQLite files under ``data_dir`` (ticks, and the relational store that the
  ``instrument-sync`` service fills while the others start).

Then the same services as the separate commands, each from its package's ``build``
(instrument sync, ingestor, feature engine, gateway), run and supervised by
:func:`quant.runtime.supervisor.run_services`: a failed service is restarted while the
others (the REST API included) keep running. On stop they are stopped in that order, so
nothing accepted is lost: the ingestor flushes, the feature engine drains the bus,
writes and checkpoints, then the gateway stops; the stores close last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from quant.bus.inprocess import InProcessBus
from quant.core.clock import IST, Clock, SystemClock, ns_to_datetime
from quant.features import main as features
from quant.features.settings import FeaturesSettings
from quant.gateway import main as gateway
from quant.gateway.service_settings import GatewayServiceSettings
from quant.ingestor import main as ingestor
from quant.ingestor.settings import IngestorSettings
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.runtime.service import Service
from quant.runtime.supervisor import run_services
from quant.sim.config import SimConfig, default_start
from quant.sim.server import SimServer
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.sync import main as sync
from quant.sync.service import validate_master
from quant.sync.settings import SyncSettings
from quant.up.settings import UpSettings
from quant.upstox.instruments import UpstoxInstrumentSource
from quant.upstox.settings import UpstoxSettings

log = logging.getLogger(__name__)


def _quiet(phase: str, done: int, total: int) -> None:
    del phase, done, total


def _sim_config(settings: UpSettings, clock: Clock) -> SimConfig:
    today = ns_to_datetime(clock.now_ns(), IST).date()
    pre_open = default_start(today)  # 09:14 IST on the next trading day
    start = pre_open + timedelta(minutes=1 + settings.sim_start_minutes_after_open)
    return SimConfig(seed=settings.sim_seed, speed=settings.sim_speed, start=start, port=0)


def _sim_timed(settings: UpSettings) -> UpSettings:
    """``settings`` with the freshness thresholds in the simulator's time."""
    speed = settings.sim_speed
    if speed <= 1.0:
        return settings
    fresh = settings.freshness
    freshness = fresh.model_copy(
        update={
            "stale_after_s": fresh.stale_after_s * speed,
            "reconnect_after_s": fresh.reconnect_after_s * speed,
        }
    )
    gw = settings.gateway.model_copy(
        update={"stale_after_s": settings.gateway.stale_after_s * speed}
    )
    return settings.model_copy(update={"freshness": freshness, "gateway": gw})


def _services(
    settings: UpSettings, deps: Deps, market_url: str, announce: Callable[[str], None]
) -> list[Service]:
    """The services of the platform, upstream first (the order they stop in).

    Their settings are derived from ``settings`` (validated, not read from the
    environment again: the process has one settings object).
    """
    upstox = UpstoxSettings(api_base=market_url, hft_base=market_url, assets_base=market_url)
    settings = _sim_timed(settings)
    common = {"log_level": settings.log_level, "log_format": settings.log_format}
    return [
        sync.build(SyncSettings.model_validate(common), deps),
        ingestor.build(
            IngestorSettings.model_validate(
                {
                    **common,
                    "upstox": upstox,
                    "universe": settings.universe,
                    "equity_mode": settings.equity_mode,
                    "option_mode": settings.option_mode,
                    "feed_connections": settings.feed_connections,
                    "freshness": settings.freshness,
                    "metrics_port": 0,
                }
            ),
            deps,
        ),
        features.build(
            FeaturesSettings.model_validate(
                {
                    **common,
                    "upstox": upstox,
                    "tick_store": "sqlite",
                    "universe": settings.universe,  # price the universe's options only
                    "snapshot_store": "memory",  # the in-process bus dies with the process
                    "drain_s": 1.0,
                    "metrics_port": 0,
                }
            ),
            deps,
        ),
        gateway.build(
            GatewayServiceSettings.model_validate(
                {**common, "gateway": settings.gateway, "instrument_lookup": "memory"}
            ),
            deps,
            on_serving=announce,
        ),
    ]


async def run_platform(
    settings: UpSettings,
    stop: asyncio.Event,
    announce: Callable[[str], None],
    *,
    handle_signals: bool = True,
) -> None:
    """Run everything until ``stop`` is set (or a signal), then shut down cleanly."""
    clock = SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with SimServer(_sim_config(settings, clock)) as sim:
        instruments = await UpstoxInstrumentSource(sim.base_url).fetch(_quiet)
        validate_master(instruments, min_rows=1)
        relational = SqliteRelationalStore(settings.data_dir / "relational.sqlite").open()
        tick_store = SqliteTickStore(settings.data_dir / "ticks.sqlite").open()
        try:
            registry, board = new_registry_and_board()
            token = sim.mint_token()
            deps = Deps(
                clock=sim.clock,  # the market's time: data ages by its exchange time
                registry=registry,
                board=board,
                bus=InProcessBus(),
                instruments=FixedCatalog(instruments, f"the simulator at {sim.base_url}"),
                tick_store=tick_store,
                relational=relational,
                token=lambda: token,
            )
            await run_services(
                _services(settings, deps, sim.base_url, announce),
                settings,
                registry=registry,
                board=board,
                stop=stop,
                # after the simulator's uvicorn installed its own handlers
                handle_signals=handle_signals,
                configure_logging=False,
            )
        finally:
            tick_store.close()
            relational.close()
    log.info("quant up: stopped")
