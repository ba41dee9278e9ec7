"""The gateway's composition: ``build(settings, deps)`` -> the ``gateway`` service.

:class:`GatewayService` keeps a read model (latest tick, enriched tick, greeks per
instrument) and the stream API's fan-out (:class:`~quant.gateway.stream_hub.StreamHub`:
quotes, candles, scanner picks, order events) fed from ``deps.bus`` by a consumer group of
its own (``gateway-<hostname>`` unless ``QUANT_GROUP_ID``: every replica needs every
message), resolves and searches symbols in an index of the relational store's master,
reloaded when the table changes (or, in ``quant up``, of the master it was handed) and
serves ``create_app`` on ``settings.gateway.host``/``port``. With PostgreSQL down at
start-up it serves anyway, not ready, and loads the master as soon as the database answers.
API keys are checked against the users of the relational store (``deps.relational``:
PostgreSQL, or SQLite in ``quant up``) by a :class:`~quant.users.directory.UserDirectory`,
which also checks the login page's passwords (browser sessions are kept in the process's
memory); without a relational store, keyed endpoints and the login answer 503. The trading
endpoints forward to the execution service at ``settings.gateway.execution_url``
(:class:`~quant.gateway.execution_client.ExecutionClient`, one connection pool per run).
Stored candles and scanner picks come from the tick store: ``deps.tick_store`` when the
process has one (``quant up``'s SQLite), else QuestDB (``settings.questdb``) opened on the
first request that needs it (:class:`~quant.gateway.history.OpenOnUse`: a QuestDB that does
not answer costs those endpoints a 503, never the gateway's start or readiness), or none
(``tick_store="none"``). Its ``/readyz`` is the process's (``deps.board``): every service of
the process runs, and market data has arrived. ``quant gateway`` and ``quant up`` both build
it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from quant.core.symbols import InstrumentIndex
from quant.gateway.app import create_app
from quant.gateway.auth import failures_counter
from quant.gateway.deps import GatewayPorts
from quant.gateway.execution_client import ExecutionClient
from quant.gateway.feeder import FEED_TOPICS, feed_read_model
from quant.gateway.history import OpenOnUse
from quant.gateway.instrument_store import StoreInstrumentLookup
from quant.gateway.login_metrics import login_metrics
from quant.gateway.ports import HistoryReader, InstrumentLookup
from quant.gateway.readmodel import LiveMarketState
from quant.gateway.service_settings import GatewayServiceSettings
from quant.gateway.stream_hub import StreamHub
from quant.gateway.stream_metrics import StreamMetrics
from quant.runtime.blocking import run_blocking
from quant.runtime.deps import Deps, load_instruments
from quant.runtime.http_server import embedded_server, wait_started
from quant.runtime.probes import short_error
from quant.runtime.service import Readiness
from quant.store.ports import StoreError
from quant.users.directory import UserDirectory
from quant.users.hashing import Argon2Hasher

log = logging.getLogger(__name__)

FIRST_LOAD_RETRY_S = 1.0  # until the instrument master is loaded once


def consumer_group(settings: GatewayServiceSettings) -> str:
    return settings.group_id or f"gateway-{socket.gethostname()}"


class GatewayService:
    """The ``gateway`` service: the read model's feed and the HTTP server, per run."""

    name = "gateway"

    def __init__(
        self,
        settings: GatewayServiceSettings,
        deps: Deps,
        on_serving: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._deps = deps
        self._on_serving = on_serving
        self._feeding = False
        self._store_lookup: StoreInstrumentLookup | None = None
        self.state = LiveMarketState()
        self._auth_failures = failures_counter(deps.registry)  # once: runs may restart
        self._stream_metrics = StreamMetrics(deps.registry)  # reads each run's hub
        self._login_metrics = login_metrics(deps.registry)
        if settings.instrument_lookup == "store":
            deps.need_relational("the gateway")

    def ready(self) -> Readiness:
        reasons = []
        if not self._feeding:
            reasons.append("bus feed not running")
        if self.state.instruments_seen() == 0:
            reasons.append("no market data yet")
        lookup = self._store_lookup
        if lookup is not None and lookup.loads == 0:
            reasons.append("instrument master not loaded from PostgreSQL yet")
        return not reasons, reasons

    async def _lookup(self, stop: asyncio.Event) -> InstrumentLookup | None:
        if self._settings.instrument_lookup == "store":
            # PostgreSQL may be down at start-up: serve (not ready) on an empty snapshot and
            # let refresh_instruments load it as soon as the database answers
            lookup = StoreInstrumentLookup(self._deps.need_relational("the gateway"))
            self._store_lookup = lookup
            try:
                await run_blocking(lookup.refresh)
            except StoreError as e:
                log.warning("instrument master not loaded yet (retrying): %s", short_error(e))
            return lookup
        instruments = await load_instruments(self._deps, stop, self.name)
        return None if instruments is None else InstrumentIndex.build(instruments)

    def _users(self) -> UserDirectory | None:
        """The API keys' directory over the relational store (wall clock for its cache)."""
        store = self._deps.relational
        if store is None:
            log.warning("no relational store: endpoints that need an API key answer 503")
            return None
        return UserDirectory(store, Argon2Hasher(), cache_s=self._settings.gateway.key_cache_s)

    def _execution(self) -> ExecutionClient | None:
        gateway = self._settings.gateway
        if not gateway.execution_url:
            log.warning("no execution_url: the trading endpoints answer 503")
            return None
        return ExecutionClient(gateway.execution_url, gateway.execution_timeout_s)

    def _history(self) -> tuple[HistoryReader | None, OpenOnUse | None]:
        """The tick store the candles and scanner endpoints read, and the one to close
        (a QuestDB store of its own, opened on use)."""
        if self._deps.tick_store is not None:
            return self._deps.tick_store, None
        if self._settings.tick_store == "none":
            log.warning("no tick store: the candles and scanner endpoints answer 503")
            return None, None
        from quant.store.questdb_ticks import QuestDBTickStore

        own = OpenOnUse(QuestDBTickStore.from_settings(self._settings.questdb), self._deps.clock)
        return own, own

    async def run(self, stop: asyncio.Event) -> None:
        lookup = await self._lookup(stop)
        if lookup is None:  # stopped while loading the instruments
            return
        execution = self._execution()
        history, own = self._history()
        try:
            await self._serve(stop, lookup, execution, history)
        finally:
            if execution is not None:
                await execution.aclose()
            if own is not None:
                await run_blocking(own.close)

    async def _serve(
        self,
        stop: asyncio.Event,
        lookup: InstrumentLookup,
        execution: ExecutionClient | None,
        history: HistoryReader | None,
    ) -> None:
        settings, deps = self._settings, self._deps
        hub = StreamHub(
            self.state,
            lookup,
            deps.clock,
            source=settings.gateway.source,
            stale_after_s=settings.gateway.stale_after_s,
            limits=settings.gateway.stream_limits(),
        )
        self._stream_metrics.hub = hub
        users = self._users()
        ports = GatewayPorts(
            self.state,
            lookup,
            deps.board,
            deps.registry,
            clock=deps.clock,
            stale_after_s=settings.gateway.stale_after_s,
            users=users,
            auth_failures=self._auth_failures,
            accounts=users,
            login_metrics=self._login_metrics,
            execution=execution,
            history=history,
            stream=hub,
        )
        server = embedded_server(
            create_app(settings.gateway, ports), settings.gateway.host, settings.gateway.port
        )
        group = consumer_group(settings)
        consumer = deps.bus.consumer(group, FEED_TOPICS)
        async with asyncio.TaskGroup() as tg:
            feed = tg.create_task(
                feed_read_model(
                    self.state,
                    consumer,
                    max_messages=settings.feed_max_messages,
                    poll_s=settings.feed_poll_s,
                    hub=hub,
                ),
                name="gateway-feed",
            )
            self._feeding = True
            http = tg.create_task(server.serve(), name="gateway-http")
            refresher = None
            if isinstance(lookup, StoreInstrumentLookup):
                refresher = tg.create_task(
                    refresh_instruments(lookup, settings.instrument_refresh_s),
                    name="gateway-instruments",
                )
            try:
                await wait_started(server, http)
                url = f"http://{settings.gateway.host}:{server.bound_port}"
                log.info(
                    "gateway serving on %s (group %s), quotes from %s",
                    url,
                    group,
                    settings.gateway.source,
                )
                if self._on_serving is not None:
                    self._on_serving(url)
                stopper = tg.create_task(stop.wait(), name="gateway-stop")
                await asyncio.wait({stopper, feed, http}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not stop.is_set():  # the feed or the server ended on its own: a failure
                    for task in (feed, http):
                        if task.done() and not task.cancelled() and task.exception():
                            raise RuntimeError(f"{task.get_name()} failed") from task.exception()
                    raise RuntimeError("the gateway's bus feed or HTTP server ended")
            finally:
                self._feeding = False
                server.should_exit = True
                feed.cancel()
                if refresher is not None:
                    refresher.cancel()


async def refresh_instruments(lookup: StoreInstrumentLookup, every_s: float) -> None:
    """Reload ``lookup`` when the instrument table changed, checking every ``every_s``
    (every second at most until the first load succeeds).

    A failed check (the database away) is logged once per outage and the current snapshot
    kept.
    """
    failing = False
    while True:
        await asyncio.sleep(min(every_s, FIRST_LOAD_RETRY_S) if lookup.loads == 0 else every_s)
        try:
            await run_blocking(lookup.refresh)
        except StoreError as e:
            if not failing:
                log.warning(
                    "instrument index refresh failed; serving the previous snapshot: %s",
                    short_error(e),
                )
            failing = True
            continue
        if failing:
            log.info("instrument index refresh works again")
        failing = False


def build(
    settings: GatewayServiceSettings,
    deps: Deps,
    *,
    on_serving: Callable[[str], None] | None = None,
) -> GatewayService:
    return GatewayService(settings, deps, on_serving)
