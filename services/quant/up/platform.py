"""Composition root of ``quant up``: the embedded choices, then a list of ``build()`` calls.

What is particular to the one-process platform is chosen here, and nothing else:

- the market (:mod:`quant.up.market`): the Upstox simulator on a free port (``--source
  sim``, the default) or the user's own Upstox account with the token of ``quant auth
  login`` (``--source upstox``); its instrument master is downloaded and validated once
  and handed to the services in memory;
- the clock: the market's (:attr:`Market.clock`: the simulator's, whose day runs in its
  own time, or the wall clock for Upstox), so the age of the data by exchange time,
  market hours and "today" mean the same to every service; with the simulator the
  freshness thresholds (``freshness``, ``gateway.stale_after_s``) are multiplied by
  ``sim_speed`` when it is above 1, as its frames are that much further apart in its time;
- the bus: :class:`~quant.bus.inprocess.InProcessBus`, keeping its compacted topic
  (``control.commands``) in the relational SQLite file
  (:class:`~quant.store.sqlite_relational.SqliteRetainedLog`), so a restart comes back
  with the same control state as with Kafka: a halted account stays halted, run-time
  subscriptions stay subscribed;
- the stores: SQLite files under ``data_dir`` (ticks, and the relational store that the
  ``instrument-sync`` service fills while the others start);
- the broker: ``--broker paper`` (the default) fills orders in the execution service's
  paper broker against the platform's own ticks; ``--broker upstox`` sends them through
  the live Upstox adapter to the simulator (algo name ``algo_name``). The execution API
  listens on 127.0.0.1 on a free port, and the gateway forwards ``/api/v1/orders``,
  ``/trades``, ``/positions``, ``/pnl`` and ``/killswitch`` to it; orders are journalled
  in the same SQLite file as the users;
- the first user: on the first start (no ``admin`` in the relational store) the user
  ``admin`` is created with a random password for the login page, its API key and the
  password printed once and written to ``data_dir/admin.key`` and
  ``data_dir/admin.password`` (mode 0600) by :func:`quant.users.admin.ensure_admin`;
  later starts say where the files are.

Then the same services as the separate commands, each from its package's ``build``
(instrument sync, ingestor, feature engine, scanner, gateway, the strategy runtime with the
shipped example strategy unless ``strategy`` is off, execution), run and supervised by
:func:`quant.runtime.supervisor.run_services`: a failed service is restarted while the
others (the REST API included) keep running. On stop they are stopped in that order, so
nothing accepted is lost: the ingestor flushes, the feature engine drains the bus,
writes and checkpoints, then the gateway stops (no new manual orders), then the strategy
runtime (its strategies' last orders still reach the execution service), then the
execution service; the stores close last.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path

from quant.bus.inprocess import InProcessBus
from quant.core.calendar import NSE_CALENDAR
from quant.core.clock import IST, SystemClock, datetime_to_ns, ns_to_datetime
from quant.execution import main as execution
from quant.execution.settings import ExecutionSettings
from quant.features import main as features
from quant.features.settings import FeaturesSettings
from quant.gateway import main as gateway
from quant.gateway.service_settings import GatewayServiceSettings
from quant.ingestor import main as ingestor
from quant.ingestor.settings import IngestorSettings
from quant.runtime.deps import Deps, FixedCatalog, new_registry_and_board
from quant.runtime.service import Service
from quant.runtime.supervisor import run_services
from quant.scanner import main as scanner
from quant.scanner.settings import ScannerServiceSettings
from quant.sim.calendar import SIM_CALENDAR
from quant.store.ports import OrderAudit
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.strategy import main as strategy
from quant.strategy.config import ConfiguredStrategy, StrategyEntry, load_strategies
from quant.strategy.settings import StrategySettings
from quant.sync import main as sync
from quant.sync.settings import SyncSettings
from quant.up.market import Market, open_market
from quant.up.settings import UpSettings
from quant.users.admin import admin_notice, ensure_admin
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher
from quant.users.settings import RELATIONAL_FILE

log = logging.getLogger(__name__)

# what the banner shows once the gateway serves: its URL and the market
Announce = Callable[[str, Market], None]


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


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


class BrokerUnavailable(RuntimeError):
    """``--broker`` cannot be used with this market; the message says why."""


def check_broker(settings: UpSettings) -> None:
    """Refuse real orders from ``quant up``: the Upstox adapter only goes to the simulator."""
    if settings.broker == "upstox" and settings.source != "sim":
        raise BrokerUnavailable(
            "--broker upstox sends orders to the built-in simulator only; with --source "
            "upstox use --broker paper (real orders: `quant execution --mode live`)"
        )


def warn_journal_outlives_simulator(store: OrderAudit, data_dir: Path, now_ns: int) -> int:
    """With ``--broker upstox`` the simulator's account starts empty at every start, while
    the order journal in ``data_dir`` keeps the (simulated) day's orders: say so once, so
    the execution service's reconciliation errors that follow are not a surprise. Returns
    how many of today's orders the journal holds."""
    day = ns_to_datetime(now_ns, IST).date()
    start = datetime_to_ns(datetime.combine(day, time(0, 0), tzinfo=IST))
    orders = {e.client_order_id for e in store.order_events_since(start)}
    if orders:
        log.warning(
            "the order journal in %s holds %d orders of %s from an earlier start, but the "
            "simulator's account starts empty: a position still open in the journal shows "
            "as a mismatch with the broker (and closing it trades against the simulator's "
            "empty account); for a clean book start with a new QUANT_DATA_DIR",
            data_dir,
            len(orders),
            day,
        )
    return len(orders)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (for the execution API)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def execution_settings(settings: UpSettings, market: Market, api_port: int) -> ExecutionSettings:
    """The execution service of ``quant up``: paper, or live to the simulator."""
    return ExecutionSettings.model_validate(
        {
            "log_level": settings.log_level,
            "log_format": settings.log_format,
            "upstox": market.upstox,
            "mode": "live" if settings.broker == "upstox" else "paper",
            "default_algo_name": settings.algo_name,
            "api_host": "127.0.0.1",
            "api_port": api_port,
            "risk": settings.risk,
            "rate": settings.rate,
            "paper": settings.paper,
            "control_catchup_s": 0.5,  # the in-process bus answers at once
            "metrics_port": 0,
        }
    )


