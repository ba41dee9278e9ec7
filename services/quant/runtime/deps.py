"""What a service is built from: :class:`Deps` (bus, stores, clock, instruments, token).

Every service package's ``build(settings, deps)`` takes one. Two composition roots make
them: :func:`open_deps` for a service's own command (Kafka, QuestDB or SQLite,
PostgreSQL, the token file) and ``quant.up.platform`` for the embedded platform
(in-process bus, SQLite, the simulator or Upstox). Services never build adapters themselves.

The instrument master comes through an :class:`InstrumentCatalog`: from the relational
store that ``quant sync-instruments`` fills (:class:`StoreCatalog`), or, where no store
is configured, downloaded from Upstox at start (:class:`DownloadCatalog`, said in the
log), or given (:class:`FixedCatalog`, ``quant up`` and tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from quant.bus.errors import BusUnavailable
from quant.bus.kafka import KafkaBus
from quant.bus.port import Bus
from quant.bus.settings import KafkaSettings
from quant.core.clock import Clock, SystemClock
from quant.core.instruments import SEGMENTS, Instrument
from quant.runtime.blocking import run_blocking
from quant.runtime.probes import Dependency, short_error
from quant.runtime.service import ConfigurationError, DependencyUnavailable
from quant.runtime.settings import DataServiceSettings
from quant.runtime.shutdown import until_stopped
from quant.runtime.status import StatusBoard
from quant.store.ports import (
    InstrumentRepository,
    Pingable,
    RelationalStore,
    StoreError,
    TickStore,
)
from quant.store.settings import PostgresSettings
from quant.upstox.auth import FileTokenStore, StoredTokenSource
from quant.upstox.instruments import UpstoxInstrumentSource
from quant.upstox.settings import UpstoxSettings

log = logging.getLogger(__name__)

TokenSource = Callable[[], str]


class InstrumentCatalog(Protocol):
    """Where a service gets the instrument master at start."""

    @property
    def origin(self) -> str:
        """Where the instruments come from, for the log."""
        ...

    async def load(self) -> list[Instrument]: ...


class InstrumentsNotSynced(RuntimeError):
    """The instrument store is empty: ``quant sync-instruments`` has not run yet
    (retryable: the service starts once the sync has filled the table)."""


class FixedCatalog:
    """Instruments already in memory (``quant up`` downloads them from its market).

    ``rejected`` / ``rejected_examples`` / ``segments``: what the download dropped as
    impossible and which segments its files list (the instrument sync judges them);
    ``trading_day``: the day the master is for when it is not today's (the simulator's
    trading day in ``quant up``), against which the sync judges what has expired.
    """

    def __init__(
        self,
        instruments: Sequence[Instrument],
        origin: str,
        *,
        rejected: Mapping[tuple[str, str], int] | None = None,
        rejected_examples: Mapping[str, str] | None = None,
        segments: AbstractSet[str] = SEGMENTS,
        trading_day: date | None = None,
    ) -> None:
        self._instruments = list(instruments)
        self._origin = origin
        self.rejected: Mapping[tuple[str, str], int] = dict(rejected or {})
        self.rejected_examples: Mapping[str, str] = dict(rejected_examples or {})
        self.segments = segments
        self.trading_day = trading_day

    @property
    def origin(self) -> str:
        return self._origin

    async def load(self) -> list[Instrument]:
        return list(self._instruments)


class StoreCatalog:
    """The active instruments of the relational store (``quant sync-instruments``)."""

    def __init__(self, repo: InstrumentRepository) -> None:
        self._repo = repo

    @property
    def origin(self) -> str:
        return "the instrument store"

    async def load(self) -> list[Instrument]:
        instruments = await run_blocking(self._repo.list_instruments)
        if not instruments:
            raise InstrumentsNotSynced(
                "the instrument store has no instruments: run `quant sync-instruments` first"
            )
        return instruments


class DownloadCatalog:
    """The Upstox instrument master, downloaded at every start (no store configured)."""

    def __init__(self, upstox: UpstoxSettings, files: Sequence[str]) -> None:
        self._source = UpstoxInstrumentSource(upstox.assets_base, files, ca_file=upstox.ca_file)
        self._base = upstox.assets_base

    @property
    def origin(self) -> str:
        return f"a download from {self._base}"

    async def load(self) -> list[Instrument]:
        return await self._source.fetch(lambda phase, done, total: None)


@dataclass(frozen=True)
class Deps:
    """The adapters a process's services share; ``None`` where the process has none."""

    clock: Clock
    registry: CollectorRegistry
    board: StatusBoard
    bus: Bus
    instruments: InstrumentCatalog
    tick_store: TickStore | None = None
    relational: RelationalStore | None = None
    token: TokenSource | None = None

    def need_tick_store(self, who: str) -> TickStore:
        if self.tick_store is None:
            raise ConfigurationError(f"{who} needs a tick store and none is configured")
        return self.tick_store

    def need_relational(self, who: str) -> RelationalStore:
        if self.relational is None:
            raise ConfigurationError(f"{who} needs the relational store (QUANT_POSTGRES__DSN)")
        return self.relational

    def need_token(self, who: str) -> TokenSource:
        if self.token is None:
            raise ConfigurationError(f"{who} needs an Upstox access token source")
        return self.token


