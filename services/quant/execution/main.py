"""The execution service's composition: ``build(settings, deps)`` -> the ``execution`` service.

The broker is chosen here, by ``settings.mode``: ``paper`` runs the
:class:`~quant.execution.paper_broker.PaperBroker` (fills against the ticks the service
reads; its own state dies with the run, the journal is the truth), ``live`` the Upstox
adapter (:func:`quant.upstox.broker.build_upstox_broker`) at ``settings.upstox`` with the
token of ``deps.token`` (``quant auth login``; in ``quant up --broker upstox`` the
simulator's). ``quant execution`` opens its dependencies with
:func:`open_execution_deps`: Kafka, PostgreSQL when ``QUANT_POSTGRES__DSN`` is set (the
cluster) or else the SQLite file ``relational_file``, and the token file in live mode.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable

from quant.execution.service import ExecutionService, OpenBroker
from quant.execution.settings import ExecutionSettings
from quant.runtime.deps import Deps, TokenSource, open_data_service_deps
from quant.runtime.service import ConfigurationError
from quant.trading.broker import Broker

log = logging.getLogger(__name__)

#: above this many orders per second the algo must be SEBI-registered (Upstox's 50/s bucket)
UNREGISTERED_ORDERS_PER_SECOND = 10


def paper_broker(settings: ExecutionSettings, deps: Deps) -> OpenBroker:
    """Opens a fresh paper broker per run, on the process's clock."""

    @contextlib.asynccontextmanager
    async def open_paper() -> AsyncIterator[Broker]:
        from quant.execution.paper_broker import PaperBroker

        yield PaperBroker(deps.clock, settings.paper.to_config())

    return open_paper


def upstox_broker(settings: ExecutionSettings, token: TokenSource) -> OpenBroker:
    """Opens the live Upstox broker (its REST client and order stream) per run."""

    @contextlib.asynccontextmanager
    async def open_upstox() -> AsyncIterator[Broker]:
        from quant.upstox.broker import build_upstox_broker

        rest, broker = build_upstox_broker(
            settings.upstox,
            token,
            live=True,
            algo_name=settings.default_algo_name or None,
            registered_algo=settings.rate.orders_per_second > UNREGISTERED_ORDERS_PER_SECOND,
        )
        async with rest:
            yield broker

    return open_upstox


def build(
    settings: ExecutionSettings,
    deps: Deps,
    *,
    on_serving: Callable[[str], None] | None = None,
) -> ExecutionService:
    if settings.mode == "live":
        opener = upstox_broker(settings, deps.need_token("the execution service in live mode"))
        if not settings.default_algo_name and not settings.algo_names:
            log.warning(
                "live mode without QUANT_DEFAULT_ALGO_NAME or QUANT_ALGO_NAMES: every intent "
                "will be rejected (NO_ALGO_NAME)"
            )
    else:
        opener = paper_broker(settings, deps)
    return ExecutionService(settings, deps, opener, on_serving=on_serving)


@contextlib.asynccontextmanager
async def open_execution_deps(settings: ExecutionSettings) -> AsyncIterator[Deps]:
    """Kafka, the relational store (PostgreSQL, else the SQLite ``relational_file``) and,
    in live mode, the Upstox token file."""
    async with open_data_service_deps(settings, token=settings.mode == "live") as deps:
        if deps.relational is not None:
            yield deps
            return
        from quant.store.sqlite_relational import SqliteRelationalStore

        path = settings.relational_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            store = SqliteRelationalStore(path).open()
        except Exception as e:
            raise ConfigurationError(
                f"cannot open the relational store {path} (QUANT_RELATIONAL_FILE): {e}"
            ) from e
        log.warning("no QUANT_POSTGRES__DSN: orders are journalled in %s (one machine only)", path)
        try:
            yield dataclasses.replace(deps, relational=store)
        finally:
            store.close()