#: the strategy ``quant up`` runs: the moving-average cross of docs/strategies.md on
#: 1-minute bars of RELIANCE, so that it trades within minutes of a simulated session
EXAMPLE_STRATEGY = {
    "id": "macross",
    "class": "quant.strategy.examples.ma_cross:MaCross",
    "params": {"bar_minutes": 1, "fast": 3, "slow": 10, "quantity": 1},
    "mode": "paper",
}


def example_strategy(settings: UpSettings) -> list[ConfiguredStrategy]:
    """The shipped example, in the mode of the platform's broker, with its algo name."""
    entry = StrategyEntry.model_validate(
        {
            **EXAMPLE_STRATEGY,
            "algo_name": settings.algo_name,
            "mode": "live" if settings.broker == "upstox" else "paper",
        }
    )
    return load_strategies([entry])


def strategy_settings(settings: UpSettings) -> StrategySettings:
    """The strategy runtime of ``quant up``: state files in the data directory."""
    return StrategySettings.model_validate(
        {
            "log_level": settings.log_level,
            "log_format": settings.log_format,
            "data_dir": settings.data_dir,
            "restore_quiet_s": 0.5,  # the in-process bus answers at once
            "metrics_port": 0,
        }
    )


def scanner_settings(settings: UpSettings, market: Market) -> ScannerServiceSettings:
    """The scanner of ``quant up``: on the market's quotes, the embedded tick store; with
    the simulator its cycles are in the simulator's time (``clock_speed`` = ``sim_speed``:
    every 5 simulated minutes is 30 s of wall time at speed 10)."""
    speed = settings.sim_speed if market.source == "sim" else 1.0
    return ScannerServiceSettings.model_validate(
        {
            "log_level": settings.log_level,
            "log_format": settings.log_format,
            "upstox": market.upstox,
            "tick_store": "sqlite",
            "scanner": settings.scanner.model_copy(update={"clock_speed": speed}),
            "metrics_port": 0,
        }
    )