async def load_instruments(deps: Deps, stop: asyncio.Event, who: str) -> list[Instrument] | None:
    """The instrument master from ``deps.instruments``, logged; ``None`` when ``stop`` was
    set first (a start-up step gives way to SIGINT/SIGTERM). While the store it comes
    from does not answer, it waits (backoff up to 30 s, one log line per attempt)."""
    delay = 1.0
    while True:
        try:
            instruments = await until_stopped(deps.instruments.load(), stop)
            break
        except StoreError as e:  # the store's server is down: wait for it, do not fail
            log.warning(
                "%s: cannot load the instrument master from %s yet (%s); again in %.0f s",
                who,
                deps.instruments.origin,
                short_error(e),
                delay,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
            return None
        delay = min(delay * 2, 30.0)
    if instruments is not None:
        log.info("%s: %d instruments from %s", who, len(instruments), deps.instruments.origin)
    return instruments


PROBE_TIMEOUT_S = 2.0
START_TIMEOUT_S = 10.0  # the first attempt to open a store at start-up


def store_dependency(store: Pingable) -> Dependency:
    """``store``'s server as a dependency: its check opens the store if it never opened
    (the server was down at start-up), then pings it."""

    def check() -> None:
        if not store.is_open:
            store.open(PROBE_TIMEOUT_S)
            log.info("%s answers: opened", store.server_name)
        store.ping(PROBE_TIMEOUT_S)

    return Dependency(store.server_name, check)


def watch_store(board: StatusBoard, store: object) -> None:
    """Watch ``store``'s server on ``board``, if it has one (an embedded store has not)."""
    if isinstance(store, Pingable):
        board.watch(store_dependency(store))


async def open_store(board: StatusBoard, store: Pingable) -> None:
    """Open ``store`` and watch its server; if it does not answer, start without it."""
    board.watch(store_dependency(store))
    try:
        await run_blocking(store.open, START_TIMEOUT_S)
    except StoreError as e:
        board.dependency_down(store.server_name, short_error(e))
        log.error(
            "%s does not answer at start-up: %s. Starting without it: /readyz says not ready "
            "and it is tried again every few seconds",
            store.server_name,
            short_error(e),
        )


def new_registry_and_board() -> tuple[CollectorRegistry, StatusBoard]:
    registry = CollectorRegistry()
    return registry, StatusBoard(registry)


@contextlib.asynccontextmanager
async def open_deps(
    *,
    kafka: KafkaSettings,
    consumer_config: Mapping[str, Any] | None = None,
    postgres: PostgresSettings | None = None,
    upstox: UpstoxSettings | None = None,
    instrument_files: Sequence[str] = ("NSE", "BSE"),
    tick_store: Callable[[], TickStore] | None = None,
    token: bool = False,
) -> AsyncIterator[Deps]:
    """Open what a service's own command needs; close it all on exit.

    The relational store is PostgreSQL at ``postgres`` (when given); the instrument
    master comes from it, else from a download at ``upstox.assets_base``. ``tick_store``
    makes the tick store (an embedded one opened; a server's not yet, opened here);
    ``token`` reads the access token from ``upstox.token_file``.

    Each server is watched on the board (:mod:`quant.runtime.probes`): while one does not
    answer, ``/readyz`` says which. One that does not answer at start-up (PostgreSQL,
    QuestDB; not Kafka, which ends the start with :class:`DependencyUnavailable`) does
    not stop the process: it starts without it, not ready, and the probe keeps trying to
    open it (a service needing it meanwhile gets ``StoreError``s, which its own retries
    absorb: the instrument master load waits, the tick writer retries).
    """
    from quant.store.postgres import PostgresStore

    clock = SystemClock()
    registry, board = new_registry_and_board()
    bus = KafkaBus.from_settings(kafka, consumer_config=dict(consumer_config or {}))
    try:
        await run_blocking(bus.check)
    except BusUnavailable as e:
        raise DependencyUnavailable(str(e)) from e
    board.watch(Dependency("Kafka", lambda: bus.check(timeout=PROBE_TIMEOUT_S)))
    async with contextlib.AsyncExitStack() as stack:
        relational: RelationalStore | None = None
        if postgres is not None:
            store = PostgresStore.from_settings(postgres)
            stack.callback(store.close)
            await open_store(board, store)
            relational = store
        catalog: InstrumentCatalog
        if relational is not None:
            catalog = StoreCatalog(relational)
        elif upstox is not None:
            catalog = DownloadCatalog(upstox, instrument_files)
            log.warning(
                "no instrument store configured (QUANT_POSTGRES__DSN): the instrument master "
                "is downloaded from %s at every start",
                upstox.assets_base,
            )
        else:
            raise ConfigurationError("no instrument source: configure QUANT_POSTGRES__DSN")
        ticks: TickStore | None = None
        if tick_store is not None:
            ticks = await run_blocking(tick_store)
            stack.callback(ticks.close)
            if isinstance(ticks, Pingable):
                await open_store(board, ticks)
        token_source: TokenSource | None = None
        if token:
            if upstox is None:
                raise ConfigurationError("an Upstox token needs the upstox settings")
            token_source = StoredTokenSource(FileTokenStore(upstox.token_file), clock)
        yield Deps(
            clock=clock,
            registry=registry,
            board=board,
            bus=bus,
            instruments=catalog,
            tick_store=ticks,
            relational=relational,
            token=token_source,
        )


def open_data_service_deps(
    settings: DataServiceSettings,
    *,
    consumer_config: Mapping[str, Any] | None = None,
    tick_store: Callable[[], TickStore] | None = None,
    token: bool = False,
) -> contextlib.AbstractAsyncContextManager[Deps]:
    """:func:`open_deps` for a service on the market-data bus, from its settings."""
    return open_deps(
        kafka=settings.kafka,
        consumer_config=consumer_config,
        postgres=settings.postgres,
        upstox=settings.upstox,
        instrument_files=settings.instrument_files,
        tick_store=tick_store,
        token=token,
    )