def _services(
    settings: UpSettings, deps: Deps, market: Market, announce: Callable[[str], None]
) -> list[Service]:
    """The services of the platform, upstream first (the order they stop in).

    Their settings are derived from ``settings`` (validated, not read from the
    environment again: the process has one settings object).
    """
    upstox = market.upstox
    if market.source == "sim":
        settings = _sim_timed(settings)
    common = {"log_level": settings.log_level, "log_format": settings.log_format}
    api_port = free_port()
    gateway_settings = settings.gateway.model_copy(
        update={"source": market.source, "execution_url": f"http://127.0.0.1:{api_port}"}
    )
    strategies: list[Service] = []
    if settings.strategy:
        strategies.append(
            strategy.build(strategy_settings(settings), deps, example_strategy(settings))
        )
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
                    "token_reread_s": settings.token_reread_s,
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
        scanner.build(
            scanner_settings(settings, market),
            deps,
            calendar=SIM_CALENDAR if market.source == "sim" else NSE_CALENDAR,
        ),
        gateway.build(
            GatewayServiceSettings.model_validate(
                {
                    **common,
                    "gateway": gateway_settings,
                    "instrument_lookup": "memory",
                }
            ),
            deps,
            on_serving=announce,
        ),
        *strategies,
        execution.build(execution_settings(settings, market, api_port), deps),
    ]


async def run_platform(
    settings: UpSettings,
    stop: asyncio.Event,
    announce: Announce,
    *,
    handle_signals: bool = True,
    say: Callable[[str], None] = _stdout,
) -> None:
    """Run everything until ``stop`` is set (or a signal), then shut down cleanly.

    ``say`` prints what the user must see once (the first admin key): stdout, never the log.

    Raises :class:`quant.up.market.MarketUnavailable` before starting anything when the
    market source cannot be used (e.g. no valid Upstox token), :class:`BrokerUnavailable`
    when the broker cannot be used with it.
    """
    check_broker(settings)
    clock = SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with open_market(settings, clock) as market:
        log.info("quant up: market data from %s; data in %s", market.description, settings.data_dir)
        relational = SqliteRelationalStore(settings.data_dir / RELATIONAL_FILE).open()
        tick_store = SqliteTickStore(settings.data_dir / "ticks.sqlite").open()
        try:
            directory = UserDirectory(relational, Argon2Hasher())
            say(admin_notice(await asyncio.to_thread(ensure_admin, directory, settings.data_dir)))
            if settings.broker == "upstox":
                warn_journal_outlives_simulator(
                    relational, settings.data_dir, market.clock.now_ns()
                )
            registry, board = new_registry_and_board()
            deps = Deps(
                clock=market.clock,  # the market's time: data ages by its exchange time
                registry=registry,
                board=board,
                bus=InProcessBus(retained=relational.retained_log()),
                instruments=FixedCatalog(
                    market.instruments,
                    market.description,
                    rejected=market.rejected,  # the sync judges what the download dropped
                    rejected_examples=market.rejected_examples,
                    segments=market.segments,
                    trading_day=ns_to_datetime(market.clock.now_ns(), IST).date(),
                ),
                tick_store=tick_store,
                relational=relational,
                token=market.token,
            )
            await run_services(
                _services(settings, deps, market, lambda url: announce(url, market)),
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
